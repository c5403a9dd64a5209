//! The forgetting report: did finetuning improve captioning, and what did it cost on general
//! skills? Rows: the base model, then each finetuned model; columns: every captioning metric
//! of every captioning set, then every classification task's accuracy; every finetuned value
//! with its change against the base.
//!
//! Files ([`write_report`]): `report.md` (table, values ×100), `report.json` (a [`Report`],
//! raw fractions) and `report.png` (grouped bars of the changes, ×100, one colour per model).
//!
//! A column is shown when at least one row has a value for it; columns no row has (METEOR
//! without Java, say) are listed under `omitted`. A missing value is `null` / "n/a", and so is
//! its change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use data::classify::BUILTIN_TASKS;
use serde::{Deserialize, Serialize};

use crate::caption::metric_title;
use crate::common::ModelId;
use crate::error::Result;
use crate::io::{write_atomic, write_json};
use crate::result::EvalResult;
use crate::score::CAPTION_METRICS;

/// One column of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportColumn {
    /// `captioning/<set>/<metric>` or `classification/<task>/accuracy`.
    pub key: String,
    /// Display title, e.g. `audiocaps CIDEr-D`, `vsc acc`.
    pub title: String,
}

/// One model's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRow {
    pub name: String,
    pub model: Option<ModelId>,
    /// One per column (fractions; `null` when absent).
    pub values: Vec<Option<f64>>,
    /// value − base value, one per column (`null` for the base row or when either is absent).
    pub deltas: Vec<Option<f64>>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub columns: Vec<ReportColumn>,
    /// The base first, then the finetuned models in the order given.
    pub rows: Vec<ReportRow>,
    /// Keys of columns no row has a value for.
    pub omitted: Vec<String>,
}

fn value(r: &EvalResult, key: &str) -> Option<f64> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["captioning", set, metric] => r.captioning.get(*set).and_then(|e| e.metrics.get(metric)),
        ["classification", task, "accuracy"] => r.classification.get(*task).map(|e| e.accuracy),
        _ => None,
    }
}

/// Builds the table of `base` and `runs`. Row names are made unique (`name#2`, …).
pub fn build_report(base: &EvalResult, runs: &[EvalResult]) -> Report {
    let all: Vec<&EvalResult> = std::iter::once(base).chain(runs).collect();
    let sets: BTreeSet<&String> = all.iter().flat_map(|r| r.captioning.keys()).collect();
    let tasks: BTreeSet<&String> = all.iter().flat_map(|r| r.classification.keys()).collect();
    let mut candidates: Vec<ReportColumn> = Vec::new();
    for set in &sets {
        for m in CAPTION_METRICS {
            candidates.push(ReportColumn {
                key: format!("captioning/{set}/{m}"),
                title: format!("{set} {}", metric_title(m)),
            });
        }
    }
    let mut task_order: Vec<&String> = BUILTIN_TASKS
        .iter()
        .filter_map(|b| tasks.iter().copied().find(|t| t.as_str() == *b))
        .collect();
    task_order.extend(
        tasks
            .iter()
            .copied()
            .filter(|t| !BUILTIN_TASKS.contains(&t.as_str())),
    );
    for t in task_order {
        candidates.push(ReportColumn {
            key: format!("classification/{t}/accuracy"),
            title: format!("{t} acc"),
        });
    }
    let (columns, omitted): (Vec<ReportColumn>, Vec<ReportColumn>) = candidates
        .into_iter()
        .partition(|c| all.iter().any(|r| value(r, &c.key).is_some()));
    let base_values: Vec<Option<f64>> = columns.iter().map(|c| value(base, &c.key)).collect();
    let mut names: Vec<String> = Vec::new();
    let rows = all
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut name = r.name.clone();
            let mut k = 1;
            while names.contains(&name) {
                k += 1;
                name = format!("{}#{k}", r.name);
            }
            names.push(name.clone());
            let values: Vec<Option<f64>> = columns.iter().map(|c| value(r, &c.key)).collect();
            let deltas = values
                .iter()
                .zip(&base_values)
                .map(|(v, b)| match (i, v, b) {
                    (0, _, _) => None,
                    (_, Some(v), Some(b)) => Some(v - b),
                    _ => None,
                })
                .collect();
            ReportRow {
                name,
                model: r.model.clone(),
                values,
                deltas,
            }
        })
        .collect();
    Report {
        columns,
        rows,
        omitted: omitted.into_iter().map(|c| c.key).collect(),
    }
}

impl Report {
    /// Keeps only the captioning columns of these metrics (names as in the result files:
    /// `bleu_4`, `meteor`, `rouge_l`, `cider_d`, …); classification columns stay. The result
    /// files keep every metric; this only narrows the table.
    pub fn with_caption_metrics(mut self, keep: &[String]) -> Self {
        let wanted = |key: &str| match key.split('/').collect::<Vec<_>>().as_slice() {
            ["captioning", _, metric] => keep.iter().any(|k| k == metric),
            _ => true,
        };
        let idx: Vec<usize> = (0..self.columns.len())
            .filter(|&i| wanted(&self.columns[i].key))
            .collect();
        let pick = |v: &[Option<f64>]| idx.iter().map(|&i| v[i]).collect();
        for row in &mut self.rows {
            row.values = pick(&row.values);
            row.deltas = pick(&row.deltas);
        }
        self.columns = idx.iter().map(|&i| self.columns[i].clone()).collect();
        self.omitted.retain(|k| wanted(k));
        self
    }
}

/// Loads the result files and builds the report.
pub fn report_files(base: &Path, runs: &[PathBuf]) -> Result<Report> {
    let base = EvalResult::load(base)?;
    let runs = runs
        .iter()
        .map(|p| EvalResult::load(p))
        .collect::<Result<Vec<_>>>()?;
    Ok(build_report(&base, &runs))
}

/// `report.md`: values ×100, changes against the base in parentheses.
pub fn report_markdown(r: &Report, title: &str) -> String {
    let base = r.rows.first().map_or("", |b| b.name.as_str());
    let mut md = format!(
        "# {title}\n\nValues ×100; in parentheses, the change against the base `{base}`.\n\n| model |"
    );
    for c in &r.columns {
        md.push_str(&format!(" {} |", c.title));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(r.columns.len()));
    md.push('\n');
    for row in &r.rows {
        md.push_str(&format!("| {} |", row.name));
        for (v, d) in row.values.iter().zip(&row.deltas) {
            let cell = match (v, d) {
                (None, _) => "n/a".to_string(),
                (Some(v), None) => format!("{:.2}", 100.0 * v),
                (Some(v), Some(d)) => format!("{:.2} ({:+.2})", 100.0 * v, 100.0 * d),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    md.push('\n');
    for row in &r.rows {
        if let Some(m) = &row.model {
            md.push_str(&format!("- `{}`: {m}\n", row.name));
        }
    }
    if !r.omitted.is_empty() {
        md.push_str(&format!(
            "\nNot computed for any model (omitted): {}\n",
            r.omitted.join(", ")
        ));
    }
    md
}

/// Writes `report.md`, `report.json` and `report.png` into `dir` (created if needed).
pub fn write_report(dir: &Path, report: &Report, title: &str) -> Result<()> {
    write_json(&dir.join("report.json"), report)?;
    write_atomic(
        &dir.join("report.md"),
        report_markdown(report, title).as_bytes(),
    )?;
    crate::chart::plot_deltas(&dir.join("report.png"), report, title)
}
