//! Sound-making objects seen and heard: each clip is one object making its sound, written as
//! audio (16 kHz WAV, [`sound`]) and as a view of the same event (a folder of small PNG frames,
//! [`view`]: the source's shape and colour, moving with the sound's rhythm), with the class
//! name as the target of a multiple-choice task ([`data::choice::ChoiceTask`], named
//! [`TASK_NAME`]). It is the world's stand-in for VGGSound in the second seed's experiment
//! (arXiv 2505.06803): recognising the object from the audio only, the frames only, or both.
//!
//! ## Each modality has its own hard classes
//!
//! A class is a [`Sound`] (a synthesis recipe with pitch, rate and occurrence-length ranges)
//! and a [`Look`] (shape, base colour, motion). Two classes that share a look are drawn from
//! the same visual distribution and differ only in sound: hard for the eyes, easy for the
//! ears. Two that share a sound are the reverse. The pairs are declared in one table,
//! [`CONFUSABLE`], and nowhere else: no other two classes share a sound or a look (tested).
//!
//! | class | sound | look (shape, colour, motion) | confusable with |
//! |---|---|---|---|
//! | guitar | bright plucked string, 196–392 Hz, 1.5–3 notes/s | orange ring, vibrating | bass guitar (looks alike) |
//! | bass guitar | dull plucked string, 41–98 Hz, 1.5–3 notes/s | orange ring, vibrating | guitar (looks alike) |
//! | dog barking | short rough high voice bursts, f0 350–600 Hz, 1.5–3.5/s | brown square, hopping | dog growling (looks alike) |
//! | dog growling | low rough continuous voice, f0 70–120 Hz, pulsing 1.5–3.5/s | brown square, hopping | dog barking (looks alike) |
//! | hammering | knocks (resonant clicks, 700–1400 Hz), 3–8/s | black bar, swinging | woodpecker (sounds alike) |
//! | woodpecker | knocks (resonant clicks, 700–1400 Hz), 3–8/s | red triangle, pecking | hammering (sounds alike) |
//! | rain | crackling hiss (cut-off 1.5–3.5 kHz, 15–40 crackles/s) | blue drops, falling | frying food (sounds alike) |
//! | frying food | crackling hiss (cut-off 1.5–3.5 kHz, 15–40 crackles/s) | yellow circle, flickering | rain (sounds alike) |
//! | bird chirping | rising chirps from 2–3.5 kHz, 3–7/s | green diamond, bouncing | — |
//! | church bell | FM bell 150–330 Hz, 0.8–1.4 strikes/s | purple cross, swaying | — |
//! | drum | kick and tom, 50–100 Hz, 2–4.5 hits/s | cyan hexagon, pulsing | — |
//! | baby crying | high voice cries rising and falling, f0 350–550 Hz, 0.8–1.4/s | pink star, shaking | — |
//!
//! By default a pair's shared modality is drawn from one distribution: it carries no cue at
//! all, so from that modality alone no model tells the two apart better than chance (50 %
//! between them), whatever it is taught, by labels or by a teacher. [`ObjectsConfig::pair_cue`]
//! gives the second class of each pair a subtle cue instead (a larger shape, a higher pitch).
//!
//! The motion follows the event's rhythm (the same onsets the audio is made from), so a
//! look-alike pair shares its rhythm ranges too: the view of a guitar and of a bass guitar
//! come from one distribution. Other overlaps are incidental and not declared (a barking dog
//! and a crying baby are both high voices; a bell and a guitar both ring after a strike).
//!
//! ## What varies per clip
//!
//! Audio: pitch and rate within the class's ranges, timing jitter, timbre details, level
//! (peak 0.25–0.85), a random recording channel (the probes' rule: low-pass at 2.5–7 kHz with
//! probability 1/2, high-pass at 60–300 Hz with probability 0.3) and a noise floor at
//! −65…−40 dBFS. View: colour (±24 levels per channel around the look's), size, position,
//! tilt, motion amplitude, background grey and tint, lighting gradient, exposure and pixel
//! noise. Every fact is recorded ([`ObjectSpec`], written to `facts/objects_<split>.jsonl`)
//! and rendering a spec again gives the same bytes.

pub mod sound;
pub mod view;
pub mod views;

use rng::Rng;
use serde::{Deserialize, Serialize};

use crate::config::{ObjectsConfig, Split};
use crate::corpus::item_rng;
use crate::dsp;

