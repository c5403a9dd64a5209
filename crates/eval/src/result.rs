//! The combined eval result of one model: every captioning set and every classification task
//! it was evaluated on, in one JSON file that `eval report` reads.
//!
//! Schema (`format` = [`RESULT_FORMAT`]; unknown fields are errors):
//!
//! ```json
//! {
//!   "format": "audio-lm-eval-result/1",
//!   "name": "acc",
//!   "model": {"model": "Qwen/Qwen2-Audio-7B-Instruct", "adapter": "runs/acc/adapter"},
//!   "captioning": {
//!     "audiocaps": {
//!       "source": "data/audiocaps/test.jsonl", "clips": 975, "empty_predictions": 0,
//!       "metrics": {"bleu_1": 0.71, "bleu_2": 0.55, "bleu_3": 0.42, "bleu_4": 0.31,
//!                   "meteor": 0.24, "rouge_l": 0.50, "cider_d": 0.78,
//!                   "spice": null, "spider": null},
//!       "not_computed": {"spice": "…reason…", "spider": "needs SPICE"}
//!     }
//!   },
//!   "classification": {
//!     "vsc": {"source": "data/vocalsound/test.jsonl", "samples": 3594, "accuracy": 0.9361,
//!             "macro_f1": 0.9355, "unmatched": 0, "scoring": "likelihood", "select": "sum"}
//!   }
//! }
//! ```
//!
//! Since the bootstrap, an entry may also hold (both optional, so older files still read):
//! * `bootstrap`: the intervals computed when the set was evaluated (a
//!   [`crate::common::Intervals`]: `{"resamples", "seed", "confidence", "intervals":
//!   {"cider_d": [low, high], …}, "not_computed"?}`);
//! * `items`: what `eval report` resamples, matched by id between a model and its base: per
//!   clip `{"id", "prediction", "references", "scores"}` (PTB-tokenised texts and the clip's
//!   ROUGE-L / SPICE, [`crate::score::CaptionItem`]); per sample `{"id", "correct"}`
//!   ([`crate::classify_report::ClassItem`]).
//!
//! A finetuned model's result may also name its training seed (`"train_seed": 43`, optional):
//! `eval report` pools the results of one name and several seeds into one row.
//!
//! Metric values are fractions (not percentages); `null` means not computed, with the reason
//! in `not_computed`. `model` is `null` for results of scored files. Captioning sets are keyed
//! by a dataset name (default: the manifest's file stem), classification by the task name.
//! `eval caption … --result FILE` and `eval classify … --result FILE` create the file or add
//! their entry to it (replacing an entry of the same name); a file holds one model's results.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::caption::CaptionSummary;
use crate::classify::{Scoring, Select};
use crate::classify_report::{ClassItem, ClassifySummary};
use crate::common::{Intervals, ModelId};
use crate::error::{Error, Result};
use crate::io::{read_json, write_json};
use crate::score::{CaptionItem, CaptionMetrics};

/// The value of `format`.
pub const RESULT_FORMAT: &str = "audio-lm-eval-result/1";

/// One captioning set's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionEntry {
    pub source: String,
    pub clips: usize,
    pub empty_predictions: usize,
    pub metrics: CaptionMetrics,
    pub not_computed: BTreeMap<String, String>,
    /// The metrics' confidence intervals when evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Intervals>,
    /// Every clip's data for the bootstrap (in evaluation order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<CaptionItem>,
}

/// One classification task's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyEntry {
    pub source: String,
    pub samples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub unmatched: usize,
    pub scoring: Scoring,
    #[serde(default)]
    pub select: Option<Select>,
    /// The accuracy's confidence interval when evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Intervals>,
    /// Every sample's outcome for the bootstrap (in evaluation order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ClassItem>,
}

/// Everything one model was evaluated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalResult {
    pub format: String,
    /// Row name in reports.
    pub name: String,
    pub model: Option<ModelId>,
    /// The training seed of the model, when it is one of several seeds of one recipe (the
    /// trainer writes it; `eval caption|classify --train-seed`). `eval report` pools the
    /// results that share a name and differ in this seed into one row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_seed: Option<u64>,
    #[serde(default)]
    pub captioning: BTreeMap<String, CaptionEntry>,
    #[serde(default)]
    pub classification: BTreeMap<String, ClassifyEntry>,
}

impl EvalResult {
    /// An empty result.
    pub fn new(name: &str, model: Option<ModelId>) -> Self {
        Self {
            format: RESULT_FORMAT.into(),
            name: name.into(),
            model,
            train_seed: None,
            captioning: BTreeMap::new(),
            classification: BTreeMap::new(),
        }
    }

    /// Reads a result file, checking its format.
    pub fn load(path: &Path) -> Result<Self> {
        let r: Self = read_json(path)?;
        if r.format != RESULT_FORMAT {
            return Err(Error::file(
                path,
                format!("format `{}`, expected `{RESULT_FORMAT}`", r.format),
            ));
        }
        Ok(r)
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }

    /// Adds (or replaces) captioning set `dataset`.
    pub fn add_caption(&mut self, dataset: &str, s: &CaptionSummary) {
        self.captioning.insert(
            dataset.to_string(),
            CaptionEntry {
                source: s.source.clone(),
                clips: s.clips,
                empty_predictions: s.empty_predictions.len(),
                metrics: s.metrics,
                not_computed: s.not_computed.clone(),
                bootstrap: s.bootstrap.clone(),
                items: s.items.clone(),
            },
        );
    }

    /// Adds (or replaces) the task's entry.
    pub fn add_classify(&mut self, s: &ClassifySummary) {
        self.classification.insert(
            s.task.clone(),
            ClassifyEntry {
                source: s.source.clone(),
                samples: s.samples,
                accuracy: s.accuracy,
                macro_f1: s.macro_f1,
                unmatched: s.unmatched.len(),
                scoring: s.scoring,
                select: s.select,
                bootstrap: s.bootstrap.clone(),
                items: s.items.clone(),
            },
        );
    }
}

/// Loads `path` (or starts a new result named `name`, default the model's short name), lets
/// `add` put its entry in, and saves. Refuses a file that holds another model's results, or
/// the results of another training seed.
pub fn update_result_file(
    path: &Path,
    name: Option<&str>,
    train_seed: Option<u64>,
    model: Option<&ModelId>,
    add: impl FnOnce(&mut EvalResult),
) -> Result<EvalResult> {
    let mut r = if path.exists() {
        let r = EvalResult::load(path)?;
        if let (Some(have), Some(new)) = (&r.model, model) {
            if have != new {
                return Err(Error::file(
                    path,
                    format!("holds the results of {have}, not of {new}: use another result file"),
                ));
            }
        }
        r
    } else {
        let default = model.map_or_else(|| "run".to_string(), ModelId::short_name);
        EvalResult::new(name.unwrap_or(&default), model.cloned())
    };
    if let (Some(have), Some(new)) = (r.train_seed, train_seed) {
        if have != new {
            return Err(Error::file(
                path,
                format!(
                    "holds the results of training seed {have}, not {new}: use another result file"
                ),
            ));
        }
    }
    if let Some(n) = name {
        r.name = n.to_string();
    }
    if train_seed.is_some() {
        r.train_seed = train_seed;
    }
    if r.model.is_none() {
        r.model = model.cloned();
    }
    add(&mut r);
    r.save(path)?;
    Ok(r)
}
