//! What to generate: seed, sizes per split, clip lengths, pair building, WAV format. The
//! sample rate is fixed (16 kHz, the model's).

use data::pairs::{Templates, WavFormat};
use data::PairConfig;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The three disjoint splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// A count per split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitCounts {
    pub train: usize,
    pub valid: usize,
    pub test: usize,
}

impl SplitCounts {
    pub const fn new(train: usize, valid: usize, test: usize) -> Self {
        Self { train, valid, test }
    }

    pub fn get(&self, s: Split) -> usize {
        match s {
            Split::Train => self.train,
            Split::Valid => self.valid,
            Split::Test => self.test,
        }
    }
}

/// A named size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// For the demo pipeline: a few hundred captioned clips, a couple hundred pairs, tens of
    /// examples per probe class.
    Demo,
    /// For unit tests: a handful of everything, generated in about a second.
    Test,
    /// The sound-object set alone ([`crate::objects`]: clips with a view of the same event
    /// as frames, a multiple-choice task), no captioned clips, pairs or probes.
    Objects,
}

/// The generator's configuration. Missing keys take the demo values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    pub seed: u64,
    /// Length range (s) of captioned (AC) clips.
    pub min_seconds: f32,
    pub max_seconds: f32,
    /// Captions per AC clip (1–4): the target plus paraphrase references.
    pub captions_per_clip: usize,
    /// Captioned clips per split.
    pub ac: SplitCounts,
    /// Single-event clips per split: the events pairs add, remove and replace.
    pub events: SplitCounts,
    /// Length range (s) of single-event clips.
    pub event_min_seconds: f32,
    pub event_max_seconds: f32,
    /// Pairs per split; each gives one ACC and one ADC line.
    pub pairs: SplitCounts,
    /// Base clips of pairs are the AC clips at least this fraction covered by events (all
    /// AC clips when none is), so a mixed-in event is measured against sound, not silence.
    pub pair_min_coverage: f32,
    /// The data crate's pair builder settings (edit weights, SNR range, templates).
    pub pair_builder: PairConfig,
    /// Examples per class per split, for each of the four probes.
    pub probes: SplitCounts,
    /// Sample encoding of the written WAV files.
    pub format: WavFormat,
    /// The sound-object set ([`crate::objects`]); none unless set (the demo and test sizes
    /// have none, and their `world.json` does not name the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectsConfig>,
    /// Captioned views per split: the visual pretraining set ([`crate::objects::views`]), with
    /// the sound-object set's clip length, frames and size (its defaults when `objects` is
    /// unset); none unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<SplitCounts>,
}

/// The sound-object set: how many clips per class, their length, and their view (frames).
/// Missing keys take these defaults: 60 / 10 / 20 clips per class, 2 s, 4 frames of 56 × 56
/// (2 frames per second, the frame-folder rate the vision crate assumes), 10 options, no
/// pair cue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectsConfig {
    /// Clips per class per split.
    pub per_class: SplitCounts,
    /// Clip length (s); the frames show it at even intervals.
    pub seconds: f32,
    /// Frames per clip (a folder of PNG files).
    pub frames: usize,
    /// Frame size in pixels.
    pub width: u32,
    pub height: u32,
    /// Options per multiple-choice item (the task file's `options`).
    pub options: usize,
    /// How far the second class of each declared confusable pair departs from the first in
    /// the modality they share (see [`crate::objects`]): 0 (the default) draws both from one
    /// distribution, so that modality cannot tell them apart at all; `c > 0` makes the
    /// second class's shape `1 + c` times larger (look-alike pairs) or its pitch `1 + c` times
    /// higher (sound-alike pairs): a cue that is there but subtle.
    pub pair_cue: f32,
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        Self {
            per_class: SplitCounts::new(60, 10, 20),
            seconds: 2.0,
            frames: 4,
            width: 56,
            height: 56,
            options: 10,
            pair_cue: 0.0,
        }
    }
}