/// The task name of the manifests' lines and of `objects/task.toml`.
pub const TASK_NAME: &str = "objects";

/// How a sound is synthesized (see [`sound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoundKind {
    /// Karplus–Strong notes, bright excitation.
    BrightPluck,
    /// Karplus–Strong notes, dull excitation, long decay.
    DullPluck,
    /// Short rough voice bursts with a falling pitch.
    Bark,
    /// A continuous low rough voice whose loudness pulses at the onsets.
    Growl,
    /// Resonant clicks (a knock train).
    Knock,
    /// High-passed noise with random noise-burst crackles at the onsets.
    Crackle,
    /// Short rising sweeps.
    Chirp,
    /// FM bell strikes.
    Bell,
    /// Kick and tom hits, alternating.
    Drum,
    /// Voice cries whose pitch rises and falls.
    Cry,
}

/// When the occurrences of a sound happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// At the rate, each period jittered by ±10 %.
    Regular,
    /// A Poisson process at the rate.
    Random,
}

/// A class's audio signature: what it is made of and the ranges its clips are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sound {
    pub name: &'static str,
    pub kind: SoundKind,
    /// Characteristic frequency (Hz), drawn log-uniformly: the fundamental, resonance,
    /// cut-off or sweep start (see [`sound`]).
    pub pitch: (f32, f32),
    /// Occurrences per second, drawn uniformly.
    pub rate: (f32, f32),
    /// Length (s) of one occurrence, drawn uniformly.
    pub hit: (f32, f32),
    pub timing: Timing,
}

/// The shapes of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Ring,
    Square,
    Bar,
    Triangle,
    /// Several small drops spread over the frame.
    Drops,
    Circle,
    Diamond,
    Cross,
    Hexagon,
    Star,
}

impl Shape {
    pub const ALL: [Shape; 10] = [
        Shape::Ring,
        Shape::Square,
        Shape::Bar,
        Shape::Triangle,
        Shape::Drops,
        Shape::Circle,
        Shape::Diamond,
        Shape::Cross,
        Shape::Hexagon,
        Shape::Star,
    ];

    /// The shape's word in a caption ([`views`]).
    pub fn word(self) -> &'static str {
        match self {
            Shape::Ring => "ring",
            Shape::Square => "square",
            Shape::Bar => "bar",
            Shape::Triangle => "triangle",
            Shape::Drops => "drops",
            Shape::Circle => "circle",
            Shape::Diamond => "diamond",
            Shape::Cross => "cross",
            Shape::Hexagon => "hexagon",
            Shape::Star => "star",
        }
    }
}

/// How the object moves with its sound (see [`view`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    /// A fast sideways vibration after each onset, dying away (blurred by the exposure).
    Vibrate,
    /// A small jump at each onset.
    Hop,
    /// Rotates back and forth once per onset.
    Swing,
    /// A quick sideways jab at each onset.
    Peck,
    /// Moves down, faster at a higher rate, wrapping round.
    Fall,
    /// Brightness and position flicker at random, faster at a higher rate.
    Flicker,
    /// Bounces up and down, landing at the rate.
    Bounce,
    /// Swings sideways, at an extreme at each onset.
    Sway,
    /// Swells at each onset and shrinks back.
    Pulse,
    /// Trembles while each occurrence lasts.
    Shake,
}

impl Motion {
    pub const ALL: [Motion; 10] = [
        Motion::Vibrate,
        Motion::Hop,
        Motion::Swing,
        Motion::Peck,
        Motion::Fall,
        Motion::Flicker,
        Motion::Bounce,
        Motion::Sway,
        Motion::Pulse,
        Motion::Shake,
    ];

    /// The motion's word in a caption ([`views`]).
    pub fn word(self) -> &'static str {
        match self {
            Motion::Vibrate => "vibrating",
            Motion::Hop => "hopping",
            Motion::Swing => "swinging",
            Motion::Peck => "pecking",
            Motion::Fall => "falling",
            Motion::Flicker => "flickering",
            Motion::Bounce => "bouncing",
            Motion::Sway => "swaying",
            Motion::Pulse => "pulsing",
            Motion::Shake => "shaking",
        }
    }
}

/// A class's visual signature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Look {
    pub name: &'static str,
    pub shape: Shape,
    /// Base colour (RGB); each clip's is within ±[`COLOUR_JITTER`] per channel.
    pub colour: [u8; 3],
    pub motion: Motion,
}

