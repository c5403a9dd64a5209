//! Shaped noise: low rumbles, high hisses, and noise bursts.

use rng::Rng;

use crate::dsp::{self, Biquad, SR};

/// Low-passed noise (two sections at `cutoff` Hz) with a slow random swell and 60 ms fades.
pub fn rumble(rng: &mut Rng, cutoff: f32, n: usize) -> Vec<f32> {
    let x = dsp::noise(rng, n);
    let x = dsp::filtered(x, Biquad::lowpass(cutoff, 0.8));
    let mut x = dsp::filtered(x, Biquad::lowpass(cutoff, 0.8));
    swell(rng, &mut x);
    dsp::fade_edges(&mut x, dsp::secs(0.06));
    x
}

/// High-passed noise (two sections at `cutoff` Hz) with a slow random swell and 60 ms fades.
pub fn hiss(rng: &mut Rng, cutoff: f32, n: usize) -> Vec<f32> {
    let x = dsp::noise(rng, n);
    let x = dsp::filtered(x, Biquad::highpass(cutoff, 0.8));
    let mut x = dsp::filtered(x, Biquad::highpass(cutoff, 0.8));
    swell(rng, &mut x);
    dsp::fade_edges(&mut x, dsp::secs(0.06));
    x
}

/// A noise burst of `n` samples centred on `freq` Hz (band-pass, Q 0.7): 4 ms attack, then
/// an exponential decay reaching about -25 dB at the end.
pub fn burst(rng: &mut Rng, freq: f32, n: usize) -> Vec<f32> {
    let x = dsp::noise(rng, n);
    let mut x = dsp::filtered(x, Biquad::bandpass(freq, 0.7));
    let tau = n as f32 / SR / 3.0;
    dsp::apply_env(&mut x, &dsp::attack_decay(n, 0.004, tau));
    dsp::fade_edges(&mut x, dsp::secs(0.003));
    x
}

/// Multiplies `x` by a slow random amplitude drift between 0.75 and 1.
fn swell(rng: &mut Rng, x: &mut [f32]) {
    let rate = dsp::uni(rng, 0.2, 0.8);
    let ph = dsp::uni(rng, 0.0, std::f32::consts::TAU);
    for (i, v) in x.iter_mut().enumerate() {
        let t = i as f32 / SR;
        *v *= 0.875 + 0.125 * (std::f32::consts::TAU * rate * t + ph).sin();
    }
}
