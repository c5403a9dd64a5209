//! Building blocks of the genre clips: a swung step grid, a drum kit played from step
//! patterns, chords, and the instruments the genres draw their palettes from.

use rng::Rng;

use crate::dsp::{self, Biquad};
use crate::probes::instrument;
use crate::synth::{drum, pluck, voice};

/// A 16-step-per-bar grid (4/4) at `bpm`. `swing` is where the off-beat eighth (or, with
/// `swing16`, the off-beat sixteenth) falls as a fraction of its pair: 0.5 straight, 0.67
/// triplet shuffle.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub bpm: f32,
    pub swing: f32,
    pub swing16: bool,
}

impl Grid {
    /// Seconds per beat.
    pub fn beat(&self) -> f32 {
        60.0 / self.bpm
    }

    /// The sample at which sixteenth step `i` starts.
    pub fn at(&self, i: usize) -> usize {
        let beat = self.beat();
        let t = if self.swing16 {
            let eighth = beat / 2.0;
            (i / 2) as f32 * eighth + (i % 2) as f32 * self.swing * eighth
        } else {
            let s = self.swing;
            let within = [0.0, s / 2.0, s, s + (1.0 - s) / 2.0][i % 4];
            (i / 4) as f32 * beat + within * beat
        };
        dsp::secs(t)
    }

    /// Steps that start before sample `n`.
    pub fn steps(&self, n: usize) -> usize {
        (0..).take_while(|&i| self.at(i) < n).count()
    }

    /// Samples in `steps` straight sixteenths.
    pub fn len(&self, steps: f32) -> usize {
        dsp::secs(steps * self.beat() / 4.0)
    }
}

/// Drum voices a pattern can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    Kick,
    Kick808,
    Snare,
    Rim,
    Clap,
    ClosedHat,
    OpenHat,
    Ride,
    Crash,
}

/// One clip's drum kit: tunings drawn once, so every hit of a voice sounds alike.
#[derive(Debug, Clone)]
pub struct Kit {
    kick: (f32, f32),
    snare: (f32, f32),
    rim: f32,
    k808: (f32, f32),
}

impl Kit {
    pub fn draw(rng: &mut Rng) -> Self {
        Self {
            kick: (dsp::uni(rng, 48.0, 70.0), dsp::uni(rng, 0.05, 0.09)),
            snare: (dsp::uni(rng, 170.0, 260.0), dsp::uni(rng, 0.04, 0.07)),
            rim: dsp::uni(rng, 400.0, 600.0),
            k808: (dsp::uni(rng, 42.0, 55.0), dsp::uni(rng, 0.25, 0.45)),
        }
    }

    fn hit(&self, rng: &mut Rng, v: Voice) -> Vec<f32> {
        match v {
            Voice::Kick => drum::kick(rng, self.kick.0, self.kick.1),
            Voice::Kick808 => drum::kick(rng, self.k808.0, self.k808.1),
            Voice::Snare => drum::snare(rng, self.snare.0, self.snare.1),
            Voice::Rim => {
                let mut x = drum::tom(rng, self.rim, 0.02);
                x.truncate(dsp::secs(0.08));
                x
            }
            Voice::Clap => drum::clap(rng),
            Voice::ClosedHat => drum::hat(rng, false),
            Voice::OpenHat => drum::hat(rng, true),
            Voice::Ride => drum::ride(rng),
            Voice::Crash => drum::crash(rng),
        }
    }
}

/// Plays step patterns for `n` samples: each `(voice, pattern, gain)` has one character per
/// sixteenth, repeated every bar: `x` a hit, `o` a soft hit (40 %), anything else a rest.
/// Hits vary by ±2 dB; `ghost` is the chance of a soft extra hit on a rest (snares only).
pub fn drums(
    rng: &mut Rng,
    grid: &Grid,
    kit: &Kit,
    n: usize,
    parts: &[(Voice, &str, f32)],
    ghost: f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    let steps = grid.steps(n);
    for &(v, pat, gain) in parts {
        let pat: Vec<char> = pat.chars().collect();
        if pat.is_empty() {
            continue;
        }
        for i in 0..steps {
            let vel = match pat[i % pat.len()] {
                'x' => 1.0,
                'o' => 0.4,
                _ if v == Voice::Snare && dsp::chance(rng, ghost) => 0.25,
                _ => continue,
            };
            let h = kit.hit(rng, v);
            let g = gain * vel * dsp::db(dsp::uni(rng, -2.0, 2.0));
            dsp::add_at(&mut out, &h, grid.at(i), g);
        }
    }
    out
}

/// A chord: MIDI notes of `root + intervals`.
pub fn chord(root: f32, intervals: &[i32]) -> Vec<f32> {
    intervals.iter().map(|&i| root + i as f32).collect()
}

/// A strummed chord on a plucked string instrument: strings `spread` s apart, `down` from low
/// to high, each note `n` samples (cut off at `len` by muting when `len < n`).
pub fn strum(
    rng: &mut Rng,
    notes: &[f32],
    n: usize,
    bright: f32,
    t60: f32,
    spread: f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    let down = dsp::chance(rng, 0.6);
    for (j, &m) in notes.iter().enumerate() {
        let k = if down { j } else { notes.len() - 1 - j };
        let at = dsp::secs(spread * k as f32);
        let p = pluck::pluck(rng, dsp::midi_hz(m), n.saturating_sub(at), bright, t60);
        dsp::add_at(&mut out, &p, at, 1.0 / notes.len() as f32);
    }
    mute_tail(&mut out, n);
    out
}

