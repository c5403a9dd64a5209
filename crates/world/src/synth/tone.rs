//! Steady harmonic tones: the hum (continuous, rich in harmonics) and the beep (short,
//! nearly pure).

use rng::Rng;

use crate::dsp::{self, SR};

/// A harmonic tone of `n` samples at `freq` Hz whose partial `k` has amplitude
/// `k^-rolloff`, with a slow vibrato (`vib_depth` fraction of `freq` at `vib_rate` Hz).
pub fn tone(freq: f32, n: usize, rolloff: f32, vib_rate: f32, vib_depth: f32) -> Vec<f32> {
    let f = dsp::freq_track(n, freq, 1.0, vib_rate, vib_depth);
    dsp::harmonic_tone(&f, &|k| (k as f32).powf(-rolloff), 0.0)
}

/// A hum: a harmonic tone (rolloff 1.2–1.8) with a slow amplitude drift and 40 ms fades.
pub fn hum(rng: &mut Rng, freq: f32, n: usize) -> Vec<f32> {
    let rolloff = dsp::uni(rng, 1.2, 1.8);
    let mut x = tone(freq, n, rolloff, dsp::uni(rng, 3.0, 6.0), 0.003);
    let (rate, depth) = (dsp::uni(rng, 0.3, 1.2), dsp::uni(rng, 0.05, 0.2));
    for (i, v) in x.iter_mut().enumerate() {
        *v *= 1.0 - depth * (0.5 + 0.5 * (std::f32::consts::TAU * rate * i as f32 / SR).sin());
    }
    dsp::fade_edges(&mut x, dsp::secs(0.04));
    x
}

/// A beep of `n` samples: nearly pure (second and third partials weak), 5 ms fades.
pub fn beep(freq: f32, n: usize) -> Vec<f32> {
    let mut x = tone(freq, n, 3.0, 0.0, 0.0);
    dsp::fade_edges(&mut x, dsp::secs(0.005));
    x
}
