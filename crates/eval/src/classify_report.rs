//! What a classification run produces, and its files ([`write_classify_outputs`]):
//! * `predictions.jsonl`: one [`ClassRecord`] per sample: `{"id", "source", "target",
//!   "predicted" (null when unmatched), "correct", "answer"?, "matched_by"?, "scores"?}`
//!   (`answer` and `matched_by` in generate mode; `scores`, one `{"label", "sum", "mean",
//!   "tokens"}` per label, in likelihood mode);
//! * `summary.json`: a [`ClassifySummary`] (accuracy with its bootstrap interval, macro_f1,
//!   per_class, confusion, unmatched, skipped);
//! * `summary.md`: the same as tables.

use std::path::Path;

use data::classify::{ClassTask, MatchKind};
use metrics::bootstrap::{interval, Mean};
use metrics::classification::classification_scores;
use serde::{Deserialize, Serialize};

use crate::classify::{ClassifyOptions, Scoring, Select};
use crate::common::{Intervals, ModelId, SkippedLine};
use crate::error::{Error, Result};
use crate::io::{write_atomic, write_json, write_jsonl};

/// A label's likelihood as the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelScore {
    pub label: String,
    /// Summed log-probability of `label + "<|im_end|>"`'s tokens.
    pub sum: f64,
    /// Mean log-probability per token.
    pub mean: f64,
    pub tokens: usize,
}

/// One sample's line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRecord {
    pub id: String,
    /// `file:line` of the manifest line.
    pub source: String,
    pub target: String,
    /// `None`: the free answer matched no label.
    pub predicted: Option<String>,
    pub correct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<LabelScore>>,
}

/// Scores of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerClass {
    pub label: String,
    pub support: usize,
    pub correct: usize,
    /// Per-class accuracy (= recall).
    pub accuracy: f64,
    pub precision: f64,
    pub f1: f64,
}

/// `matrix[t][p]`: samples of `rows[t]` predicted as `columns[p]`; the last column is
/// `unmatched`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confusion {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub matrix: Vec<Vec<usize>>,
}

/// A free answer that mapped to no label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmatched {
    pub id: String,
    pub source: String,
    pub target: String,
    pub answer: String,
}

/// One sample's outcome, as the bootstrap needs it (kept in result files so that
/// `eval report` can resample a model and its base on the same samples).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassItem {
    /// The sample's id (paired comparisons match samples by it).
    pub id: String,
    pub correct: bool,
}

/// The accuracy's percentile-bootstrap interval over `items` (`None` when the bootstrap is
/// off): the mean of the resampled samples' 0/1 correctness.
pub fn accuracy_interval(
    items: &[ClassItem],
    opts: &crate::common::BootstrapOptions,
) -> Result<Option<Intervals>> {
    opts.validate()?;
    if !opts.enabled() || items.is_empty() {
        return Ok(None);
    }
    let correct: Vec<f64> = items
        .iter()
        .map(|i| f64::from(u8::from(i.correct)))
        .collect();
    let i = interval(&Mean(&correct), opts)?;
    let mut out = Intervals::new(opts);
    out.intervals.insert("accuracy".into(), [i.low, i.high]);
    Ok(Some(out))
}

/// `summary.json` of a classification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifySummary {
    #[serde(default)]
    pub model: Option<ModelId>,
    pub task: String,
    pub labels: Vec<String>,
    /// The default prompt (lines may carry their own).
    pub prompt: String,
    /// The manifest evaluated.
    pub source: String,
    pub scoring: Scoring,
    /// Likelihood mode only.
    #[serde(default)]
    pub select: Option<Select>,
    pub samples: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Labels averaged in `macro_f1` (those occurring as a target or a prediction).
    pub macro_labels: usize,
    pub per_class: Vec<PerClass>,
    pub confusion: Confusion,
    pub unmatched: Vec<Unmatched>,
    pub skipped: Vec<SkippedLine>,
    pub truncated_audio: Vec<String>,
    /// The accuracy's confidence interval (absent when the bootstrap was off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Intervals>,
    /// Every sample's outcome for the bootstrap, which the result file keeps
    /// ([`crate::result::EvalResult::add_classify`]); not written to `summary.json`.
    #[serde(skip)]
    pub items: Vec<ClassItem>,
}

/// A whole classification run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyReport {
    pub summary: ClassifySummary,
    pub records: Vec<ClassRecord>,
}

