//! Clicks: an impulse and a few milliseconds of noise ringing a resonance, alone or as a
//! regular train.

use rng::Rng;

use crate::dsp::{self, Biquad};

/// One click, 25 ms: an impulse plus a 2 ms noise burst ringing a band-pass at `freq` Hz
/// (Q 12: a short, pitched knock; the filter's own decay shapes it, so no envelope broadens
/// its spectrum).
pub fn click(rng: &mut Rng, freq: f32) -> Vec<f32> {
    let n = dsp::secs(0.025);
    let mut x = vec![0.0f32; n];
    x[0] = 1.0;
    for v in x.iter_mut().take(dsp::secs(0.002)) {
        *v += 0.05 * dsp::white(rng);
    }
    let mut x = dsp::filtered(x, Biquad::bandpass(freq, 12.0));
    let f = dsp::secs(0.003);
    let len = x.len();
    for (i, v) in x.iter_mut().enumerate().skip(len - f) {
        *v *= (len - i) as f32 / f as f32;
    }
    x
}

/// Clicks at `onsets` (samples) in a buffer of `n` samples, each with a small random change of
/// level (±2 dB) and resonance (±5 %).
pub fn train(rng: &mut Rng, freq: f32, onsets: &[usize], n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    for &at in onsets {
        let f = freq * dsp::uni(rng, 0.95, 1.05);
        let c = click(rng, f);
        dsp::add_at(&mut out, &c, at, dsp::db(dsp::uni(rng, -2.0, 2.0)));
    }
    out
}
