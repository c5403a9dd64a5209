//! Emotion in the prosody of a voice-like source (SER, IEMOCAP's four classes). Each example
//! is a 1.2–1.8 s "utterance" of consonant–vowel syllables by a random speaker (male or
//! female F0 and formants, random vowels); only the prosody and voice quality carry the
//! emotion:
//!
//! | class   | F0 (× speaker) | pitch range | syllables/s | voice quality                  | attacks |
//! |---------|----------------|-------------|-------------|--------------------------------|---------|
//! | neutral | 1.0–1.05       | 1–2.5 st    | 3.5–4.5     | modal (tilt 1.6–1.8)           | 20 ms   |
//! | happy   | 1.2–1.4        | 4–7 st, rising accents, final rise | 4.5–5.5 | slightly bright | 15 ms |
//! | sad     | 0.82–0.92      | 0.5–1.5 st, falling | 2.3–3.0 | dark and breathy (tilt 2.1–2.5) | 50 ms |
//! | angry   | 1.1–1.25       | 2.5–4.5 st, falling accents | 4.5–5.5 | pressed, bright (tilt 0.9–1.15), rough | 5 ms |
//!
//! Levels differ too (set by the caller: angry louder, sad quieter, overlapping). Speaker F0
//! spans an octave, so absolute pitch alone does not decide the class.

use rng::Rng;

use crate::dsp::{self, Biquad};
use crate::synth::voice::{self, FormantTrack, VoiceStyle, VOWELS};

/// The four emotions, in the order [`render`]'s `label` indexes them: the data crate's built-in
/// task `ser` ([`data::classify::SER_LABELS`], the one declaration).
pub use data::classify::SER_LABELS as LABELS;

/// The prosody and voice quality of one emotion (ranges drawn per utterance).
struct Emotion {
    f0: (f32, f32),
    range_st: (f32, f32),
    decl_st: (f32, f32),
    rate: (f32, f32),
    tilt: (f32, f32),
    breath: (f32, f32),
    attack: f32,
    rough: f32,
    /// Pitch movement inside an accented syllable: +1 rising, -1 falling, 0 flat.
    accent: f32,
    /// Pitch movement over the last syllable (+ rising).
    final_st: f32,
}

const EMOTIONS: [Emotion; 4] = [
    Emotion {
        f0: (1.0, 1.05),
        range_st: (1.0, 2.5),
        decl_st: (1.0, 3.0),
        rate: (3.5, 4.5),
        tilt: (1.6, 1.8),
        breath: (0.08, 0.15),
        attack: 0.02,
        rough: 0.0,
        accent: 0.0,
        final_st: -1.0,
    },
    Emotion {
        f0: (1.2, 1.4),
        range_st: (4.0, 7.0),
        decl_st: (-1.0, 1.0),
        rate: (4.5, 5.5),
        tilt: (1.35, 1.55),
        breath: (0.08, 0.15),
        attack: 0.015,
        rough: 0.0,
        accent: 1.0,
        final_st: 3.0,
    },
    Emotion {
        f0: (0.82, 0.92),
        range_st: (0.5, 1.5),
        decl_st: (2.0, 4.0),
        rate: (2.3, 3.0),
        tilt: (2.1, 2.5),
        breath: (0.3, 0.5),
        attack: 0.05,
        rough: 0.0,
        accent: -0.5,
        final_st: -2.0,
    },
    Emotion {
        f0: (1.1, 1.25),
        range_st: (2.5, 4.5),
        decl_st: (2.0, 4.0),
        rate: (4.5, 5.5),
        tilt: (0.9, 1.15),
        breath: (0.03, 0.08),
        attack: 0.005,
        rough: 0.12,
        accent: -1.0,
        final_st: -3.0,
    },
];

fn st(x: f32) -> f32 {
    2f32.powf(x / 12.0)
}