/// A class: its name (the target) and its sound and look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ObjectClass {
    pub name: &'static str,
    pub sound: &'static Sound,
    pub look: &'static Look,
}

/// Why two classes are hard to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confusion {
    /// Same look, different sound: hard for the eyes.
    LookAlike,
    /// Same sound, different look: hard for the ears.
    SoundAlike,
}

/// A declared confusable pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Confusable {
    pub a: &'static str,
    pub b: &'static str,
    pub kind: Confusion,
}

/// Largest per-channel departure of a clip's colour from its look's.
pub const COLOUR_JITTER: f32 = 24.0;

const BRIGHT_PLUCK: Sound = Sound {
    name: "bright plucked string",
    kind: SoundKind::BrightPluck,
    pitch: (196.0, 392.0),
    rate: (1.5, 3.0),
    hit: (0.4, 0.8),
    timing: Timing::Regular,
};
const DULL_PLUCK: Sound = Sound {
    name: "dull plucked string",
    kind: SoundKind::DullPluck,
    pitch: (41.0, 98.0),
    ..BRIGHT_PLUCK
};
const BARK: Sound = Sound {
    name: "bark",
    kind: SoundKind::Bark,
    pitch: (350.0, 600.0),
    rate: (1.5, 3.5),
    hit: (0.08, 0.16),
    timing: Timing::Regular,
};
const GROWL: Sound = Sound {
    name: "growl",
    kind: SoundKind::Growl,
    pitch: (70.0, 120.0),
    ..BARK
};
const KNOCK: Sound = Sound {
    name: "knocking",
    kind: SoundKind::Knock,
    pitch: (700.0, 1400.0),
    rate: (3.0, 8.0),
    hit: (0.025, 0.025),
    timing: Timing::Regular,
};
const CRACKLE: Sound = Sound {
    name: "crackling hiss",
    kind: SoundKind::Crackle,
    pitch: (1500.0, 3500.0),
    rate: (15.0, 40.0),
    hit: (0.004, 0.012),
    timing: Timing::Random,
};
const CHIRP: Sound = Sound {
    name: "chirps",
    kind: SoundKind::Chirp,
    pitch: (2000.0, 3500.0),
    rate: (3.0, 7.0),
    hit: (0.05, 0.1),
    timing: Timing::Regular,
};
const BELL: Sound = Sound {
    name: "bell",
    kind: SoundKind::Bell,
    pitch: (150.0, 330.0),
    rate: (0.8, 1.4),
    hit: (0.8, 1.4),
    timing: Timing::Regular,
};
const DRUM: Sound = Sound {
    name: "drum",
    kind: SoundKind::Drum,
    pitch: (50.0, 100.0),
    rate: (2.0, 4.5),
    hit: (0.1, 0.2),
    timing: Timing::Regular,
};
const CRY: Sound = Sound {
    name: "cry",
    kind: SoundKind::Cry,
    pitch: (350.0, 550.0),
    rate: (0.8, 1.4),
    hit: (0.4, 0.65),
    timing: Timing::Regular,
};

/// The named colours of the looks (and of the visual pretraining set, [`views`]).
pub const COLOURS: [(&str, [u8; 3]); 10] = [
    ("orange", ORANGE),
    ("brown", BROWN),
    ("black", BLACK),
    ("red", RED),
    ("blue", BLUE),
    ("yellow", YELLOW),
    ("green", GREEN),
    ("purple", PURPLE),
    ("cyan", CYAN),
    ("pink", PINK),
];
const ORANGE: [u8; 3] = [230, 130, 30];
const BROWN: [u8; 3] = [130, 80, 40];
const BLACK: [u8; 3] = [35, 35, 35];
const RED: [u8; 3] = [210, 40, 40];
const BLUE: [u8; 3] = [40, 70, 210];
const YELLOW: [u8; 3] = [230, 210, 40];
const GREEN: [u8; 3] = [50, 170, 60];
const PURPLE: [u8; 3] = [140, 60, 190];
const CYAN: [u8; 3] = [40, 180, 200];
const PINK: [u8; 3] = [230, 120, 180];

