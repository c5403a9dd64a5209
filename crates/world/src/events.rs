//! The event catalogue: eight kinds of sound event, the parameters a caption can name (pitch
//! register, loudness, count, rate), drawing an event's specification at random, rendering a
//! specification to audio, and its phrases for captions.
//!
//! | kind  | synthesis                        | patterns            | noun                     |
//! |-------|----------------------------------|---------------------|--------------------------|
//! | tone  | harmonic tone / pure beep        | continuous, count   | hum / beep               |
//! | chirp | exponential sweep (×3)           | count               | chirp (rising, falling)  |
//! | noise | low-passed / high-passed noise   | continuous, count   | rumble, hiss / burst of noise |
//! | click | impulse through a resonance      | rate                | click                    |
//! | pluck | Karplus–Strong string            | count               | string                   |
//! | bell  | FM bell (inharmonic ratio)       | count               | bell                     |
//! | drum  | kick/tom (low), snare (high)     | rate                | drum                     |
//! | voice | glottal harmonics through formants | continuous, count | voice                    |
//!
//! A specification ([`EventSpec`]) holds every fact a caption states plus the seed of the
//! details it does not (timbre, vibrato, noise), so rendering it again gives the same samples.

use rng::Rng;
use serde::{Deserialize, Serialize};

use crate::dsp;
use crate::synth::{bell, chirp, click, drum, noise, pluck, tone, voice};

/// The eight event kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Tone,
    Chirp,
    Noise,
    Click,
    Pluck,
    Bell,
    Drum,
    Voice,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Tone,
        EventKind::Chirp,
        EventKind::Noise,
        EventKind::Click,
        EventKind::Pluck,
        EventKind::Bell,
        EventKind::Drum,
        EventKind::Voice,
    ];

    /// Whether the kind can sound throughout a clip (a continuous sound or a repetition at a
    /// rate), behind other events.
    pub fn can_be_background(self) -> bool {
        !matches!(self, EventKind::Chirp | EventKind::Pluck | EventKind::Bell)
    }

    /// The shortest span (s) the kind needs in any of its patterns.
    pub fn min_span(self) -> f32 {
        match self {
            EventKind::Click | EventKind::Drum => 1.0,
            _ => 0.3,
        }
    }
}

/// Pitch register (for chirps: the direction of the sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Register {
    Low,
    High,
    Rising,
    Falling,
}

impl Register {
    pub fn word(self) -> &'static str {
        match self {
            Register::Low => "low",
            Register::High => "high",
            Register::Rising => "rising",
            Register::Falling => "falling",
        }
    }
}

/// The speed of a repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    Slow,
    Fast,
}

/// How an event unfolds in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pattern {
    /// One sustained sound.
    Continuous,
    /// `n` (1–3) separate occurrences.
    Count { n: u8 },
    /// Regular repetition, slow (1.5–4 per second) or fast (6–14 per second).
    Rate { speed: Speed },
}

/// Loudness class. Peaks: quiet 0.05–0.08, normal 0.18–0.3, loud 0.55–0.8 (gaps of about 7
/// and 5 dB between classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loudness {
    Quiet,
    Normal,
    Loud,
}

impl Loudness {
    fn draw(rng: &mut Rng, weights: &[f64; 3]) -> Self {
        match rng.weighted(weights) {
            0 => Loudness::Quiet,
            1 => Loudness::Normal,
            _ => Loudness::Loud,
        }
    }

    fn peak(self, rng: &mut Rng) -> f32 {
        match self {
            Loudness::Quiet => dsp::uni(rng, 0.05, 0.08),
            Loudness::Normal => dsp::uni(rng, 0.18, 0.3),
            Loudness::Loud => dsp::uni(rng, 0.55, 0.8),
        }
    }

    /// The caption adjective (none for normal).
    pub fn word(self) -> Option<&'static str> {
        match self {
            Loudness::Quiet => Some("quiet"),
            Loudness::Normal => None,
            Loudness::Loud => Some("loud"),
        }
    }
}

