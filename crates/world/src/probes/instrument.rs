//! Instrument families (MIC, NSynth's eleven): one note per example at a pitch drawn from the
//! family's range (ranges overlap, as in NSynth). What tells them apart:
//!
//! | family     | MIDI  | cue                                                                  |
//! |------------|-------|----------------------------------------------------------------------|
//! | bass       | 28–52 | very low; plucked (dull Karplus–Strong) or a smooth synth bass        |
//! | brass      | 45–72 | all harmonics, brightness rising over a 40–80 ms attack, pitch scoop, sustained |
//! | flute      | 60–96 | high, nearly pure (weak 2nd/3rd partials), breath noise, vibrato     |
//! | guitar     | 40–76 | plucked (bright Karplus–Strong), decaying in ~1 s                     |
//! | keyboard   | 36–90 | struck: hammer click, slightly inharmonic partials, high ones decaying first (or an FM electric piano) |
//! | mallet     | 60–96 | struck bar: inharmonic modes (×3.9–4, ×9.5–10), short (or vibraphone tremolo) |
//! | organ      | 36–84 | drawbar harmonics incl. sub-octave, instant attack, flat sustain      |
//! | reed       | 50–80 | odd harmonics (clarinet) or a formant bump near 1.5–2 kHz (sax), sustained |
//! | string     | 43–88 | bowed: slow attack, delayed vibrato, body resonances                  |
//! | synth_lead | 55–84 | detuned saws or a square, resonant low-pass sweep, beating            |
//! | vocal      | 48–76 | voice source through vowel formants, vibrato                          |

use rng::Rng;

use crate::dsp::{self, Biquad, Partial, Resonator, SR};
use crate::synth::{pluck, voice};

/// The eleven families, in the order [`render`]'s `label` indexes them: the data crate's built-in
/// task `mic` ([`data::classify::MIC_LABELS`], the one declaration).
pub use data::classify::MIC_LABELS as LABELS;

const RANGES: [(f32, f32); 11] = [
    (28.0, 52.0),
    (45.0, 72.0),
    (60.0, 96.0),
    (40.0, 76.0),
    (36.0, 90.0),
    (60.0, 96.0),
    (36.0, 84.0),
    (50.0, 80.0),
    (43.0, 88.0),
    (55.0, 84.0),
    (48.0, 76.0),
];

/// A note of family `label`, `n` samples: held for 60–90 % of the clip, then released.
pub fn render(label: usize, rng: &mut Rng, n: usize) -> Vec<f32> {
    let (lo, hi) = RANGES[label.min(RANGES.len() - 1)];
    let f = dsp::midi_hz(lo + dsp::pick(rng, (hi - lo) as usize + 1) as f32);
    let held = (n as f32 * dsp::uni(rng, 0.6, 0.9)) as usize;
    let mut x = match label {
        0 => bass(rng, f, n),
        1 => brass(rng, f, n),
        2 => flute(rng, f, n),
        3 => {
            let (bright, t60) = (dsp::uni(rng, 0.6, 0.95), dsp::uni(rng, 0.8, 1.5));
            pluck::pluck(rng, f, n, bright, t60)
        }
        4 => keyboard(rng, f, n),
        5 => mallet(rng, f, n),
        6 => organ(rng, &[f], n),
        7 => reed(rng, f, n),
        8 => string(rng, f, n),
        9 => synth_lead(rng, f, n),
        _ => vocal(rng, f, n),
    };
    // Sustained families stop at note-off with a 40–120 ms release.
    if matches!(label, 1 | 2 | 6 | 7 | 8 | 9 | 10) {
        let rel = dsp::secs(dsp::uni(rng, 0.04, 0.12)).max(1);
        for (i, v) in x.iter_mut().enumerate().skip(held) {
            *v *= (1.0 - (i - held) as f32 / rel as f32).max(0.0);
        }
    }
    x
}