const STRINGED: Look = Look {
    name: "stringed instrument",
    shape: Shape::Ring,
    colour: ORANGE,
    motion: Motion::Vibrate,
};
const DOG: Look = Look {
    name: "dog",
    shape: Shape::Square,
    colour: BROWN,
    motion: Motion::Hop,
};
const HAMMER: Look = Look {
    name: "hammer",
    shape: Shape::Bar,
    colour: BLACK,
    motion: Motion::Swing,
};
const WOODPECKER: Look = Look {
    name: "woodpecker",
    shape: Shape::Triangle,
    colour: RED,
    motion: Motion::Peck,
};
const RAIN: Look = Look {
    name: "rain",
    shape: Shape::Drops,
    colour: BLUE,
    motion: Motion::Fall,
};
const PAN: Look = Look {
    name: "frying pan",
    shape: Shape::Circle,
    colour: YELLOW,
    motion: Motion::Flicker,
};
const BIRD: Look = Look {
    name: "bird",
    shape: Shape::Diamond,
    colour: GREEN,
    motion: Motion::Bounce,
};
const CHURCH_BELL: Look = Look {
    name: "church bell",
    shape: Shape::Cross,
    colour: PURPLE,
    motion: Motion::Sway,
};
const DRUM_KIT: Look = Look {
    name: "drum",
    shape: Shape::Hexagon,
    colour: CYAN,
    motion: Motion::Pulse,
};
const BABY: Look = Look {
    name: "baby",
    shape: Shape::Star,
    colour: PINK,
    motion: Motion::Shake,
};

/// Every class, in the order of the task file and of reports.
pub const CLASSES: [ObjectClass; 12] = [
    ObjectClass {
        name: "guitar",
        sound: &BRIGHT_PLUCK,
        look: &STRINGED,
    },
    ObjectClass {
        name: "bass guitar",
        sound: &DULL_PLUCK,
        look: &STRINGED,
    },
    ObjectClass {
        name: "dog barking",
        sound: &BARK,
        look: &DOG,
    },
    ObjectClass {
        name: "dog growling",
        sound: &GROWL,
        look: &DOG,
    },
    ObjectClass {
        name: "hammering",
        sound: &KNOCK,
        look: &HAMMER,
    },
    ObjectClass {
        name: "woodpecker",
        sound: &KNOCK,
        look: &WOODPECKER,
    },
    ObjectClass {
        name: "rain",
        sound: &CRACKLE,
        look: &RAIN,
    },
    ObjectClass {
        name: "frying food",
        sound: &CRACKLE,
        look: &PAN,
    },
    ObjectClass {
        name: "bird chirping",
        sound: &CHIRP,
        look: &BIRD,
    },
    ObjectClass {
        name: "church bell",
        sound: &BELL,
        look: &CHURCH_BELL,
    },
    ObjectClass {
        name: "drum",
        sound: &DRUM,
        look: &DRUM_KIT,
    },
    ObjectClass {
        name: "baby crying",
        sound: &CRY,
        look: &BABY,
    },
];

/// The world's ground truth of which classes are hard for which sense: the only pairs of
/// classes that share a look (eye-hard) or a sound (ear-hard).
pub const CONFUSABLE: [Confusable; 4] = [
    Confusable {
        a: "guitar",
        b: "bass guitar",
        kind: Confusion::LookAlike,
    },
    Confusable {
        a: "dog barking",
        b: "dog growling",
        kind: Confusion::LookAlike,
    },
    Confusable {
        a: "hammering",
        b: "woodpecker",
        kind: Confusion::SoundAlike,
    },
    Confusable {
        a: "rain",
        b: "frying food",
        kind: Confusion::SoundAlike,
    },
];

/// Whether `class` is the second (`b`) of a declared pair of `kind` (the one
/// [`ObjectsConfig::pair_cue`] moves).
pub fn second_of(class: &str, kind: Confusion) -> bool {
    CONFUSABLE.iter().any(|p| p.kind == kind && p.b == class)
}

/// The class named `name`.
pub fn class(name: &str) -> Option<&'static ObjectClass> {
    CLASSES.iter().find(|c| c.name == name)
}

/// The class names, in order.
pub fn class_names() -> Vec<String> {
    CLASSES.iter().map(|c| c.name.to_string()).collect()
}

/// The declared pairs of one kind, as `[a, b]` names.
pub fn pairs(kind: Confusion) -> Vec<[String; 2]> {
    CONFUSABLE
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| [p.a.to_string(), p.b.to_string()])
        .collect()
}

