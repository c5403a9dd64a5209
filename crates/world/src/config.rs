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
        }
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
        Ok(())
    }
}