fn bass(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    if dsp::chance(rng, 0.7) {
        let (bright, t60) = (dsp::uni(rng, 0.15, 0.35), dsp::uni(rng, 1.5, 3.0));
        pluck::pluck(rng, f, n, bright, t60)
    } else {
        synth_bass(rng, f, n)
    }
}

/// A smooth synth bass: a sine with a little second and third harmonic, fast attack, slow decay.
pub(crate) fn synth_bass(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let h2 = dsp::uni(rng, 0.1, 0.4);
    let mut x = dsp::harmonic_tone(
        &vec![f; n],
        &|k| [1.0, h2, 0.1][(k - 1).min(2)] * f32::from(k <= 3),
        0.0,
    );
    dsp::apply_env(
        &mut x,
        &dsp::attack_decay(n, 0.005, dsp::uni(rng, 0.4, 1.0)),
    );
    x
}

fn brass(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let attack = dsp::uni(rng, 0.04, 0.08);
    let scoop: Vec<f32> = (0..n)
        .map(|i| f * (1.0 - 0.03 * (-(i as f32) / (attack * SR)).exp()))
        .collect();
    let mut x = dsp::harmonic_tone(&scoop, &|k| 1.0 / k as f32, 0.0);
    // Brightness follows the attack: a low-pass opening from 2×f to 6–10×f.
    let open = dsp::uni(rng, 6.0, 10.0);
    let mut lp = Biquad::lowpass(2.0 * f, 0.7);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 64 == 0 {
            let a = (i as f32 / (attack * SR)).min(1.0);
            lp = retune(lp, Biquad::lowpass(f * (2.0 + (open - 2.0) * a), 0.7));
        }
        *v = lp.tick(*v);
    }
    dsp::apply_env(&mut x, &dsp::asr(n, attack, 0.01));
    x
}

/// `new`'s coefficients with `old`'s state (a filter retuned without a click).
fn retune(old: Biquad, mut new: Biquad) -> Biquad {
    new.take_state(&old);
    new
}

fn flute(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let track = dsp::freq_track(
        n,
        f,
        1.0,
        dsp::uni(rng, 4.5, 5.5),
        dsp::uni(rng, 0.004, 0.01),
    );
    let (h2, h3) = (dsp::uni(rng, 0.1, 0.3), dsp::uni(rng, 0.03, 0.12));
    let mut x = dsp::harmonic_tone(
        &track,
        &|k| [1.0, h2, h3, 0.02][(k - 1).min(3)] * f32::from(k <= 4),
        0.0,
    );
    let breath = dsp::filtered(dsp::noise(rng, n), Biquad::bandpass(f * 2.0, 0.8));
    let b = dsp::uni(rng, 0.05, 0.12);
    dsp::add_at(&mut x, &breath, 0, b);
    dsp::apply_env(&mut x, &dsp::asr(n, dsp::uni(rng, 0.06, 0.1), 0.01));
    x
}

/// A piano-like struck string (70 %) or an FM electric piano (30 %).
pub(crate) fn keyboard(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    if dsp::chance(rng, 0.3) {
        return epiano(rng, f, n);
    }
    piano(rng, f, n)
}

/// Piano: partials `k f sqrt(1 + B k²)` with amplitude `k^-1.1`, higher ones decaying faster,
/// over a 10 ms hammer click.
pub(crate) fn piano(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let b = dsp::uni(rng, 0.0001, 0.0005);
    let tau0 = dsp::uni(rng, 0.5, 1.5) * (220.0 / f).clamp(0.3, 2.0).sqrt();
    let parts: Vec<Partial> = (1..=30)
        .map(|k| {
            let kf = k as f32;
            Partial {
                freq: kf * f * (1.0 + b * kf * kf).sqrt(),
                amp: kf.powf(-1.1),
                tau: tau0 / (1.0 + 0.25 * kf),
            }
        })
        .collect();
    let mut x = dsp::partials(&parts, n);
    let m = dsp::secs(0.01).min(n);
    let mut click = dsp::filtered(dsp::noise(rng, m), Biquad::bandpass(3000.0, 0.7));
    dsp::apply_env(&mut click, &dsp::attack_decay(m, 0.0005, 0.003));
    dsp::add_at(&mut x, &click, 0, 0.4);
    x
}

