//! Vocal sounds (VSC, VocalSound's six classes), all from the voice source of
//! [`crate::synth::voice`] and shaped noise. What tells them apart in a log-mel:
//!
//! | class           | cue                                                                 |
//! |-----------------|---------------------------------------------------------------------|
//! | laughter        | 3–7 voiced "ha" syllables at 4–6.5 per second: periodic bursts of harmonics, falling pitch |
//! | sigh            | one long (0.6–1.1 s) breathy exhale, mostly noise with formants, slow decay, dark |
//! | cough           | 1–3 abrupt broadband bursts (0.2–0.3 s) with a rough voiced tail     |
//! | throat clearing | low (75–130 Hz) rough voiced sound in two parts, energy below 1 kHz, 30 Hz flutter |
//! | sneeze          | a rising voiced "ah" then one loud high-frequency (2.5–6 kHz) noise burst |
//! | sniff           | 1–3 short (80–180 ms) soft-onset noise bands above 1.5 kHz, no voicing |
//!
//! Speaker (F0 range, formant scale), timing and vowel vary within each class.

use rng::Rng;

use crate::dsp::{self, Biquad};
use crate::synth::voice::{self, FormantTrack, VoiceStyle, VOWELS};

/// The six classes, in the order [`render`]'s `label` indexes them: the data crate's built-in
/// task `vsc` ([`data::classify::VSC_LABELS`], the one declaration).
pub use data::classify::VSC_LABELS as LABELS;

/// A speaker: base F0 (Hz) and formant scale.
fn speaker(rng: &mut Rng) -> (f32, f32) {
    if dsp::chance(rng, 0.5) {
        (dsp::log_uni(rng, 95.0, 140.0), 1.0)
    } else {
        (dsp::log_uni(rng, 170.0, 250.0), dsp::uni(rng, 1.1, 1.2))
    }
}

/// The class `label`'s sound, at most `n` samples.
pub fn render(label: usize, rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut x = match label {
        0 => laughter(rng),
        1 => sigh(rng),
        2 => cough(rng),
        3 => throat_clearing(rng),
        4 => sneeze(rng),
        _ => sniff(rng),
    };
    x.truncate(n);
    x
}

fn laughter(rng: &mut Rng) -> Vec<f32> {
    let (f0, fs) = speaker(rng);
    let f0 = f0 * dsp::uni(rng, 1.2, 1.5);
    let syll = 3 + dsp::pick(rng, 5);
    let rate = dsp::uni(rng, 4.0, 6.5);
    let period = dsp::secs(1.0 / rate);
    let n = period * syll + dsp::secs(0.1);
    let vowel = [0, 1, 3][dsp::pick(rng, 3)];
    let voiced = dsp::uni(rng, 0.5, 0.7);
    let (mut f, mut amp, mut voicing) = (vec![f0; n], vec![0.0; n], vec![0.0; n]);
    for s in 0..syll {
        let at = s * period;
        let decl = 1.0 - 0.25 * s as f32 / syll as f32;
        let level = dsp::uni(rng, 0.7, 1.0) * (1.0 - 0.3 * s as f32 / syll as f32);
        let h = dsp::secs(0.03);
        for i in 0..period.min(n - at) {
            let t = i as f32 / period as f32;
            f[at + i] = f0 * decl * (1.0 + 0.1 * (1.0 - t));
            // "h" onset (unvoiced), then the voiced vowel, then a gap.
            let env = if t < voiced {
                (std::f32::consts::PI * t / voiced).sin()
            } else {
                0.0
            };
            amp[at + i] = level * env;
            voicing[at + i] = if i < h { i as f32 / h as f32 } else { 1.0 };
        }
    }
    let style = VoiceStyle {
        tilt: 1.4,
        breath: 0.3,
        jitter: 0.02,
        rough: 0.0,
        formant_scale: fs,
    };
    voice::voice(
        rng,
        &f,
        &amp,
        Some(&voicing),
        &FormantTrack::vowel(vowel),
        &style,
    )
}

fn sigh(rng: &mut Rng) -> Vec<f32> {
    let (f0, fs) = speaker(rng);
    let n = dsp::secs(dsp::uni(rng, 0.6, 1.1));
    let f: Vec<f32> = (0..n)
        .map(|i| f0 * (1.1 - 0.35 * i as f32 / n as f32))
        .collect();
    let attack = dsp::uni(rng, 0.1, 0.2);
    let amp = dsp::attack_decay(n, attack, n as f32 / dsp::SR / 2.5);
    let vmax = dsp::uni(rng, 0.1, 0.35);
    let voicing: Vec<f32> = (0..n)
        .map(|i| vmax * (std::f32::consts::PI * i as f32 / n as f32).sin())
        .collect();
    let track = FormantTrack::vowel(0).key(n, VOWELS[3]);
    let style = VoiceStyle {
        tilt: 2.4,
        breath: 0.6,
        jitter: 0.01,
        rough: 0.0,
        formant_scale: fs,
    };
    voice::voice(rng, &f, &amp, Some(&voicing), &track, &style)
}