/// Everything needed to render an event and to caption it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub kind: EventKind,
    pub register: Register,
    pub pattern: Pattern,
    pub loudness: Loudness,
    /// The characteristic frequency (Hz): pitch, sweep start (low end), noise cut-off or
    /// resonance.
    pub freq: f32,
    /// Length of the rendered event (s).
    pub dur: f32,
    /// Onsets (s, from the event's start) of its occurrences; `[0]` for a continuous sound.
    pub hits: Vec<f32>,
    /// Length (s) of one occurrence (the whole event when continuous).
    pub hit_len: f32,
    /// Peak amplitude of the rendered event.
    pub peak: f32,
    /// Seed of everything a caption does not state (timbre, vibrato, noise).
    pub seed: u64,
}

/// What the caller wants from [`EventSpec::draw`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawOptions {
    /// The event must sound throughout (continuous or at a rate) and last exactly `max_dur`.
    pub background: bool,
    /// The longest the event may last (s).
    pub max_dur: f32,
    /// Which loudness classes may be drawn.
    pub levels: Levels,
}

/// The loudness classes an event may be drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Levels {
    /// Always normal (pair events: the mixing SNR sets their level).
    Normal,
    /// Quiet, normal or loud (20 / 60 / 20 %).
    All,
    /// Quiet or normal (backgrounds: a loud one would mask the foreground).
    NoLoud,
}

/// A frequency band `(lo, hi)` in Hz for a kind and register, log-uniformly drawn.
fn band(kind: EventKind, reg: Register, pattern: Pattern) -> (f32, f32) {
    let low = reg == Register::Low;
    match kind {
        EventKind::Tone => match (pattern, low) {
            (Pattern::Continuous, true) => (70.0, 160.0),
            (Pattern::Continuous, false) => (600.0, 1200.0),
            (_, true) => (250.0, 450.0),
            (_, false) => (1500.0, 3000.0),
        },
        EventKind::Chirp => (400.0, 900.0),
        EventKind::Noise => match (pattern, low) {
            (Pattern::Continuous, true) => (200.0, 400.0),
            (Pattern::Continuous, false) => (3000.0, 4500.0),
            (_, true) => (300.0, 700.0),
            (_, false) => (2500.0, 4500.0),
        },
        EventKind::Click => pick_band(low, (500.0, 900.0), (2500.0, 4500.0)),
        EventKind::Pluck => pick_band(low, (70.0, 140.0), (350.0, 700.0)),
        EventKind::Bell => pick_band(low, (180.0, 320.0), (800.0, 1500.0)),
        EventKind::Drum => pick_band(low, (45.0, 90.0), (180.0, 320.0)),
        EventKind::Voice => pick_band(low, (85.0, 130.0), (260.0, 420.0)),
    }
}

fn pick_band(low: bool, l: (f32, f32), h: (f32, f32)) -> (f32, f32) {
    if low {
        l
    } else {
        h
    }
}

/// Occurrence length and onset spacing ranges (s) of a counted event.
fn count_timing(kind: EventKind) -> ((f32, f32), (f32, f32)) {
    match kind {
        EventKind::Tone => ((0.12, 0.25), (0.1, 0.2)),
        EventKind::Chirp => ((0.12, 0.3), (0.1, 0.2)),
        EventKind::Noise => ((0.1, 0.25), (0.12, 0.25)),
        EventKind::Pluck => ((0.3, 0.5), (0.0, 0.1)),
        EventKind::Bell => ((0.3, 0.45), (0.0, 0.1)),
        _ => ((0.25, 0.45), (0.12, 0.25)),
    }
}

