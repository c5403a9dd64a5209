//! `eval score`: scoring captions that already exist, without a model.
//!
//! * Predictions: JSONL, one `{"id": …, "prediction": "…"}` per clip (ids are strings or
//!   integers). A `predictions.jsonl` written by `eval caption` is accepted as it is (its
//!   `source`, `references` and `scores` fields are allowed; old scores are ignored).
//! * References: a manifest (native or ms-swift form, [`data::manifest`]); a clip's
//!   references are its `target` then its `references`. Without a references file, every
//!   prediction line must carry its own `references`; with one, the file's references are
//!   used and any on the prediction lines are ignored.
//!
//! Bad input is an error naming the file and line: an unparsable line, a duplicate id, a
//! prediction without references, references without a prediction, an empty prediction (unless
//! `on_empty = count`), an empty reference. Under `on_unmatched = skip`, predictions and
//! references whose id has no partner are left out and listed instead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use data::manifest::{read_manifest_with, ReadOptions};
use data::task::Task;
use data::OnBad;
use serde::Deserialize;

use crate::caption::{score_unscored, CaptionReport, CaptionSummary, Unscored};
use crate::common::{BootstrapOptions, OnEmpty, SkippedLine};
use crate::error::{Error, Result};
use crate::io::read_jsonl;
use crate::java::JavaConfig;
use crate::score::CaptionMetrics;

/// A clip id as written: a string or an integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Int(i64),
}

/// One line of a predictions file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictionLine {
    id: IdValue,
    prediction: String,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    scores: Option<serde_json::Value>,
}

/// Options of [`score_files`].
#[derive(Debug, Clone, Default)]
pub struct ScoreOptions {
    pub on_empty: OnEmpty,
    /// Ids on one side only: error (default) or leave out and list.
    pub on_unmatched: OnBad,
    /// METEOR / SPICE; `None` switches them off.
    pub java: Option<JavaConfig>,
    /// FENSE / SPIDEr-FL's models; `None` switches them off.
    pub fense: Option<crate::score::FenseConfig>,
    /// Confidence intervals of the metrics (`resamples = 0`: none).
    pub bootstrap: BootstrapOptions,
}

fn line_err(path: &Path, line: usize, reason: impl Into<String>) -> Error {
    Error::Line {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Scores the predictions in `predictions` against `references` (or their own references).
pub fn score_files(
    predictions: &Path,
    references: Option<&Path>,
    opts: &ScoreOptions,
) -> Result<CaptionReport> {
    opts.bootstrap.validate()?;
    let lines: Vec<(usize, PredictionLine)> = read_jsonl(predictions)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut preds: Vec<(usize, String, String, Option<Vec<String>>)> = Vec::new();
    let mut empty = Vec::new();
    for (line, p) in lines {
        let id = match p.id {
            IdValue::Text(s) if !s.trim().is_empty() => s,
            IdValue::Text(_) => return Err(line_err(predictions, line, "field `id`: empty")),
            IdValue::Int(n) => n.to_string(),
        };
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(line_err(
                predictions,
                line,
                format!("duplicate id `{id}` (first at line {first})"),
            ));
        }
        let text = p.prediction.trim().to_string();
        if text.is_empty() {
            if opts.on_empty == OnEmpty::Error {
                return Err(line_err(
                    predictions,
                    line,
                    format!("field `prediction`: empty caption for id `{id}` (on_empty = count scores it as empty)"),
                ));
            }
            empty.push(id.clone());
        }
        if let Some(refs) = &p.references {
            check_refs(refs, predictions, line)?;
        }
        preds.push((line, id, text, p.references));
    }
    if preds.is_empty() {
        return Err(Error::file(predictions, "no predictions"));
    }
    let mut skipped = Vec::new();
    let items: Vec<Unscored> = match references {
        None => preds
            .into_iter()
            .map(|(line, id, text, refs)| {
                let refs = refs.ok_or_else(|| {
                    line_err(
                        predictions,
                        line,
                        format!("id `{id}` has no `references` and no references file was given"),
                    )
                })?;
                Ok((
                    id,
                    Some(format!("{}:{line}", predictions.display())),
                    text,
                    refs,
                ))
            })
            .collect::<Result<_>>()?,
        Some(rpath) => join(predictions, preds, rpath, opts.on_unmatched, &mut skipped)?,
    };
    if items.is_empty() {
        return Err(Error::file(predictions, "no prediction has references"));
    }
    let empty_kept = empty
        .into_iter()
        .filter(|id| items.iter().any(|i| &i.0 == id))
        .collect();
    let summary = CaptionSummary {
        model: None,
        source: predictions.display().to_string(),
        clips: 0,
        metrics: CaptionMetrics::default(),
        not_computed: BTreeMap::new(),
        empty_predictions: empty_kept,
        skipped,
        truncated_audio: vec![],
        generation: None,
        bootstrap: None,
        items: vec![],
    };
    score_unscored(
        items,
        opts.java.as_ref(),
        opts.fense.as_ref(),
        &opts.bootstrap,
        summary,
    )
}

fn check_refs(refs: &[String], path: &Path, line: usize) -> Result<()> {
    if refs.is_empty() {
        return Err(line_err(path, line, "field `references`: empty list"));
    }
    if let Some(k) = refs.iter().position(|r| r.trim().is_empty()) {
        return Err(line_err(
            path,
            line,
            format!("field `references[{k}]`: empty caption"),
        ));
    }
    Ok(())
}

/// Pairs predictions with the manifest's clips by id, in the predictions' order.
fn join(
    ppath: &Path,
    preds: Vec<(usize, String, String, Option<Vec<String>>)>,
    rpath: &Path,
    on_unmatched: OnBad,
    skipped: &mut Vec<SkippedLine>,
) -> Result<Vec<Unscored>> {
    let read = ReadOptions {
        on_bad: OnBad::Error,
        default_task: Some(Task::Ac),
    };
    let (samples, _) = read_manifest_with(rpath, &read)?;
    let mut by_id: HashMap<&str, (usize, Vec<String>)> = HashMap::new();
    for s in &samples {
        let refs = s.all_references().into_iter().map(str::to_string).collect();
        by_id.insert(s.id.as_str(), (s.source.line, refs));
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(preds.len());
    for (line, id, text, _) in preds {
        match by_id.get(id.as_str()) {
            Some((_, refs)) => {
                used.insert(id.clone());
                out.push((
                    id,
                    Some(format!("{}:{line}", ppath.display())),
                    text,
                    refs.clone(),
                ));
            }
            None => {
                let reason = format!("prediction `{id}` has no reference in {}", rpath.display());
                match on_unmatched {
                    OnBad::Error => return Err(line_err(ppath, line, reason)),
                    OnBad::Skip => skipped.push(SkippedLine {
                        location: format!("{}:{line}", ppath.display()),
                        reason,
                    }),
                }
            }
        }
    }
    let mut orphans: Vec<(usize, &str)> = by_id
        .iter()
        .filter(|(id, _)| !used.contains(**id))
        .map(|(id, (line, _))| (*line, *id))
        .collect();
    orphans.sort();
    for (line, id) in orphans {
        let reason = format!("reference `{id}` has no prediction in {}", ppath.display());
        match on_unmatched {
            OnBad::Error => return Err(line_err(rpath, line, reason)),
            OnBad::Skip => skipped.push(SkippedLine {
                location: format!("{}:{line}", rpath.display()),
                reason,
            }),
        }
    }
    Ok(out)
}