/// A distorted power chord (root, fifth, octave of sawtooth) through `tanh` drive and a
/// 3–5 kHz low-pass; `muted` chords (palm muting) decay in about 80 ms.
pub fn power_chord(rng: &mut Rng, root: f32, n: usize, drive: f32, muted: bool) -> Vec<f32> {
    let mut x = vec![0.0f32; n];
    for m in [root, root + 7.0, root + 12.0] {
        let f = dsp::midi_hz(m) * dsp::uni(rng, 0.998, 1.002);
        let t = dsp::harmonic_tone(
            &vec![f; n],
            &|k| 1.0 / k as f32,
            dsp::uni(rng, 0.0, 6.0) as f64,
        );
        dsp::add_at(&mut x, &t, 0, 0.33);
    }
    dsp::drive(&mut x, drive);
    let mut x = dsp::filtered(x, Biquad::lowpass(dsp::uni(rng, 3000.0, 5000.0), 0.7));
    let env = if muted {
        dsp::attack_decay(n, 0.003, 0.08)
    } else {
        dsp::asr(n, 0.003, 0.03)
    };
    dsp::apply_env(&mut x, &env);
    x
}

/// A short filtered sawtooth chord (disco strings, pop synths): `n` samples, `attack` s.
pub fn saw_chord(notes: &[f32], n: usize, cutoff: f32, attack: f32) -> Vec<f32> {
    let mut x = vec![0.0f32; n];
    for &m in notes {
        let t = dsp::harmonic_tone(&vec![dsp::midi_hz(m); n], &|k| 1.0 / k as f32, m as f64);
        dsp::add_at(&mut x, &t, 0, 1.0 / notes.len() as f32);
    }
    let mut x = dsp::filtered(x, Biquad::lowpass(cutoff, 0.9));
    dsp::apply_env(&mut x, &dsp::asr(n, attack, 0.03));
    x
}

/// A chord on a keyboard (piano or electric piano), `n` samples, muted at the end.
pub fn keys(rng: &mut Rng, notes: &[f32], n: usize) -> Vec<f32> {
    let ep = dsp::chance(rng, 0.4);
    let mut out = vec![0.0f32; n];
    for &m in notes {
        let f = dsp::midi_hz(m);
        let x = if ep {
            instrument::epiano(rng, f, n)
        } else {
            instrument::piano(rng, f, n)
        };
        dsp::add_at(&mut out, &x, 0, 1.0 / notes.len() as f32);
    }
    mute_tail(&mut out, n);
    out
}

/// A sustained bowed-string chord (a section pad), `n` samples.
pub fn pad(rng: &mut Rng, notes: &[f32], n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    for &m in notes {
        let x = instrument::string(rng, dsp::midi_hz(m), n);
        dsp::add_at(&mut out, &x, 0, 1.0 / notes.len() as f32);
    }
    out
}

/// An organ chord, `n` samples.
pub fn organ(rng: &mut Rng, notes: &[f32], n: usize) -> Vec<f32> {
    let f: Vec<f32> = notes.iter().map(|&m| dsp::midi_hz(m)).collect();
    let mut x = instrument::organ(rng, &f, n);
    let p = dsp::peak(&x).max(1e-9);
    x.iter_mut().for_each(|v| *v /= p);
    x
}

/// A bass note: plucked (`plucked`) or a smooth synth bass, `n` samples, muted at the end.
pub fn bass(rng: &mut Rng, midi: f32, n: usize, plucked: bool) -> Vec<f32> {
    let f = dsp::midi_hz(midi);
    let mut x = if plucked {
        pluck::pluck(rng, f, n, 0.3, 2.0)
    } else {
        instrument::synth_bass(rng, f, n)
    };
    dsp::normalize_peak(&mut x, 1.0);
    mute_tail(&mut x, n);
    x
}

/// A sung note (pop lead): a voice on a random open vowel with light vibrato.
pub fn sung(rng: &mut Rng, midi: f32, n: usize) -> Vec<f32> {
    let f0 = dsp::midi_hz(midi);
    let track = dsp::freq_track(n, f0, 1.0, dsp::uni(rng, 5.0, 6.0), 0.01);
    let amp = dsp::asr(n, 0.03, 0.05);
    let style = voice::VoiceStyle {
        formant_scale: if f0 > 250.0 { 1.15 } else { 1.0 },
        ..voice::VoiceStyle::default()
    };
    let vowel = voice::FormantTrack::vowel([0, 3, 1][dsp::pick(rng, 3)]);
    let mut x = voice::voice(rng, &track, &amp, None, &vowel, &style);
    dsp::normalize_peak(&mut x, 1.0);
    x
}

/// A 15 ms fade at the end of `x[..n]` (a note stopped rather than cut).
fn mute_tail(x: &mut [f32], n: usize) {
    let n = n.min(x.len());
    let f = dsp::secs(0.015).min(n);
    for i in 0..f {
        x[n - 1 - i] *= i as f32 / f as f32;
    }
}
