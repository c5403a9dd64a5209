//! Plucked strings by the Karplus–Strong algorithm: a noise-filled delay line of one period
//! with a damped averaging loop filter.

use rng::Rng;

use crate::dsp::{self, OnePole, SR};

/// A plucked string at `freq` Hz, `n` samples. `brightness` in (0, 1] colours the initial
/// excitation (1 = white noise, lower = duller); `t60` is the time (s) for the fundamental to
/// decay by 60 dB. The fractional part of the period is a first-order all-pass delay, so the
/// pitch is exact.
pub fn pluck(rng: &mut Rng, freq: f32, n: usize, brightness: f32, t60: f32) -> Vec<f32> {
    let period = SR / freq.clamp(20.0, 4000.0);
    // The averaging filter delays by half a sample; the all-pass supplies the rest.
    let total = period - 0.5;
    let len = (total.floor() as usize).max(2);
    let frac = (total - len as f32).max(0.05);
    let ap = (1.0 - frac) / (1.0 + frac);
    // Loop gain per period so the fundamental falls 60 dB in t60 seconds.
    let g = 10f32.powf(-3.0 / (t60.max(0.05) * freq));
    let mut lp = OnePole::new(SR * 0.5 * brightness.clamp(0.05, 1.0));
    let mut line: Vec<f32> = (0..len).map(|_| lp.tick(dsp::white(rng))).collect();
    let mean = line.iter().sum::<f32>() / len as f32;
    line.iter_mut().for_each(|v| *v -= mean);
    let mut out = Vec::with_capacity(n);
    let (mut idx, mut prev, mut ap_x1, mut ap_y1) = (0usize, 0.0f32, 0.0f32, 0.0f32);
    for _ in 0..n {
        let cur = line[idx];
        out.push(cur);
        let avg = 0.5 * (cur + prev);
        prev = cur;
        // First-order all-pass fractional delay.
        let y = ap * avg + ap_x1 - ap * ap_y1;
        ap_x1 = avg;
        ap_y1 = y;
        line[idx] = g * y;
        idx = (idx + 1) % len;
    }
    dsp::fade_edges(&mut out, dsp::secs(0.002));
    out
}