impl EventSpec {
    /// Draws an event of `kind` under `opt` (pattern, register, frequency, timing, level) with
    /// its own detail seed. Counted events take the largest count that fits when the drawn
    /// count does not; a background event is continuous or at a rate.
    pub fn draw(rng: &mut Rng, kind: EventKind, opt: DrawOptions) -> Self {
        let counted = [1u8, 2, 3].map(|n| Pattern::Count { n });
        let rates = [Speed::Slow, Speed::Fast].map(|speed| Pattern::Rate { speed });
        let patterns: Vec<Pattern> = match kind {
            EventKind::Click | EventKind::Drum => rates.to_vec(),
            EventKind::Tone | EventKind::Noise | EventKind::Voice if opt.background => {
                vec![Pattern::Continuous]
            }
            EventKind::Tone | EventKind::Noise | EventKind::Voice => {
                let mut p = vec![Pattern::Continuous; 3];
                p.extend(counted);
                p
            }
            _ => counted.to_vec(),
        };
        let mut pattern = patterns[dsp::pick(rng, patterns.len())];
        let register = if kind == EventKind::Chirp {
            [Register::Rising, Register::Falling][dsp::pick(rng, 2)]
        } else {
            [Register::Low, Register::High][dsp::pick(rng, 2)]
        };
        let (lo, hi) = band(kind, register, pattern);
        let freq = dsp::log_uni(rng, lo, hi);
        let loudness = match opt.levels {
            Levels::Normal => Loudness::Normal,
            Levels::All => Loudness::draw(rng, &[0.2, 0.6, 0.2]),
            Levels::NoLoud => Loudness::draw(rng, &[0.4, 0.6, 0.0]),
        };
        let peak = loudness.peak(rng);
        let max_dur = opt.max_dur.max(0.2);
        let (dur, hits, hit_len) = match pattern {
            Pattern::Continuous => {
                let d = if opt.background {
                    max_dur
                } else {
                    dsp::uni(rng, (0.6 * max_dur).max(0.5).min(max_dur), max_dur)
                };
                (d, vec![0.0], d)
            }
            Pattern::Rate { speed } => {
                let rate = match (kind, speed) {
                    (EventKind::Click, Speed::Slow) => dsp::uni(rng, 2.0, 4.0),
                    (EventKind::Click, Speed::Fast) => dsp::uni(rng, 8.0, 14.0),
                    (_, Speed::Slow) => dsp::uni(rng, 1.5, 3.0),
                    (_, Speed::Fast) => dsp::uni(rng, 6.0, 10.0),
                };
                let d = if opt.background {
                    max_dur
                } else {
                    dsp::uni(rng, (0.6 * max_dur).max(1.0).min(max_dur), max_dur)
                };
                let hit_len = (0.8 / rate).min(0.3);
                let mut hits = Vec::new();
                let mut t = dsp::uni(rng, 0.0, 0.05);
                while t + hit_len.min(0.1) <= d {
                    hits.push(t);
                    t += dsp::uni(rng, 0.97, 1.03) / rate;
                }
                (d, hits, hit_len)
            }
            Pattern::Count { n } => {
                let ((ol, oh), (gl, gh)) = count_timing(kind);
                let mut hit_len = dsp::uni(rng, ol, oh).min(max_dur);
                let period = hit_len + dsp::uni(rng, gl, gh);
                let mut n = n;
                while n > 1 && (n - 1) as f32 * period + hit_len > max_dur {
                    n -= 1;
                }
                hit_len = hit_len.min(max_dur);
                pattern = Pattern::Count { n };
                let hits: Vec<f32> = (0..n).map(|k| k as f32 * period).collect();
                // Decaying sounds (bell, string) ring on after their last onset when room allows.
                let tail = match kind {
                    EventKind::Bell | EventKind::Pluck => dsp::uni(rng, 0.3, 0.6),
                    _ => 0.0,
                };
                let end = (n - 1) as f32 * period + hit_len;
                (((end + tail).min(max_dur)).max(end), hits, hit_len)
            }
        };
        Self {
            kind,
            register,
            pattern,
            loudness,
            freq,
            dur,
            hits,
            hit_len,
            peak,
            seed: rng.next_u64(),
        }
    }

    /// Length in samples.
    pub fn len(&self) -> usize {
        dsp::secs(self.dur)
    }

