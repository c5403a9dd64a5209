//! FM bells (Chowning): a carrier modulated at an inharmonic ratio, with a modulation index
//! that decays faster than the amplitude, so the strike is bright and the tail pure.

use crate::dsp::{self, SR};

/// A bell at `freq` Hz, `n` samples: modulator at `freq * ratio`, index `index` decaying with
/// time constant `tau / 2`, amplitude decaying with `tau` (s), 2 ms attack.
pub fn fm_bell(freq: f32, n: usize, ratio: f32, index: f32, tau: f32) -> Vec<f32> {
    let (wc, wm) = (
        std::f64::consts::TAU * freq as f64 / SR as f64,
        std::f64::consts::TAU * (freq * ratio) as f64 / SR as f64,
    );
    let env = dsp::attack_decay(n, 0.002, tau);
    let kx = (-2.0 / (tau.max(1e-3) * SR)) as f64;
    (0..n)
        .map(|i| {
            let t = i as f64;
            let idx = index as f64 * (kx * t).exp();
            ((wc * t + idx * (wm * t).sin()).sin() as f32) * env[i]
        })
        .collect()
}