/// FM electric piano: carrier and modulator at the same frequency, index decaying fast.
pub(crate) fn epiano(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let tau = dsp::uni(rng, 0.6, 1.2);
    let index = dsp::uni(rng, 1.0, 2.5).min(((7000.0 - f) / f - 1.0).max(0.3));
    crate::synth::bell::fm_bell(f, n, 1.0, index, tau)
}

fn mallet(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let vibes = dsp::chance(rng, 0.35);
    let (r2, r3) = if vibes {
        (4.0, 10.0)
    } else {
        (dsp::uni(rng, 3.9, 4.0), dsp::uni(rng, 9.2, 9.8))
    };
    let tau = if vibes {
        dsp::uni(rng, 0.6, 1.0)
    } else {
        dsp::uni(rng, 0.12, 0.35)
    };
    let parts = [
        Partial {
            freq: f,
            amp: 1.0,
            tau,
        },
        Partial {
            freq: f * r2,
            amp: dsp::uni(rng, 0.3, 0.6),
            tau: tau * 0.4,
        },
        Partial {
            freq: f * r3,
            amp: dsp::uni(rng, 0.1, 0.25),
            tau: tau * 0.15,
        },
    ];
    let mut x = dsp::partials(&parts, n);
    if vibes {
        let rate = dsp::uni(rng, 4.0, 6.0);
        for (i, v) in x.iter_mut().enumerate() {
            *v *= 0.75 + 0.25 * (std::f32::consts::TAU * rate * i as f32 / SR).sin();
        }
    }
    x
}

/// A drawbar organ chord: harmonics ½, 1, 2, 3, 4, 6, 8 of each note at random drawbar levels,
/// 5 ms attack, flat sustain.
pub(crate) fn organ(rng: &mut Rng, notes: &[f32], n: usize) -> Vec<f32> {
    let bars: Vec<f32> = (0..7).map(|_| dsp::uni(rng, 0.0, 1.0)).collect();
    let mut x = vec![0.0f32; n];
    for &f in notes {
        // Harmonic k of f/2: drawbars at (1, 2, 4, 6, 8, 12, 16) × f/2.
        let levels = [1usize, 2, 4, 6, 8, 12, 16];
        let amp = |k: usize| {
            levels
                .iter()
                .position(|&l| l == k)
                .map_or(0.0, |i| 0.2 + bars[i])
        };
        let tone = dsp::harmonic_tone(&vec![f / 2.0; n], &amp, 0.0);
        dsp::add_at(&mut x, &tone, 0, 1.0);
    }
    dsp::apply_env(&mut x, &dsp::asr(n, 0.005, 0.01));
    x
}

fn reed(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let track = dsp::freq_track(
        n,
        f,
        1.0,
        dsp::uni(rng, 4.5, 5.5),
        dsp::uni(rng, 0.0, 0.006),
    );
    let mut x = if dsp::chance(rng, 0.6) {
        // Clarinet: odd harmonics.
        dsp::harmonic_tone(
            &track,
            &|k| if k % 2 == 1 { 1.0 / k as f32 } else { 0.03 },
            0.0,
        )
    } else {
        // Saxophone: all harmonics through a bump near 1.5–2 kHz.
        let t = dsp::harmonic_tone(&track, &|k| (k as f32).powf(-0.8), 0.0);
        let bump = Biquad::bandpass(dsp::uni(rng, 1400.0, 2000.0), 1.2);
        let mut b = dsp::filtered(t.clone(), bump);
        dsp::add_at(&mut b, &t, 0, 0.3);
        b
    };
    let nz = dsp::filtered(dsp::noise(rng, n), Biquad::highpass(2000.0, 0.7));
    let g = 0.02 * dsp::peak(&x).max(1e-6);
    dsp::add_at(&mut x, &nz, 0, g);
    dsp::apply_env(&mut x, &dsp::asr(n, dsp::uni(rng, 0.03, 0.05), 0.01));
    x
}