    /// Whether the event has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Renders the event: [`EventSpec::len`] samples with peak [`EventSpec::peak`].
    pub fn render(&self) -> Vec<f32> {
        let n = self.len();
        let mut rng = Rng::new(self.seed);
        let hit_n = dsp::secs(self.hit_len).max(1);
        let mut out = vec![0.0f32; n];
        // Each occurrence at the same peak (vowels, noise and filters would otherwise make
        // some much quieter than others), before the event as a whole is normalised.
        let place = |out: &mut Vec<f32>, i: usize, x: &[f32]| {
            let g = 1.0 / dsp::peak(x).max(1e-9);
            dsp::add_at(out, x, dsp::secs(self.hits[i]), g)
        };
        let low = self.register == Register::Low;
        match (self.kind, self.pattern) {
            (EventKind::Tone, Pattern::Continuous) => out = tone::hum(&mut rng, self.freq, n),
            (EventKind::Noise, Pattern::Continuous) if low => {
                out = noise::rumble(&mut rng, self.freq, n)
            }
            (EventKind::Noise, Pattern::Continuous) => out = noise::hiss(&mut rng, self.freq, n),
            (EventKind::Voice, Pattern::Continuous) => out = sung(&mut rng, self.freq, n),
            (EventKind::Tone, _) => {
                for i in 0..self.hits.len() {
                    place(&mut out, i, &tone::beep(self.freq, hit_n));
                }
            }
            (EventKind::Chirp, _) => {
                let (a, b) = if self.register == Register::Rising {
                    (self.freq, self.freq * 3.0)
                } else {
                    (self.freq * 3.0, self.freq)
                };
                for i in 0..self.hits.len() {
                    place(&mut out, i, &chirp::chirp(a, b, hit_n));
                }
            }
            (EventKind::Noise, _) => {
                for i in 0..self.hits.len() {
                    place(&mut out, i, &noise::burst(&mut rng, self.freq, hit_n));
                }
            }
            (EventKind::Click, _) => {
                let onsets: Vec<usize> = self.hits.iter().map(|&t| dsp::secs(t)).collect();
                out = click::train(&mut rng, self.freq, &onsets, n);
            }
            (EventKind::Pluck, _) => {
                // Low strings are duller, as real bass strings are.
                let bright = if low {
                    dsp::uni(&mut rng, 0.15, 0.35)
                } else {
                    dsp::uni(&mut rng, 0.5, 0.9)
                };
                let t60 = dsp::uni(&mut rng, 0.8, 1.6);
                for i in 0..self.hits.len() {
                    let m = n.saturating_sub(dsp::secs(self.hits[i]));
                    place(
                        &mut out,
                        i,
                        &pluck::pluck(&mut rng, self.freq, m, bright, t60),
                    );
                }
            }
            (EventKind::Bell, _) => {
                let ratio = dsp::uni(&mut rng, 1.38, 1.45);
                let fm = self.freq * ratio;
                let index =
                    dsp::uni(&mut rng, 2.0, 4.0).min(((7000.0 - self.freq) / fm - 1.0).max(0.5));
                let tau = dsp::uni(&mut rng, 0.25, 0.45);
                for i in 0..self.hits.len() {
                    let m = n.saturating_sub(dsp::secs(self.hits[i]));
                    place(&mut out, i, &bell::fm_bell(self.freq, m, ratio, index, tau));
                }
            }
            (EventKind::Drum, _) => {
                for i in 0..self.hits.len() {
                    let f = self.freq * dsp::uni(&mut rng, 0.97, 1.03);
                    let hit = if low {
                        let tau = dsp::uni(&mut rng, 0.05, 0.08);
                        drum::kick(&mut rng, f, tau)
                    } else {
                        let tau = dsp::uni(&mut rng, 0.03, 0.05);
                        drum::snare(&mut rng, f, tau)
                    };
                    let hit = &hit[..hit.len().min(hit_n)];
                    place(&mut out, i, hit);
                }
            }
            (EventKind::Voice, _) => {
                for i in 0..self.hits.len() {
                    place(&mut out, i, &call(&mut rng, self.freq, hit_n));
                }
            }
        }
        out.truncate(n);
        out.resize(n, 0.0);
        dsp::normalize_peak(&mut out, self.peak);
        out
    }