/// The facts of the sound a clip was made from (besides the shared rhythm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioFacts {
    pub kind: SoundKind,
    /// Characteristic frequency (Hz).
    pub pitch: f32,
    /// Peak of the sound before the noise floor.
    pub peak: f32,
    /// The recording channel: low-pass and high-pass cut-offs (Hz), when applied.
    pub lowpass: Option<f32>,
    pub highpass: Option<f32>,
    /// Noise floor (dBFS, RMS).
    pub floor_db: f32,
    /// Seed of the details (timbre, noise).
    pub seed: u64,
}

/// The facts of a clip's view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisualFacts {
    pub shape: Shape,
    pub motion: Motion,
    /// The object's colour (RGB).
    pub colour: [u8; 3],
    /// Radius of the shape (pixels).
    pub size: f32,
    /// Resting centre (pixels from the top left).
    pub centre: [f32; 2],
    /// Tilt (radians).
    pub angle: f32,
    /// Motion amplitude (a factor of the motion's full swing).
    pub amplitude: f32,
    /// Background grey with its tint (RGB), the lighting gradient (levels from top to
    /// bottom), exposure gain and pixel-noise amplitude (levels).
    pub background: [u8; 3],
    pub gradient: f32,
    pub gain: f32,
    pub grain: f32,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    /// Seed of the details (pixel noise, drop layout, flicker).
    pub seed: u64,
}

/// One clip: the class and every fact its audio and view were made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub id: String,
    pub class: String,
    /// Names of the class's [`Sound`] and [`Look`].
    pub sound: String,
    pub look: String,
    /// Clip length (s).
    pub seconds: f32,
    /// The event's rhythm, shared by sound and view: occurrences per second, length of one
    /// (s), and onsets (s).
    pub rate: f32,
    pub hit: f32,
    pub onsets: Vec<f32>,
    pub audio: AudioFacts,
    pub visual: VisualFacts,
}

/// Relative path of a clip's audio.
pub fn audio_path(split: Split, id: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("objects/{}/{id}.wav", split.name()))
}

/// Relative path of a clip's frame folder (the video).
pub fn frames_dir(split: Split, id: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("objects/{}/{id}", split.name()))
}

/// The file name of frame `k`.
pub fn frame_name(k: usize) -> String {
    format!("frame_{k:03}.png")
}

/// The clips of `split`: `per_class` per class, classes interleaved, ids
/// `obj-<split>-NNNNN` (the id does not name the class).
pub fn specs(seed: u64, cfg: &ObjectsConfig, split: Split) -> Vec<ObjectSpec> {
    let per = cfg.per_class.get(split);
    (0..per * CLASSES.len())
        .map(|i| {
            let class = &CLASSES[i % CLASSES.len()];
            let mut rng = item_rng(seed, TASK_NAME, split, i);
            ObjectSpec::draw(&mut rng, format!("obj-{}-{i:05}", split.name()), class, cfg)
        })
        .collect()
}

impl ObjectSpec {
    /// Draws a clip of `class`: the rhythm, the sound's facts and the view's facts, each from
    /// its own stream of `rng`, so that classes sharing a sound (or a look) draw those facts
    /// from one distribution whatever the other modality draws.
    pub fn draw(rng: &mut Rng, id: String, class: &ObjectClass, cfg: &ObjectsConfig) -> Self {
        let mut rhythm = Rng::new(rng.next_u64());
        let mut audio = Rng::new(rng.next_u64());
        let mut look = Rng::new(rng.next_u64());
        let s = class.sound;
        let rate = dsp::uni(&mut rhythm, s.rate.0, s.rate.1);
        let hit = dsp::uni(&mut rhythm, s.hit.0, s.hit.1);
        let onsets = draw_onsets(&mut rhythm, s.timing, rate, cfg.seconds);
        let cue = 1.0 + cfg.pair_cue;
        let mut audio = AudioFacts::draw(&mut audio, s);
        if second_of(class.name, Confusion::SoundAlike) {
            audio.pitch *= cue;
        }
        let scale = if second_of(class.name, Confusion::LookAlike) {
            cue
        } else {
            1.0
        };
        let visual = VisualFacts::draw(&mut look, class.look, scale, cfg);
        Self {
            id,
            class: class.name.to_string(),
            sound: s.name.to_string(),
            look: class.look.name.to_string(),
            seconds: cfg.seconds,
            rate,
            hit,
            onsets,
            audio,
            visual,
        }
    }

    /// The clip's audio (16 kHz mono, `seconds` long): see [`sound::render`].
    pub fn render_audio(&self) -> Vec<f32> {
        sound::render(self)
    }