impl ObjectsConfig {
    /// Frames per second of the view (`frames / seconds`).
    pub fn fps(&self) -> f32 {
        self.frames as f32 / self.seconds
    }

    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.seconds.is_finite() && (0.5..=30.0).contains(&self.seconds)) {
            return Err(Error::config(
                "objects.seconds",
                format!("need 0.5 to 30 s, got {}", self.seconds),
            ));
        }
        if !(1..=64).contains(&self.frames) {
            return Err(Error::config("objects.frames", "must be 1 to 64"));
        }
        for (field, v) in [
            ("objects.width", self.width),
            ("objects.height", self.height),
        ] {
            if !(16..=1024).contains(&v) {
                return Err(Error::config(
                    field,
                    format!("need 16 to 1024 pixels, got {v}"),
                ));
            }
        }
        if !(self.pair_cue.is_finite() && (0.0..=1.0).contains(&self.pair_cue)) {
            return Err(Error::config(
                "objects.pair_cue",
                format!("need 0 to 1, got {}", self.pair_cue),
            ));
        }
        let classes = crate::objects::CLASSES.len();
        if !(2..=classes).contains(&self.options) {
            return Err(Error::config(
                "objects.options",
                format!(
                    "need 2 to {classes} (the class count), got {}",
                    self.options
                ),
            ));
        }
        Ok(())
    }
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self::sized(Size::Demo)
    }
}

/// The pair builder's default, with our attribute words added to the words trimmed from the
/// end of a replace edit's common phrase (so "…, with a high" becomes "…").
pub fn default_pair_builder() -> PairConfig {
    let mut templates = Templates::default();
    for w in ["low", "high", "rising", "falling", "quiet", "loud"] {
        templates.trim_end.push(w.to_string());
    }
    PairConfig {
        templates,
        ..PairConfig::default()
    }
}

impl WorldConfig {
    /// The configuration of a named size (seed 0).
    pub fn sized(size: Size) -> Self {
        let zero = SplitCounts::new(0, 0, 0);
        let (ac, events, pairs, probes) = match size {
            Size::Demo => (
                SplitCounts::new(200, 25, 50),
                SplitCounts::new(40, 12, 12),
                SplitCounts::new(200, 20, 40),
                SplitCounts::new(24, 6, 20),
            ),
            Size::Test => (
                SplitCounts::new(6, 3, 3),
                SplitCounts::new(6, 3, 3),
                SplitCounts::new(4, 2, 2),
                SplitCounts::new(1, 1, 1),
            ),
            Size::Objects => (zero, zero, zero, zero),
        };
        Self {
            seed: 0,
            min_seconds: 1.0,
            max_seconds: 5.0,
            captions_per_clip: 4,
            ac,
            events,
            event_min_seconds: 0.8,
            event_max_seconds: 2.0,
            pairs,
            pair_min_coverage: 0.9,
            pair_builder: default_pair_builder(),
            probes,
            format: WavFormat::Pcm16,
            objects: (size == Size::Objects).then(ObjectsConfig::default),
            views: None,
        }
    }

    /// Whether the world has captioned clips, event clips or pairs (any count above zero).
    pub fn has_captions(&self) -> bool {
        [self.ac, self.events, self.pairs]
            .iter()
            .any(|c| Split::ALL.iter().any(|&s| c.get(s) > 0))
    }

    /// Whether the world has the four probes (a count above zero).
    pub fn has_probes(&self) -> bool {
        Split::ALL.iter().any(|&s| self.probes.get(s) > 0)
    }

    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let range = |field: &str, lo: f32, hi: f32| -> Result<()> {
            if !(lo.is_finite() && hi.is_finite() && lo >= 0.5 && lo <= hi && hi <= 30.0) {
                return Err(Error::config(
                    field,
                    format!("need 0.5 <= min <= max <= 30 s, got {lo}..{hi}"),
                ));
            }
            Ok(())
        };
        range(
            "min_seconds/max_seconds",
            self.min_seconds,
            self.max_seconds,
        )?;
        range(
            "event_min_seconds/event_max_seconds",
            self.event_min_seconds,
            self.event_max_seconds,
        )?;
        if !(1..=4).contains(&self.captions_per_clip) {
            return Err(Error::config("captions_per_clip", "must be 1 to 4"));
        }
        if !(0.0..=1.0).contains(&self.pair_min_coverage) {
            return Err(Error::config("pair_min_coverage", "must be in [0, 1]"));
        }
        for s in Split::ALL {
            if self.pairs.get(s) > 0 && (self.ac.get(s) == 0 || self.events.get(s) < 2) {
                return Err(Error::config(
                    &format!("pairs.{}", s.name()),
                    "pairs need at least one AC clip and two event clips in the same split",
                ));
            }
        }
        if let Some(o) = &self.objects {
            o.validate()?;
        }
        Ok(())
    }
}
