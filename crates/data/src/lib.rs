//! Training and evaluation samples from disk: manifests, dataset conversion, the ACC paper's
//! pair building, task mixtures, and a cache of mel features.
//!
//! It knows nothing of tensors and nothing of tokenizers: samples are paths, prompts and
//! captions; features are the `audio` crate's plain `Vec<f32>`s.
//!
//! * [`manifest`]: JSONL manifests (native and ms-swift / LLaMA-Factory forms) → [`Sample`]s
//!   (audio clips, images, videos, prompt, target).
//! * [`convert`]: AudioCaps and Clotho caption CSVs → native AC lines.
//! * [`pairs`]: (before, after) pairs by add / remove / replace edits with ADC and ACC targets.
//! * [`choice`]: multiple-choice recognition tasks (seeded, balanced lettered options),
//!   teacher files over their options and difficulty files (cross-modal distillation).
//! * [`vggsound`]: VGGSound-style clip lists (YouTube id, start, label, split) → one
//!   multiple-choice manifest per split over local files, and the task file.
//! * [`mixture`]: a seeded, resumable sampler over several task datasets.
//! * [`cache`]: an on-disk mel-feature cache.
//!
//! Randomness (pair building, mixtures) comes from the `rng` crate's seeded, serialisable
//! [`rng::Rng`].

pub mod cache;
pub mod choice;
pub mod classify;
pub mod convert;
pub mod error;
pub mod fsutil;
pub mod manifest;
pub mod mixture;
pub mod pairs;
pub mod task;
pub mod vggsound;

pub use cache::{CacheStats, FeatureCache};
pub use error::{Error, Location, Result};
pub use manifest::{
    read_manifest, read_manifest_with, write_manifest, NativeLine, OnBad, ReadOptions, Sample,
    Skipped,
};
pub use mixture::{Draw, MixtureSampler, MixtureState, TaskSource};
pub use pairs::{plan_pairs, render_pair, Clip, Edit, EditKind, PairConfig, PairPlan};
pub use task::{MediaCounts, MediaKind, PromptPart, Prompts, Task};
