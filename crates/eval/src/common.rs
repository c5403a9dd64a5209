//! Small types shared by the caption, classification and result modules.

use std::collections::BTreeMap;

pub use metrics::bootstrap::BootstrapOptions;
use serde::{Deserialize, Serialize};

/// Percentile-bootstrap confidence intervals of a summary's scores
/// ([`metrics::bootstrap`]), with the settings that drew them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervals {
    /// Resamples of the items (clips, samples), drawn with replacement.
    pub resamples: usize,
    pub seed: u64,
    /// The intervals' level, e.g. 0.95.
    pub confidence: f64,
    /// Metric → `[low, high]` (fractions, like the values).
    pub intervals: BTreeMap<String, [f64; 2]>,
    /// Metric → why it has no interval.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_computed: BTreeMap<String, String>,
}

impl Intervals {
    /// No interval yet, with `opts`' settings.
    pub fn new(opts: &BootstrapOptions) -> Self {
        Self {
            resamples: opts.resamples,
            seed: opts.seed,
            confidence: opts.confidence,
            intervals: BTreeMap::new(),
            not_computed: BTreeMap::new(),
        }
    }

    /// The interval of `metric`.
    pub fn get(&self, metric: &str) -> Option<[f64; 2]> {
        self.intervals.get(metric).copied()
    }

    /// `"95% interval, percentile bootstrap over <what> (1000 resamples, seed 0)"`.
    pub fn describe(&self, what: &str) -> String {
        format!(
            "{}% interval, percentile bootstrap over {what} ({} resamples, seed {})",
            percent(self.confidence),
            self.resamples,
            self.seed
        )
    }
}

/// `0.95` → `"95"`, `0.975` → `"97.5"`.
pub(crate) fn percent(confidence: f64) -> String {
    let p = format!("{:.4}", 100.0 * confidence);
    p.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Which model produced a result: the checkpoint (directory or hub id) and the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelId {
    pub model: String,
    #[serde(default)]
    pub adapter: Option<String>,
}

impl ModelId {
    /// A short display name: the adapter directory's name (its parent's when it is just
    /// `adapter`, as in `runs/acc/adapter`), else the model's last path part.
    pub fn short_name(&self) -> String {
        let parts = |s: &str| -> Vec<String> {
            s.split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        match &self.adapter {
            Some(a) => {
                let p = parts(a);
                match p.as_slice() {
                    [.., parent, last] if last == "adapter" => parent.clone(),
                    [.., last] => last.clone(),
                    [] => a.clone(),
                }
            }
            None => parts(&self.model)
                .pop()
                .unwrap_or_else(|| self.model.clone()),
        }
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.adapter {
            Some(a) => write!(f, "{} + adapter {}", self.model, a),
            None => f.write_str(&self.model),
        }
    }
}

/// An input line left out (under `on_bad = skip`), with the full reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedLine {
    /// `file:line`.
    pub location: String,
    pub reason: String,
}

impl From<data::Skipped> for SkippedLine {
    fn from(s: data::Skipped) -> Self {
        Self {
            location: s.location.to_string(),
            reason: s.reason,
        }
    }
}

/// What to do with an empty prediction (blank, or nothing left after tokenisation is fine).
///
/// Read from configs (serde: `"error"`, `"count"`) and command lines (clap). The first
/// paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnEmpty {
    /// An empty prediction is an error naming its line.
    #[default]
    Error,
    /// Score empty predictions as they are and list them in the summary.
    ///
    /// Every metric gives an empty prediction 0.
    Count,
}

/// Progress lines on stderr every `every` items (0: silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub every: usize,
}

impl Progress {
    pub(crate) fn tick(&self, what: &str, done: usize, total: usize) {
        if self.every > 0 && (done.checked_rem(self.every) == Some(0) || done == total) {
            eprintln!("{what}: {done}/{total}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        let m = ModelId {
            model: "Qwen/Qwen2-Audio-7B-Instruct".into(),
            adapter: None,
        };
        assert_eq!(m.short_name(), "Qwen2-Audio-7B-Instruct");
        let m = ModelId {
            adapter: Some("runs/acc/adapter/".into()),
            ..m
        };
        assert_eq!(m.short_name(), "acc");
    }
}