/// A bowed string: sawtooth through three body resonances, 100–200 ms attack, vibrato that
/// starts after 150 ms.
pub(crate) fn string(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let (rate, depth) = (dsp::uni(rng, 5.0, 6.5), dsp::uni(rng, 0.006, 0.012));
    let start = dsp::secs(0.15);
    let track: Vec<f32> = (0..n)
        .map(|i| {
            let d = if i < start {
                0.0
            } else {
                depth * ((i - start) as f32 / start as f32).min(1.0)
            };
            f * (1.0 + d * (std::f32::consts::TAU * rate * i as f32 / SR).sin())
        })
        .collect();
    let saw = dsp::harmonic_tone(&track, &|k| 1.0 / k as f32, 0.0);
    let body = [
        dsp::uni(rng, 250.0, 350.0),
        dsp::uni(rng, 900.0, 1200.0),
        dsp::uni(rng, 2200.0, 3000.0),
    ];
    let mut x = vec![0.0f32; n];
    for (j, &bf) in body.iter().enumerate() {
        let mut r = Resonator::new(bf, 150.0 + 100.0 * j as f32);
        for (o, &s) in x.iter_mut().zip(&saw) {
            *o += r.tick(s) * [0.6, 1.0, 0.7][j];
        }
    }
    dsp::add_at(&mut x, &saw, 0, 0.3);
    dsp::apply_env(&mut x, &dsp::asr(n, dsp::uni(rng, 0.1, 0.2), 0.02));
    x
}

fn synth_lead(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let mut x = if dsp::chance(rng, 0.6) {
        let cents = dsp::uni(rng, 8.0, 15.0);
        let a = dsp::harmonic_tone(
            &vec![f * 2f32.powf(cents / 1200.0); n],
            &|k| 1.0 / k as f32,
            0.0,
        );
        let mut b = dsp::harmonic_tone(
            &vec![f * 2f32.powf(-cents / 1200.0); n],
            &|k| 1.0 / k as f32,
            1.0,
        );
        dsp::add_at(&mut b, &a, 0, 1.0);
        b
    } else {
        dsp::harmonic_tone(
            &vec![f; n],
            &|k| if k % 2 == 1 { 1.0 / k as f32 } else { 0.0 },
            0.0,
        )
    };
    // Resonant low-pass sweeping up or down.
    let (c0, c1) = if dsp::chance(rng, 0.5) {
        (600.0, 5000.0)
    } else {
        (5000.0, 800.0)
    };
    let q = dsp::uni(rng, 3.0, 7.0);
    let mut lp = Biquad::lowpass(c0, q);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 64 == 0 {
            let t = i as f32 / n as f32;
            lp = retune(lp, Biquad::lowpass(c0 * (c1 / c0).powf(t), q));
        }
        *v = lp.tick(*v);
    }
    dsp::apply_env(&mut x, &dsp::asr(n, 0.005, 0.01));
    x
}

fn vocal(rng: &mut Rng, f: f32, n: usize) -> Vec<f32> {
    let track = dsp::freq_track(
        n,
        f,
        1.0,
        dsp::uni(rng, 4.5, 6.0),
        dsp::uni(rng, 0.01, 0.02),
    );
    let amp = dsp::asr(n, dsp::uni(rng, 0.05, 0.1), 0.01);
    let v = [0usize, 3, 4][dsp::pick(rng, 3)];
    let style = voice::VoiceStyle {
        formant_scale: if f > 250.0 { 1.15 } else { 1.0 },
        ..voice::VoiceStyle::default()
    };
    voice::voice(
        rng,
        &track,
        &amp,
        None,
        &voice::FormantTrack::vowel(v),
        &style,
    )
}