    /// The clip's frames as RGB bytes (row-major, `width × height × 3` each): see
    /// [`view::render`].
    pub fn render_frames(&self) -> Vec<Vec<u8>> {
        view::render(&self.visual, &self.beat())
    }

    /// The rhythm the sound and the view share.
    pub fn beat(&self) -> view::Beat<'_> {
        view::Beat {
            seconds: self.seconds,
            rate: self.rate,
            hit: self.hit,
            onsets: &self.onsets,
        }
    }

    /// The time (s) frame `k` shows: the middle of its share of the clip.
    pub fn frame_time(&self, k: usize) -> f32 {
        self.beat().frame_time(k, self.visual.frames)
    }
}

/// Onsets over a clip of `seconds`: the first within one period of the start (at most 0.4 s
/// in), then at `rate` (regular: each period ±10 %; random: exponential gaps), none in the
/// last 50 ms.
pub(crate) fn draw_onsets(rng: &mut Rng, timing: Timing, rate: f32, seconds: f32) -> Vec<f32> {
    let end = seconds - 0.05;
    let mut out = Vec::new();
    let mut t = match timing {
        Timing::Regular => dsp::uni(rng, 0.02, (1.0 / rate).clamp(0.03, 0.4)),
        Timing::Random => exp_gap(rng, rate),
    };
    while t < end {
        out.push(t);
        t += match timing {
            Timing::Regular => dsp::uni(rng, 0.9, 1.1) / rate,
            Timing::Random => exp_gap(rng, rate),
        };
    }
    out
}

fn exp_gap(rng: &mut Rng, rate: f32) -> f32 {
    let u = (1.0 - rng.next_f64()).max(1e-12);
    (-u.ln() / rate as f64) as f32
}

impl AudioFacts {
    fn draw(rng: &mut Rng, s: &Sound) -> Self {
        let pitch = dsp::log_uni(rng, s.pitch.0, s.pitch.1);
        let peak = dsp::uni(rng, 0.25, 0.85);
        // The probes' recording channel (`probes::channel`'s rule), drawn as facts.
        let lowpass = dsp::chance(rng, 0.5).then(|| dsp::log_uni(rng, 2500.0, 7000.0));
        let highpass = dsp::chance(rng, 0.3).then(|| dsp::log_uni(rng, 60.0, 300.0));
        let floor_db = dsp::uni(rng, -65.0, -40.0);
        Self {
            kind: s.kind,
            pitch,
            peak,
            lowpass,
            highpass,
            floor_db,
            seed: rng.next_u64(),
        }
    }
}

impl VisualFacts {
    pub(crate) fn draw(rng: &mut Rng, look: &Look, scale: f32, cfg: &ObjectsConfig) -> Self {
        let (w, h) = (cfg.width as f32, cfg.height as f32);
        let colour = look.colour.map(|c| {
            (c as f32 + dsp::uni(rng, -COLOUR_JITTER, COLOUR_JITTER)).clamp(0.0, 255.0) as u8
        });
        let size = dsp::uni(rng, 0.11, 0.16) * w.min(h) * scale;
        let amplitude = dsp::uni(rng, 0.6, 1.0);
        let angle = dsp::uni(rng, -0.35, 0.35);
        let (ex, ey) = view::extent(look.motion);
        let reach = view::REACH;
        let centre = [
            place(rng, w, size * (reach + ex)),
            place(rng, h, size * (reach + ey)),
        ];
        let grey = dsp::uni(rng, 120.0, 200.0);
        let background = [0; 3].map(|_: u8| (grey + dsp::uni(rng, -15.0, 15.0)).round() as u8);
        Self {
            shape: look.shape,
            motion: look.motion,
            colour,
            size,
            centre,
            angle,
            amplitude,
            background,
            gradient: dsp::uni(rng, -25.0, 25.0),
            gain: dsp::uni(rng, 0.85, 1.15),
            grain: dsp::uni(rng, 2.0, 10.0),
            frames: cfg.frames,
            width: cfg.width,
            height: cfg.height,
            seed: rng.next_u64(),
        }
    }
}

/// A position along a side of `len` pixels keeping `margin` from both ends (the middle when
/// the side is too short).
fn place(rng: &mut Rng, len: f32, margin: f32) -> f32 {
    if len > 2.0 * margin {
        dsp::uni(rng, margin, len - margin)
    } else {
        // Still one draw, so later facts do not shift with the frame size.
        let _ = rng.next_u64();
        len / 2.0
    }
}