    /// The noun of this event's kind and pattern.
    fn noun(&self) -> &'static str {
        match (self.kind, self.pattern) {
            (EventKind::Tone, Pattern::Continuous) => "hum",
            (EventKind::Tone, _) => "beep",
            (EventKind::Chirp, _) => "chirp",
            (EventKind::Noise, Pattern::Continuous) if self.register == Register::Low => "rumble",
            (EventKind::Noise, Pattern::Continuous) => "hiss",
            (EventKind::Noise, _) => "burst of noise",
            (EventKind::Click, _) => "click",
            (EventKind::Pluck, _) => "string",
            (EventKind::Bell, _) => "bell",
            (EventKind::Drum, _) => "drum",
            (EventKind::Voice, _) => "voice",
        }
    }

    /// (third-person verb, participle) of this event's kind and pattern.
    fn verbs(&self) -> (&'static str, &'static str) {
        match (self.kind, self.pattern) {
            (EventKind::Voice, Pattern::Continuous) => ("sings", "singing"),
            (_, Pattern::Continuous) => ("continues", "continuing"),
            (EventKind::Pluck, _) => ("is plucked", "plucked"),
            (EventKind::Bell, _) => ("rings", "ringing"),
            (EventKind::Voice, _) => ("calls", "calling"),
            (EventKind::Click, _) => ("repeats", "repeating"),
            (EventKind::Drum, _) => ("beats", "beating"),
            _ => ("sounds", "sounding"),
        }
    }

    /// Its phrases, with its loudness adjective when `loudness` is set.
    pub fn phrase(&self, loudness: bool) -> Phrase {
        let loud = if loudness { self.loudness.word() } else { None };
        let np = match loud {
            Some(l) => format!("a {l} {} {}", self.register.word(), self.noun()),
            None => format!("a {} {}", self.register.word(), self.noun()),
        };
        let modifier = match self.pattern {
            Pattern::Continuous => String::new(),
            Pattern::Count { n } => format!(" {}", count_word(n)),
            Pattern::Rate { speed } => format!(" {}", speed_word(speed)),
        };
        let (verb, part) = self.verbs();
        Phrase {
            sentence: format!("{np} {verb}{modifier}"),
            participle: format!("{np} {part}{modifier}"),
            np,
        }
    }
}

/// "once", "twice", "three times".
pub fn count_word(n: u8) -> &'static str {
    match n {
        1 => "once",
        2 => "twice",
        _ => "three times",
    }
}

/// "slowly", "rapidly".
pub fn speed_word(s: Speed) -> &'static str {
    match s {
        Speed::Slow => "slowly",
        Speed::Fast => "rapidly",
    }
}

/// An event in words: its noun phrase ("a loud high bell"), a sentence ("a loud high bell
/// rings twice") and a participle phrase ("a loud high bell ringing twice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phrase {
    pub np: String,
    pub sentence: String,
    pub participle: String,
}

/// A sustained sung vowel at `f0` Hz: 5 Hz vibrato, drifting from one vowel to another.
fn sung(rng: &mut Rng, f0: f32, n: usize) -> Vec<f32> {
    let f = dsp::freq_track(
        n,
        f0,
        1.0,
        dsp::uni(rng, 4.5, 6.0),
        dsp::uni(rng, 0.01, 0.025),
    );
    let amp = dsp::asr(n, 0.08, 0.12);
    let (v1, v2) = (dsp::pick(rng, 5), dsp::pick(rng, 5));
    let track = voice::FormantTrack::vowel(v1).key(n, voice::VOWELS[v2]);
    let style = voice::VoiceStyle {
        formant_scale: if f0 > 200.0 { 1.15 } else { 1.0 },
        ..voice::VoiceStyle::default()
    };
    voice::voice(rng, &f, &amp, None, &track, &style)
}

/// A call: a short vowel whose pitch rises then falls by a few semitones.
fn call(rng: &mut Rng, f0: f32, n: usize) -> Vec<f32> {
    let rise = dsp::uni(rng, 1.1, 1.3);
    let f: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / n.max(1) as f32;
            f0 * (1.0 + (rise - 1.0) * (std::f32::consts::PI * t).sin())
        })
        .collect();
    let amp = dsp::asr(n, 0.03, 0.08);
    let v = dsp::pick(rng, 5);
    let style = voice::VoiceStyle {
        formant_scale: if f0 > 200.0 { 1.15 } else { 1.0 },
        ..voice::VoiceStyle::default()
    };
    voice::voice(rng, &f, &amp, None, &voice::FormantTrack::vowel(v), &style)
}

/// Frames of 10 ms: the RMS of each (for the tests' energy and onset checks).
pub fn frame_rms(x: &[f32]) -> Vec<f32> {
    x.chunks(dsp::secs(0.01).max(1)).map(dsp::rms).collect()
}