fn cough(rng: &mut Rng) -> Vec<f32> {
    let (f0, fs) = speaker(rng);
    let count = 1 + dsp::pick(rng, 3);
    let spacing = dsp::secs(dsp::uni(rng, 0.3, 0.45));
    let one = dsp::secs(0.28);
    let n = spacing * (count - 1) + one;
    let mut out = vec![0.0f32; n];
    for c in 0..count {
        let len = dsp::secs(dsp::uni(rng, 0.2, 0.28));
        let f = vec![f0 * dsp::uni(rng, 0.9, 1.2); len];
        let amp = dsp::attack_decay(len, 0.004, dsp::uni(rng, 0.05, 0.09));
        // A noise explosion that turns partly voiced.
        let voicing: Vec<f32> = (0..len)
            .map(|i| (i as f32 / dsp::secs(0.05) as f32).min(1.0) * 0.5)
            .collect();
        let style = VoiceStyle {
            tilt: 1.8,
            breath: 0.5,
            jitter: 0.04,
            rough: 0.4,
            formant_scale: fs,
        };
        let x = voice::voice(
            rng,
            &f,
            &amp,
            Some(&voicing),
            &FormantTrack::vowel(0),
            &style,
        );
        let level = if c == 0 {
            1.0
        } else {
            dsp::uni(rng, 0.6, 0.95)
        };
        dsp::add_at(&mut out, &x, c * spacing, level);
    }
    out
}

fn throat_clearing(rng: &mut Rng) -> Vec<f32> {
    let (f0, fs) = speaker(rng);
    let f0 = (f0 * 0.75).clamp(75.0, 130.0);
    let (a, b) = (
        dsp::secs(dsp::uni(rng, 0.12, 0.2)),
        dsp::secs(dsp::uni(rng, 0.25, 0.45)),
    );
    let gap = dsp::secs(dsp::uni(rng, 0.04, 0.1));
    let mut out = vec![0.0f32; a + gap + b];
    for (k, (at, len)) in [(0, a), (a + gap, b)].into_iter().enumerate() {
        let f: Vec<f32> = (0..len)
            .map(|i| f0 * (1.0 + 0.15 * (k as f32 - i as f32 / len as f32)))
            .collect();
        let amp = dsp::asr(len, 0.02, 0.06);
        let style = VoiceStyle {
            tilt: 2.0,
            breath: 0.15,
            jitter: 0.05,
            rough: dsp::uni(rng, 0.7, 0.95),
            formant_scale: fs,
        };
        let track = FormantTrack::vowel(4).key(len, VOWELS[3]);
        let x = voice::voice(rng, &f, &amp, None, &track, &style);
        // A closed throat: little energy above about 1 kHz.
        let x = dsp::filtered(x, Biquad::lowpass(dsp::uni(rng, 800.0, 1300.0), 0.7));
        let x = dsp::filtered(x, Biquad::lowpass(1500.0, 0.7));
        dsp::add_at(&mut out, &x, at, if k == 0 { 0.8 } else { 1.0 });
    }
    out
}

fn sneeze(rng: &mut Rng) -> Vec<f32> {
    let (f0, fs) = speaker(rng);
    let a = dsp::secs(dsp::uni(rng, 0.2, 0.4));
    let gap = dsp::secs(dsp::uni(rng, 0.03, 0.07));
    let b = dsp::secs(dsp::uni(rng, 0.15, 0.3));
    let f: Vec<f32> = (0..a)
        .map(|i| f0 * (1.0 + 0.5 * i as f32 / a as f32))
        .collect();
    let amp = dsp::asr(a, 0.6 * a as f32 / dsp::SR, 0.02);
    let style = VoiceStyle {
        tilt: 1.8,
        breath: 0.4,
        jitter: 0.02,
        rough: 0.0,
        formant_scale: fs,
    };
    let ah = voice::voice(
        rng,
        &f,
        &amp,
        None,
        &FormantTrack::vowel(0).key(a, VOWELS[2]),
        &style,
    );
    let centre = dsp::uni(rng, 2500.0, 5000.0);
    let mut choo = dsp::filtered(dsp::noise(rng, b), Biquad::bandpass(centre, 0.9));
    choo = dsp::filtered(choo, Biquad::highpass(1800.0, 0.7));
    dsp::apply_env(
        &mut choo,
        &dsp::attack_decay(b, 0.006, b as f32 / dsp::SR / 3.0),
    );
    let mut out = vec![0.0f32; a + gap + b];
    let p = dsp::peak(&ah).max(1e-9);
    dsp::add_at(&mut out, &ah, 0, dsp::uni(rng, 0.25, 0.45) / p);
    let q = dsp::peak(&choo).max(1e-9);
    dsp::add_at(&mut out, &choo, a + gap, 1.0 / q);
    out
}

fn sniff(rng: &mut Rng) -> Vec<f32> {
    let count = 1 + dsp::pick(rng, 3);
    let spacing = dsp::secs(dsp::uni(rng, 0.15, 0.3));
    let centre = dsp::uni(rng, 2000.0, 4500.0);
    let n = spacing * (count - 1) + dsp::secs(0.2);
    let mut out = vec![0.0f32; n];
    for c in 0..count {
        let len = dsp::secs(dsp::uni(rng, 0.08, 0.18));
        let x = dsp::noise(rng, len);
        let x = dsp::filtered(x, Biquad::bandpass(centre * dsp::uni(rng, 0.9, 1.1), 1.5));
        let mut x = dsp::filtered(x, Biquad::highpass(1500.0, 0.7));
        dsp::apply_env(&mut x, &dsp::asr(len, 0.4 * len as f32 / dsp::SR, 0.03));
        dsp::add_at(&mut out, &x, c * spacing, dsp::uni(rng, 0.7, 1.0));
    }
    out
}
