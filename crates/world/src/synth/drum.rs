//! Drum voices: kick, tom, snare, hi-hat, ride, crash and hand clap, each one hit. Patterns
//! are made by the callers (scenes and genres) from these hits.

use rng::Rng;

use crate::dsp::{self, Biquad, Partial, SR};

/// A sine whose frequency falls exponentially from `f_hi` to `f_lo` with time constant
/// `sweep` (s), under an exponential amplitude decay `tau` (s).
fn swept_sine(f_hi: f32, f_lo: f32, sweep: f32, tau: f32, n: usize) -> Vec<f32> {
    let mut phase = 0.0f64;
    let k = 1.0 / (sweep.max(1e-3) * SR);
    let env = dsp::attack_decay(n, 0.001, tau);
    (0..n)
        .map(|i| {
            let f = f_lo + (f_hi - f_lo) * (-(i as f32) * k).exp();
            phase += std::f64::consts::TAU * f as f64 / SR as f64;
            phase.sin() as f32 * env[i]
        })
        .collect()
}

/// A kick drum: a body at `freq` Hz (40–90) falling from 2.5× with a short click.
pub fn kick(rng: &mut Rng, freq: f32, tau: f32) -> Vec<f32> {
    let n = dsp::secs(tau * 5.0);
    let mut x = swept_sine(freq * 2.5, freq, 0.03, tau, n);
    let click = dsp::filtered(
        dsp::noise(rng, dsp::secs(0.004)),
        Biquad::bandpass(2500.0, 1.0),
    );
    dsp::add_at(&mut x, &click, 0, 0.3);
    x
}

/// A tom: a body at `freq` Hz falling from 1.4×, with some noise.
pub fn tom(rng: &mut Rng, freq: f32, tau: f32) -> Vec<f32> {
    let n = dsp::secs(tau * 5.0);
    let mut x = swept_sine(freq * 1.4, freq, 0.06, tau, n);
    let mut nz = dsp::filtered(dsp::noise(rng, n), Biquad::bandpass(freq * 4.0, 1.0));
    dsp::apply_env(&mut nz, &dsp::attack_decay(n, 0.001, tau * 0.3));
    dsp::add_at(&mut x, &nz, 0, 0.3);
    x
}

/// A snare: a tonal body at `freq` Hz (150–350) plus band-passed noise (the wires).
pub fn snare(rng: &mut Rng, freq: f32, tau: f32) -> Vec<f32> {
    let n = dsp::secs(tau * 5.0);
    let mut x = swept_sine(freq * 1.3, freq, 0.02, tau * 0.5, n);
    let mut wires = dsp::filtered(dsp::noise(rng, n), Biquad::highpass(1200.0, 0.7));
    dsp::apply_env(&mut wires, &dsp::attack_decay(n, 0.001, tau));
    dsp::add_at(&mut x, &wires, 0, 0.8);
    x
}

/// A hi-hat: high-passed noise with a few metallic partials; closed (`open` false) decays in
/// about 40 ms, open in about 250 ms.
pub fn hat(rng: &mut Rng, open: bool) -> Vec<f32> {
    let tau = if open { 0.12 } else { 0.02 };
    let n = dsp::secs(tau * 5.0);
    let mut x = dsp::filtered(dsp::noise(rng, n), Biquad::highpass(6000.0, 0.7));
    let metal = dsp::partials(
        &[5234.0, 6127.0, 7013.0].map(|f| Partial {
            freq: f * dsp::uni(rng, 0.98, 1.02),
            amp: 0.15,
            tau,
        }),
        n,
    );
    dsp::apply_env(&mut x, &dsp::attack_decay(n, 0.0005, tau));
    dsp::add_at(&mut x, &metal, 0, 1.0);
    x
}

/// A ride cymbal ping: inharmonic partials between 3 and 7 kHz over noise, ringing ~1 s.
pub fn ride(rng: &mut Rng) -> Vec<f32> {
    let n = dsp::secs(1.0);
    let parts: Vec<Partial> = [3120.0, 3570.0, 4410.0, 5230.0, 6080.0, 6870.0]
        .iter()
        .map(|&f| Partial {
            freq: f * dsp::uni(rng, 0.97, 1.03),
            amp: dsp::uni(rng, 0.1, 0.25),
            tau: dsp::uni(rng, 0.25, 0.5),
        })
        .collect();
    let mut x = dsp::partials(&parts, n);
    let mut nz = dsp::filtered(dsp::noise(rng, n), Biquad::highpass(4000.0, 0.7));
    dsp::apply_env(&mut nz, &dsp::attack_decay(n, 0.001, 0.08));
    dsp::add_at(&mut x, &nz, 0, 0.4);
    x
}

/// A crash cymbal: bright noise decaying over about 1.5 s.
pub fn crash(rng: &mut Rng) -> Vec<f32> {
    let n = dsp::secs(1.5);
    let mut x = dsp::filtered(dsp::noise(rng, n), Biquad::highpass(3000.0, 0.7));
    dsp::apply_env(&mut x, &dsp::attack_decay(n, 0.002, 0.4));
    x
}

/// A hand clap: three quick band-passed noise bursts 10 ms apart, then a short tail.
pub fn clap(rng: &mut Rng) -> Vec<f32> {
    let n = dsp::secs(0.2);
    let mut x = vec![0.0f32; n];
    for (k, at) in [0.0f32, 0.011, 0.022].iter().enumerate() {
        let m = dsp::secs(if k == 2 { 0.15 } else { 0.01 });
        let mut b = dsp::filtered(dsp::noise(rng, m), Biquad::bandpass(1200.0, 1.2));
        let tau = if k == 2 { 0.04 } else { 0.004 };
        dsp::apply_env(&mut b, &dsp::attack_decay(m, 0.0005, tau));
        dsp::add_at(&mut x, &b, dsp::secs(*at), 1.0);
    }
    x
}
