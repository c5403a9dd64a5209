//! Chirps: short exponential frequency sweeps, up or down.

use crate::dsp;

/// A chirp of `n` samples sweeping exponentially from `f_start` to `f_end` Hz: a sine with a
/// weak second partial, 8 ms attack and 25 ms release.
pub fn chirp(f_start: f32, f_end: f32, n: usize) -> Vec<f32> {
    let ratio = f_end / f_start.max(1.0);
    let f: Vec<f32> = (0..n)
        .map(|i| f_start * ratio.powf(i as f32 / n.max(1) as f32))
        .collect();
    let mut x = dsp::harmonic_tone(&f, &|k| if k == 1 { 1.0 } else { 0.25 / k as f32 }, 0.0);
    dsp::apply_env(&mut x, &dsp::asr(n, 0.008, 0.025));
    x
}