/// An utterance in emotion `label`, at most `n` samples.
pub fn render(label: usize, rng: &mut Rng, n: usize) -> Vec<f32> {
    let e = &EMOTIONS[label.min(EMOTIONS.len() - 1)];
    let (spk_f0, fs) = if dsp::chance(rng, 0.5) {
        (dsp::log_uni(rng, 95.0, 140.0), 1.0)
    } else {
        (dsp::log_uni(rng, 170.0, 250.0), dsp::uni(rng, 1.1, 1.2))
    };
    let f0 = spk_f0 * dsp::uni(rng, e.f0.0, e.f0.1);
    let range = dsp::uni(rng, e.range_st.0, e.range_st.1);
    let decl = dsp::uni(rng, e.decl_st.0, e.decl_st.1);
    let rate = dsp::uni(rng, e.rate.0, e.rate.1);
    let dur = dsp::uni(rng, 1.2, 1.8).min(n as f32 / dsp::SR);
    let syll = ((dur * rate).round() as usize).max(2);
    let len = dsp::secs(dur);
    let (mut f, mut amp, mut voicing) = (vec![f0; len], vec![0.0; len], vec![1.0; len]);
    let mut sib = vec![0.0f32; len];
    let mut track = FormantTrack::vowel(dsp::pick(rng, 5));
    let mut t = 0usize;
    for s in 0..syll {
        let slen = (dsp::secs(1.0 / rate) as f32 * dsp::uni(rng, 0.8, 1.2)) as usize;
        if t >= len {
            break;
        }
        let slen = slen.min(len - t);
        let cons = if dsp::chance(rng, 0.7) {
            dsp::secs(dsp::uni(rng, 0.03, 0.06)).min(slen / 3)
        } else {
            0
        };
        let sibilant = dsp::chance(rng, 0.4);
        let accent =
            dsp::uni(rng, -range, range) * 0.5 + if s % 2 == 0 { range * 0.5 } else { 0.0 };
        let stress = dsp::uni(rng, 0.6, 1.0);
        let last = s + 1 == syll;
        let vowel = VOWELS[dsp::pick(rng, 5)];
        track = track.key(t + cons + (slen - cons) / 2, vowel);
        let vlen = (slen - cons).max(1);
        let attack = dsp::secs(e.attack).max(1);
        for i in 0..slen {
            let g = t + i;
            let pos = g as f32 / len as f32;
            let base = f0 * st(decl * (0.5 - pos));
            if i < cons {
                voicing[g] = 0.0;
                amp[g] = 0.35 * stress;
                if sibilant {
                    sib[g] = stress;
                }
                f[g] = base;
                continue;
            }
            let v = (i - cons) as f32 / vlen as f32;
            let mv = if last {
                e.final_st * v
            } else {
                e.accent * range * 0.5 * (v - 0.5)
            };
            f[g] = base * st(accent + mv);
            let up = ((i - cons) as f32 / attack as f32).min(1.0);
            let down = (1.0 - v).min(0.3) / 0.3;
            amp[g] = stress * up * down;
        }
        t += slen;
    }
    let style = VoiceStyle {
        tilt: dsp::uni(rng, e.tilt.0, e.tilt.1),
        breath: dsp::uni(rng, e.breath.0, e.breath.1),
        jitter: 0.01,
        rough: e.rough,
        formant_scale: fs,
    };
    let mut x = voice::voice(rng, &f, &amp, Some(&voicing), &track, &style);
    // Sibilant consonants: high-passed noise, added outside the formant filters.
    let s = dsp::filtered(dsp::noise(rng, len), Biquad::highpass(4000.0, 0.7));
    let mut s = dsp::filtered(s, Biquad::highpass(4000.0, 0.7));
    dsp::apply_env(&mut s, &sib);
    let gain = 0.3 * dsp::peak(&x) / dsp::peak(&s).max(1e-9);
    dsp::add_at(&mut x, &s, 0, gain);
    x.truncate(n);
    x
}