/// Scores the records and builds the report.
pub(crate) fn summarise(
    task: &ClassTask,
    records: Vec<ClassRecord>,
    skipped: Vec<SkippedLine>,
    truncated_audio: Vec<String>,
    source: &str,
    opts: &ClassifyOptions,
) -> Result<ClassifyReport> {
    let index = |l: &str| task.labels.iter().position(|x| x == l);
    let pairs: Vec<(usize, Option<usize>)> = records
        .iter()
        .map(|r| {
            (
                index(&r.target).unwrap_or(0),
                r.predicted.as_deref().and_then(index),
            )
        })
        .collect();
    let s = classification_scores(task.labels.len(), &pairs)
        .map_err(|e| Error::Invalid(format!("{source}: {e} (no sample left to classify)")))?;
    let per_class = task
        .labels
        .iter()
        .zip(&s.per_class)
        .map(|(label, c)| PerClass {
            label: label.clone(),
            support: c.support,
            correct: c.correct,
            accuracy: c.recall,
            precision: c.precision,
            f1: c.f1,
        })
        .collect();
    let mut columns = task.labels.clone();
    columns.push("unmatched".into());
    let unmatched = records
        .iter()
        .filter(|r| r.matched_by == Some(MatchKind::Unmatched))
        .map(|r| Unmatched {
            id: r.id.clone(),
            source: r.source.clone(),
            target: r.target.clone(),
            answer: r.answer.clone().unwrap_or_default(),
        })
        .collect();
    let items: Vec<ClassItem> = records
        .iter()
        .map(|r| ClassItem {
            id: r.id.clone(),
            correct: r.correct,
        })
        .collect();
    let bootstrap = accuracy_interval(&items, &opts.bootstrap)?;
    let summary = ClassifySummary {
        model: opts.model_id.clone(),
        task: task.name.clone(),
        labels: task.labels.clone(),
        prompt: task.rendered_prompt(),
        source: source.to_string(),
        scoring: opts.scoring,
        select: (opts.scoring == Scoring::Likelihood).then_some(opts.select),
        samples: s.samples,
        correct: s.correct,
        accuracy: s.accuracy,
        macro_f1: s.macro_f1,
        macro_labels: s.macro_labels,
        per_class,
        confusion: Confusion {
            rows: task.labels.clone(),
            columns,
            matrix: s.confusion,
        },
        unmatched,
        skipped,
        truncated_audio,
        bootstrap,
        items,
    };
    Ok(ClassifyReport { summary, records })
}

fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

/// `summary.md`: headline scores, per-class table, confusion matrix, unmatched answers.
pub fn classify_markdown(s: &ClassifySummary) -> String {
    let mode = match (s.scoring, s.select) {
        (Scoring::Likelihood, Some(Select::Mean)) => "label likelihood (mean log-prob per token)",
        (Scoring::Likelihood, _) => "label likelihood (summed log-prob)",
        (Scoring::Generate, _) => "generate, then map the answer to a label",
    };
    let mut md = format!("# Classification `{}`: {}\n\n", s.task, s.source);
    if let Some(m) = &s.model {
        md.push_str(&format!("Model: {m}\n\n"));
    }
    md.push_str(&format!("Scoring: {mode}\n\nPrompt: {}\n\n", s.prompt));
    let interval = s.bootstrap.as_ref().and_then(|b| b.get("accuracy"));
    if let Some(b) = &s.bootstrap {
        md.push_str(&format!(
            "Accuracy in brackets: the {}.\n\n",
            b.describe("samples")
        ));
    }
    let accuracy = match interval {
        Some([lo, hi]) => format!("{} [{}, {}]", pct(s.accuracy), pct(lo), pct(hi)),
        None => pct(s.accuracy),
    };
    md.push_str(&format!(
        "| samples | accuracy % | macro-F1 % | unmatched | skipped lines |\n|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} |\n\n",
        s.samples,
        accuracy,
        pct(s.macro_f1),
        s.unmatched.len(),
        s.skipped.len()
    ));
    md.push_str("## Per class\n\n| label | support | accuracy % | precision % | F1 % |\n|---|---|---|---|---|\n");
    for c in &s.per_class {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.label,
            c.support,
            pct(c.accuracy),
            pct(c.precision),
            pct(c.f1)
        ));
    }
    md.push_str("\n## Confusion (rows: target, columns: prediction)\n\n| |");
    for c in &s.confusion.columns {
        md.push_str(&format!(" {c} |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(s.confusion.columns.len()));
    md.push('\n');
    for (r, row) in s.confusion.rows.iter().zip(&s.confusion.matrix) {
        md.push_str(&format!("| {r} |"));
        for v in row {
            md.push_str(&format!(" {v} |"));
        }
        md.push('\n');
    }
    if !s.unmatched.is_empty() {
        md.push_str("\n## Unmatched answers\n\n");
        for u in &s.unmatched {
            md.push_str(&format!(
                "- {} (target {}): {:?}\n",
                u.source, u.target, u.answer
            ));
        }
    }
    if !s.skipped.is_empty() {
        md.push_str("\n## Skipped lines\n\n");
        for k in &s.skipped {
            md.push_str(&format!("- {}: {}\n", k.location, k.reason));
        }
    }
    md
}

/// Writes `predictions.jsonl`, `summary.json` and `summary.md` into `dir` (created if needed).
pub fn write_classify_outputs(dir: &Path, report: &ClassifyReport) -> Result<()> {
    write_jsonl(&dir.join("predictions.jsonl"), &report.records)?;
    write_json(&dir.join("summary.json"), &report.summary)?;
    write_atomic(
        &dir.join("summary.md"),
        classify_markdown(&report.summary).as_bytes(),
    )
}
