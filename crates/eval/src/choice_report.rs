//! The per-class report of cross-modal distillation (issue 10, "Reports"; the comparison of
//! arXiv 2505.06803): for every class of a multiple-choice task, the student's accuracy
//! before and after distillation and the change, the teacher's, any further runs (a
//! label-only baseline, distillation on all classes), and humans' per input condition; the
//! classes grouped into the difficulty model's predicted-hard set and the easy rest; and the
//! paper's ears-vs-eyes comparison: per class, the humans' gap between hearing and seeing
//! (audio − visual accuracy) beside the models' gap, with the correlation of the two gaps.
//!
//! ```text
//! eval choice summaries (before, after, teacher?, runs…, audio/visual models?)
//!   + difficulty file? + human-response CSV?
//!   ──build_per_class_report──▶ PerClassReport ──write_per_class_report──▶
//!      report.md, report.json, report.png
//! ```
//!
//! **Inputs.** `summary.json` files of `eval choice` ([`ChoiceSummary`]: model, task,
//! condition, per-class accuracy). The student before and after must be the same task,
//! condition and classes, with the same items per class; every other run must be of the same
//! task and classes (each in its own condition); a mismatch is an error naming both files.
//! The hard set is a [`DifficultyFile`] (`eval difficulty`): its selected classes are
//! *hard*, the others *easy*; it must be for the same task and classes.
//!
//! **The human-response file** ([`Humans`]) is CSV (comma-separated, a header line first,
//! fields may be double-quoted — `"bird chirping, tweeting"` — with `""` for a quote inside;
//! blank lines are skipped; a field cannot span lines). Its header decides its form; columns
//! are found by name (any order, case ignored) and other columns (a participant id, say) are
//! ignored:
//!
//! * **counts**, header `class,condition,correct,total`: how many of a class's responses
//!   under a condition were right. Rows of the same class and condition are added up (one
//!   row per participant is fine).
//! * **responses**, header `item_id,class,condition,answer_class`: one row per response; it
//!   is right when `answer_class` names `class` (case and runs of spaces ignored); an empty
//!   `answer_class` is a response without an answer (wrong).
//!
//! `condition` is `audio`, `visual` or `both` (the stimulus the person had: sound only,
//! silent video, sounded video). A class is matched to the task's exactly, else ignoring case
//! and runs of spaces; a class the task does not have is an error naming the line. Human
//! accuracy per class and condition is `correct / total` over all its responses.
//!
//! **Outputs** ([`write_per_class_report`]):
//!
//! * `report.md`: one table, a row per class — class, support (the student's items), group
//!   (hard / easy, with a difficulty file), student before, after, change (after − before),
//!   the teacher (with its condition), every `--run`, humans per condition present in the
//!   file — then the group rows: the mean over the hard classes, over the easy ones, and over
//!   all; values ×100. Group means are unweighted means over the group's classes that have
//!   the value (a macro average, so every class counts once whatever its support). Then the
//!   ears-vs-eyes table and its correlations, and notes.
//! * `report.json`: the [`PerClassReport`], the same numbers as fractions (not ×100); a value
//!   that does not exist is `null`.
//! * `report.png`: horizontal bars of each class's change after − before (×100, the value
//!   written at the bar's end), the predicted-hard classes in red and labelled `[hard]`; and, when there is an ears-vs-eyes
//!   comparison with at least one class having both gaps, beside it a scatter of the human
//!   gap (x) against the models' gap (y), hard classes in red, with the correlations (or why
//!   they were not computed) above it.
//!
//! **The gap comparison.** The models compared are an audio-condition and a visual-condition
//! run of the task ([`ReportInputs::audio_model`], [`ReportInputs::visual_model`], both or
//! neither). When neither is given and the human file is, and the student (before
//! distillation) and the teacher are one audio-condition and one visual-condition run, those
//! two are compared (the paper compares the base audio and visual models; a note says so).
//! Per class: human gap `h = acc_humans(audio) − acc_humans(visual)`, model gap
//! `m = acc_audio_model − acc_visual_model`; over the classes that have both, Pearson's `r`
//! ([`pearson`]) and Spearman's `ρ` ([`crate::difficulty::spearman`], ties as average
//! ranks). They are `null` with a reason ("not computed: …") when there is no human file, it
//! has no audio or no visual responses, fewer than 3 classes have both gaps, or either gap is
//! the same for every class — never an estimate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use data::choice::{Condition, DifficultyFile};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use crate::chart::{padded_range, write_png, COLORS, FONT};
use crate::choice::{cell, read_summary, ChoiceSummary};
use crate::common::ModelId;
use crate::difficulty::spearman;
use crate::error::{Error, Result};
use crate::io::{read_text, write_atomic, write_json};

/// The fewest classes with both gaps that the gap correlation is computed on.
pub const MIN_GAP_CLASSES: usize = 3;

/// The conditions in the order reports list them.
const CONDITIONS: [Condition; 3] = [Condition::Audio, Condition::Visual, Condition::Both];

/// A run's `summary.json` and the file it was read from (named in errors and the report).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryFile {
    pub path: PathBuf,
    pub summary: ChoiceSummary,
}

impl SummaryFile {
    /// Reads an `eval choice` summary.
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            summary: read_summary(path)?,
        })
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn info(&self, name: &str) -> RunInfo {
        RunInfo {
            name: name.to_string(),
            file: self.name(),
            model: self.summary.model.clone(),
            condition: self.summary.condition,
        }
    }
}

/// A difficulty file and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct DifficultyInput {
    pub path: PathBuf,
    pub file: DifficultyFile,
}

impl DifficultyInput {
    /// Reads and checks a difficulty file ([`DifficultyFile::load`]).
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            file: DifficultyFile::load(path)?,
        })
    }
}

/// Which form a human-response file has (decided by its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HumanFormat {
    /// `class,condition,correct,total`.
    Counts,
    /// `item_id,class,condition,answer_class`.
    Responses,
}

/// Human responses of one class under one condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanCount {
    /// The class as the file first wrote it.
    pub class: String,
    pub condition: Condition,
    pub correct: usize,
    pub total: usize,
    /// The file's first line with this class and condition (1-based).
    #[serde(skip)]
    pub line: usize,
}

impl HumanCount {
    /// `correct / total` (absent without responses).
    pub fn accuracy(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
}

/// A human-response file, added up per class and condition (format: the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Humans {
    pub path: PathBuf,
    pub format: HumanFormat,
    /// One per (class, condition), in the order first seen.
    pub counts: Vec<HumanCount>,
}

/// A class name compared loosely: lower case, runs of white space as one space.
fn key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// One CSV line's fields: separated by commas, optionally double-quoted (`""` inside quotes
/// is a quote); unquoted fields are trimmed, spaces around a quoted one are dropped.
fn split_csv(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let (mut in_quotes, mut was_quoted) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    std::mem::take(&mut cur).trim().to_string()
                });
                was_quoted = false;
            }
            '"' if !was_quoted && cur.trim().is_empty() => {
                cur.clear();
                in_quotes = true;
                was_quoted = true;
            }
            '"' => return Err("a quote inside a field that does not start with one".into()),
            c if was_quoted && !c.is_whitespace() => {
                return Err(format!("`{c}` after a closing quote"));
            }
            _ if was_quoted => {}
            c => cur.push(c),
        }
    }
    if in_quotes {
        return Err("an unclosed quote (a field cannot span lines)".into());
    }
    fields.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    Ok(fields)
}

impl Humans {
    /// Reads a human-response file; errors name the file and line.
    pub fn read(path: &Path) -> Result<Self> {
        Self::parse(path, &read_text(path)?)
    }

    /// Parses the text of a human-response file read from `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let line_err = |line: usize, reason: String| Error::Line {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((head_line, head)) = lines.next() else {
            return Err(Error::file(path, "empty human-response file (no header)"));
        };
        let header: Vec<String> = split_csv(head)
            .map_err(|e| line_err(head_line, e))?
            .iter()
            .map(|h| h.to_lowercase())
            .collect();
        for (i, h) in header.iter().enumerate() {
            if header[..i].contains(h) {
                return Err(line_err(head_line, format!("column `{h}` repeats")));
            }
        }
        let col = |name: &str| header.iter().position(|h| h == name);
        let counts_cols = ["class", "condition", "correct", "total"].map(col);
        let responses_cols = ["item_id", "class", "condition", "answer_class"].map(col);
        let (format, cols) = match (
            counts_cols.iter().all(Option::is_some),
            responses_cols.iter().all(Option::is_some),
        ) {
            (true, false) => (HumanFormat::Counts, counts_cols.map(Option::unwrap)),
            (false, true) => (HumanFormat::Responses, responses_cols.map(Option::unwrap)),
            (true, true) => {
                return Err(line_err(
                    head_line,
                    "the header has the columns of both forms (class,condition,correct,total \
                     and item_id,class,condition,answer_class); keep one"
                        .into(),
                ))
            }
            (false, false) => {
                return Err(line_err(
                    head_line,
                    format!(
                        "header `{}`: expected the columns class,condition,correct,total \
                         (counts) or item_id,class,condition,answer_class (one row per \
                         response)",
                        head.trim()
                    ),
                ))
            }
        };
        let mut counts: Vec<HumanCount> = Vec::new();
        let mut index: HashMap<(String, Condition), usize> = HashMap::new();
        for (no, line) in lines {
            let f = split_csv(line).map_err(|e| line_err(no, e))?;
            if f.len() != header.len() {
                return Err(line_err(
                    no,
                    format!("{} fields; the header has {}", f.len(), header.len()),
                ));
            }
            let (class, condition) = match format {
                HumanFormat::Counts => (&f[cols[0]], &f[cols[1]]),
                HumanFormat::Responses => (&f[cols[1]], &f[cols[2]]),
            };
            if class.is_empty() {
                return Err(line_err(no, "empty `class`".into()));
            }
            let condition = match condition.to_lowercase().as_str() {
                "audio" => Condition::Audio,
                "visual" => Condition::Visual,
                "both" => Condition::Both,
                other => {
                    return Err(line_err(
                        no,
                        format!("condition `{other}`; expected audio, visual or both"),
                    ))
                }
            };
            let (correct, total) = match format {
                HumanFormat::Counts => {
                    let num = |field: &str, v: &str| {
                        v.parse::<usize>().map_err(|_| {
                            line_err(no, format!("`{field}` is `{v}`, not a whole number ≥ 0"))
                        })
                    };
                    let (c, t) = (num("correct", &f[cols[2]])?, num("total", &f[cols[3]])?);
                    if c > t {
                        return Err(line_err(no, format!("correct {c} exceeds total {t}")));
                    }
                    (c, t)
                }
                HumanFormat::Responses => {
                    if f[cols[0]].is_empty() {
                        return Err(line_err(no, "empty `item_id`".into()));
                    }
                    let answer = &f[cols[3]];
                    (
                        usize::from(!answer.is_empty() && key(answer) == key(class)),
                        1,
                    )
                }
            };
            let slot = *index.entry((key(class), condition)).or_insert_with(|| {
                counts.push(HumanCount {
                    class: class.clone(),
                    condition,
                    correct: 0,
                    total: 0,
                    line: no,
                });
                counts.len() - 1
            });
            counts[slot].correct += correct;
            counts[slot].total += total;
        }
        if counts.is_empty() {
            return Err(Error::file(path, "no responses after the header"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            format,
            counts,
        })
    }

    /// Human accuracy on `class` (compared loosely) under `condition`.
    pub fn accuracy(&self, class: &str, condition: Condition) -> Option<f64> {
        let k = key(class);
        self.counts
            .iter()
            .find(|c| c.condition == condition && key(&c.class) == k)
            .and_then(HumanCount::accuracy)
    }

    /// The conditions the file has responses for, in the order audio, visual, both.
    pub fn conditions(&self) -> Vec<Condition> {
        CONDITIONS
            .into_iter()
            .filter(|c| self.counts.iter().any(|h| h.condition == *c && h.total > 0))
            .collect()
    }
}

/// What the report is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInputs {
    /// The student before distillation.
    pub before: SummaryFile,
    /// The student after distillation (same task, condition, classes and items per class).
    pub after: SummaryFile,
    /// The teacher on the same items, in its own condition.
    pub teacher: Option<SummaryFile>,
    /// The hard set: the difficulty file's selected classes.
    pub difficulty: Option<DifficultyInput>,
    pub humans: Option<Humans>,
    /// Further columns: (name, run).
    pub runs: Vec<(String, SummaryFile)>,
    /// The audio-condition run of the gap comparison (with `visual_model`).
    pub audio_model: Option<SummaryFile>,
    /// The visual-condition run of the gap comparison (with `audio_model`).
    pub visual_model: Option<SummaryFile>,
}

/// A run shown in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Its column: `before`, `after`, `teacher`, a `--run` name, `audio model`, `visual model`.
    pub name: String,
    /// The summary file.
    pub file: String,
    pub model: Option<ModelId>,
    pub condition: Condition,
}

/// A class's group by the difficulty file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Selected by the difficulty model.
    Hard,
    /// Not selected.
    Easy,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Easy => "easy",
        }
    }
}

/// A row's accuracies (fractions; `null` where absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    /// The student before distillation.
    pub before: Option<f64>,
    /// The student after distillation.
    pub after: Option<f64>,
    /// `after − before`.
    pub change: Option<f64>,
    pub teacher: Option<f64>,
    /// One per [`PerClassReport::runs`].
    pub runs: Vec<Option<f64>>,
    /// One per condition of [`HumansInfo::conditions`].
    pub humans: Vec<Option<f64>>,
}

/// One class of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRow {
    pub class: String,
    /// The student's items of the class.
    pub support: usize,
    /// With a difficulty file: hard (selected) or easy.
    pub group: Option<Group>,
    /// The difficulty file's rank (1: hardest) and score.
    pub rank: Option<usize>,
    pub score: Option<f64>,
    pub values: Values,
}

/// The mean of a group of classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRow {
    /// `hard`, `easy` or `all`.
    pub group: String,
    /// Classes in the group.
    pub classes: usize,
    /// The student's items of those classes.
    pub support: usize,
    /// Unweighted means over the group's classes that have each value.
    pub values: Values,
}

/// The difficulty file the groups come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifficultyInfo {
    pub file: String,
    /// Its selection rule (`top-k:3`, …).
    pub selection: String,
    /// The hard classes, hardest first.
    pub hard: Vec<String>,
}

/// The human-response file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumansInfo {
    pub file: String,
    pub format: HumanFormat,
    /// The conditions with responses: the columns of [`Values::humans`].
    pub conditions: Vec<Condition>,
    /// The responses added up per class and condition.
    pub counts: Vec<HumanCount>,
}

/// One class of the ears-vs-eyes comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapClass {
    pub class: String,
    pub group: Option<Group>,
    pub human_audio: Option<f64>,
    pub human_visual: Option<f64>,
    /// `human_audio − human_visual`.
    pub human_gap: Option<f64>,
    pub model_audio: Option<f64>,
    pub model_visual: Option<f64>,
    /// `model_audio − model_visual`.
    pub model_gap: Option<f64>,
}

/// The correlation of two per-class series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    /// Classes with both values (the pairs correlated).
    pub classes: usize,
    pub pearson: Option<f64>,
    pub spearman: Option<f64>,
    /// Why the correlations are absent.
    pub not_computed: Option<String>,
}

/// The paper's comparison: per class, humans' ears-vs-eyes gap beside the models'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapComparison {
    pub audio_model: RunInfo,
    pub visual_model: RunInfo,
    /// Every class of the task, in its order.
    pub classes: Vec<GapClass>,
    /// Of `human_gap` against `model_gap`.
    pub correlation: Correlation,
}

/// `report.json` of `eval choice-report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerClassReport {
    pub task: String,
    /// The student's condition.
    pub condition: Condition,
    pub before: RunInfo,
    pub after: RunInfo,
    pub teacher: Option<RunInfo>,
    /// The extra columns, in order.
    pub runs: Vec<RunInfo>,
    pub difficulty: Option<DifficultyInfo>,
    pub humans: Option<HumansInfo>,
    /// Every class of the task, in its order.
    pub rows: Vec<ClassRow>,
    /// `hard` and `easy` (with a difficulty file), then `all`.
    pub groups: Vec<GroupRow>,
    pub gap: Option<GapComparison>,
    /// What the reader should know (which runs the gap compares, why it is absent).
    pub notes: Vec<String>,
}

/// Pearson's correlation. `None` with fewer than two pairs, different lengths, or no spread
/// on either side.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Whether a series takes more than one value (beyond rounding).
fn has_spread(x: &[f64]) -> bool {
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    hi - lo > 1e-12
}

/// Pearson's and Spearman's correlation of the human and the model gaps (pairs in the same
/// order), or why not: fewer than [`MIN_GAP_CLASSES`] pairs, or a side with no spread.
pub fn gap_correlation(human: &[f64], model: &[f64]) -> Correlation {
    let n = human.len().min(model.len());
    let not = |reason: String| Correlation {
        classes: n,
        pearson: None,
        spearman: None,
        not_computed: Some(reason),
    };
    if human.len() != model.len() {
        return not(format!(
            "{} human and {} model gaps",
            human.len(),
            model.len()
        ));
    }
    if n < MIN_GAP_CLASSES {
        return not(format!(
            "{n} classes have both a human and a model gap; at least {MIN_GAP_CLASSES} are needed"
        ));
    }
    if !has_spread(human) {
        return not("the human gap is the same for every class (no spread)".into());
    }
    if !has_spread(model) {
        return not("the models' gap is the same for every class (no spread)".into());
    }
    match (pearson(human, model), spearman(human, model)) {
        (Some(p), Some(s)) => Correlation {
            classes: n,
            pearson: Some(p),
            spearman: Some(s),
            not_computed: None,
        },
        _ => not("undefined (no spread)".into()),
    }
}

/// How two runs' task, condition (when `condition`) and classes differ.
fn differences(a: &ChoiceSummary, b: &ChoiceSummary, condition: bool) -> Vec<String> {
    let mut out = Vec::new();
    if a.task != b.task {
        out.push(format!("task `{}` vs `{}`", a.task, b.task));
    }
    if condition && a.condition != b.condition {
        out.push(format!(
            "condition {} vs {}",
            a.condition.name(),
            b.condition.name()
        ));
    }
    if a.classes != b.classes {
        let only = |x: &ChoiceSummary, y: &ChoiceSummary| -> Vec<String> {
            x.classes
                .iter()
                .filter(|c| !y.classes.contains(c))
                .cloned()
                .collect()
        };
        let (oa, ob) = (only(a, b), only(b, a));
        if oa.is_empty() && ob.is_empty() {
            out.push("the same classes in another order".into());
        } else {
            out.push(format!(
                "classes only in the first: {oa:?}; only in the second: {ob:?}"
            ));
        }
    }
    out
}

/// Refuses `other` (in `role`) unless it is of the student's task and classes.
fn check_same_task(student: &SummaryFile, other: &SummaryFile, role: &str) -> Result<()> {
    let d = differences(&student.summary, &other.summary, false);
    if d.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{} ({role}) does not match the student's run {}: {} (first: {}, second: {}); every \
         run must be of the same task and classes",
        other.name(),
        student.name(),
        d.join("; "),
        student.name(),
        other.name()
    )))
}

fn accuracy(s: &ChoiceSummary, class: &str) -> Option<f64> {
    s.per_class
        .iter()
        .find(|c| c.class == class)
        .and_then(|c| c.accuracy)
}

fn support(s: &ChoiceSummary, class: &str) -> usize {
    s.per_class
        .iter()
        .find(|c| c.class == class)
        .map_or(0, |c| c.support)
}

fn mean(x: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (s, n) = x.flatten().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// The unweighted means of `rows`' values, each over the rows that have it.
fn group_values(rows: &[&ClassRow], n_runs: usize, n_humans: usize) -> Values {
    let col = |f: &dyn Fn(&Values) -> Option<f64>| mean(rows.iter().map(|r| f(&r.values)));
    Values {
        before: col(&|v| v.before),
        after: col(&|v| v.after),
        change: col(&|v| v.change),
        teacher: col(&|v| v.teacher),
        runs: (0..n_runs).map(|k| col(&|v| v.runs[k])).collect(),
        humans: (0..n_humans).map(|k| col(&|v| v.humans[k])).collect(),
    }
}

/// The difficulty file's class matching `class` (exactly, else loosely).
fn difficulty_class<'a>(
    f: &'a DifficultyFile,
    class: &str,
) -> Option<&'a data::choice::DifficultyClass> {
    f.classes
        .iter()
        .find(|c| c.class == class)
        .or_else(|| f.classes.iter().find(|c| key(&c.class) == key(class)))
}

fn check_difficulty(d: &DifficultyInput, s: &ChoiceSummary) -> Result<()> {
    let bad = |reason: String| Error::file(&d.path, reason);
    if d.file.task != s.task {
        return Err(bad(format!(
            "the difficulty file is for task `{}`, the runs are of task `{}`",
            d.file.task, s.task
        )));
    }
    let missing: Vec<&String> = s
        .classes
        .iter()
        .filter(|c| difficulty_class(&d.file, c).is_none())
        .collect();
    let extra: Vec<&String> = d
        .file
        .classes
        .iter()
        .map(|c| &c.class)
        .filter(|c| !s.classes.iter().any(|x| key(x) == key(c)))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(bad(format!(
            "its classes differ from the runs': missing {missing:?}, not in the task {extra:?}"
        )));
    }
    Ok(())
}

/// The task's class a human-file class names (exactly, else loosely).
fn task_class<'a>(classes: &'a [String], class: &str) -> Option<&'a String> {
    classes
        .iter()
        .find(|c| *c == class)
        .or_else(|| classes.iter().find(|c| key(c) == key(class)))
}

/// Checks the inputs against each other and builds the report.
pub fn build_per_class_report(inp: &ReportInputs) -> Result<PerClassReport> {
    let (b, a) = (&inp.before, &inp.after);
    let s = &b.summary;
    let d = differences(s, &a.summary, true);
    if !d.is_empty() {
        return Err(Error::Invalid(format!(
            "the student before ({}) and after ({}) distillation differ: {}; both must be runs \
             of the same task, condition and classes",
            b.name(),
            a.name(),
            d.join("; ")
        )));
    }
    for c in &s.classes {
        let (nb, na) = (support(s, c), support(&a.summary, c));
        if nb != na {
            return Err(Error::Invalid(format!(
                "class `{c}` has {nb} items in {} (before) but {na} in {} (after); the student \
                 must be evaluated on the same items before and after",
                b.name(),
                a.name()
            )));
        }
    }
    if let Some(t) = &inp.teacher {
        check_same_task(b, t, "the teacher")?;
    }
    let mut names: Vec<&str> = Vec::new();
    for (name, r) in &inp.runs {
        if name.trim().is_empty() {
            return Err(Error::option("run", format!("{}: an empty name", r.name())));
        }
        if names.contains(&name.as_str()) {
            return Err(Error::option("run", format!("the name `{name}` repeats")));
        }
        names.push(name);
        check_same_task(b, r, &format!("run `{name}`"))?;
    }
    for (m, want, role) in [
        (&inp.audio_model, Condition::Audio, "--audio-model"),
        (&inp.visual_model, Condition::Visual, "--visual-model"),
    ] {
        if let Some(m) = m {
            check_same_task(b, m, role)?;
            if m.summary.condition != want {
                return Err(Error::Invalid(format!(
                    "{} ({role}) is a run in the {} condition; the gap comparison needs the {} \
                     condition there",
                    m.name(),
                    m.summary.condition.name(),
                    want.name()
                )));
            }
        }
    }
    if inp.audio_model.is_some() != inp.visual_model.is_some() {
        return Err(Error::option(
            "audio_model",
            "the gap comparison needs both --audio-model and --visual-model",
        ));
    }
    if let Some(dif) = &inp.difficulty {
        check_difficulty(dif, s)?;
    }
    if let Some(h) = &inp.humans {
        for c in &h.counts {
            if task_class(&s.classes, &c.class).is_none() {
                return Err(Error::Line {
                    path: h.path.clone(),
                    line: c.line,
                    reason: format!("class `{}` is not a class of task `{}`", c.class, s.task),
                });
            }
        }
    }

    let human_conditions = inp.humans.as_ref().map_or(vec![], Humans::conditions);
    let group_of = |class: &str| {
        inp.difficulty.as_ref().and_then(|d| {
            difficulty_class(&d.file, class).map(|c| {
                let g = if c.selected { Group::Hard } else { Group::Easy };
                (g, c.rank, c.score)
            })
        })
    };
    let rows: Vec<ClassRow> = s
        .classes
        .iter()
        .map(|class| {
            let (before, after) = (accuracy(s, class), accuracy(&a.summary, class));
            let g = group_of(class);
            ClassRow {
                class: class.clone(),
                support: support(s, class),
                group: g.map(|g| g.0),
                rank: g.map(|g| g.1),
                score: g.map(|g| g.2),
                values: Values {
                    before,
                    after,
                    change: before.zip(after).map(|(b, a)| a - b),
                    teacher: inp
                        .teacher
                        .as_ref()
                        .and_then(|t| accuracy(&t.summary, class)),
                    runs: inp
                        .runs
                        .iter()
                        .map(|(_, r)| accuracy(&r.summary, class))
                        .collect(),
                    humans: human_conditions
                        .iter()
                        .map(|&c| inp.humans.as_ref().and_then(|h| h.accuracy(class, c)))
                        .collect(),
                },
            }
        })
        .collect();

    let (n_runs, n_humans) = (inp.runs.len(), human_conditions.len());
    let mut groups = Vec::new();
    let mut group_row = |name: &str, members: Vec<&ClassRow>| {
        groups.push(GroupRow {
            group: name.to_string(),
            classes: members.len(),
            support: members.iter().map(|r| r.support).sum(),
            values: group_values(&members, n_runs, n_humans),
        });
    };
    if inp.difficulty.is_some() {
        for g in [Group::Hard, Group::Easy] {
            group_row(
                g.name(),
                rows.iter().filter(|r| r.group == Some(g)).collect(),
            );
        }
    }
    group_row("all", rows.iter().collect());

    let mut notes = Vec::new();
    let pair = match (&inp.audio_model, &inp.visual_model, &inp.teacher) {
        (Some(am), Some(vm), _) => Some((am, vm)),
        (None, None, Some(t)) if inp.humans.is_some() => match (s.condition, t.summary.condition) {
            (Condition::Audio, Condition::Visual) => {
                notes.push(format!(
                    "The ears-vs-eyes gap compares the student before distillation ({}, \
                         audio) with the teacher ({}, visual); --audio-model and \
                         --visual-model choose other runs.",
                    b.name(),
                    t.name()
                ));
                Some((b, t))
            }
            (Condition::Visual, Condition::Audio) => {
                notes.push(format!(
                    "The ears-vs-eyes gap compares the teacher ({}, audio) with the student \
                         before distillation ({}, visual); --audio-model and --visual-model \
                         choose other runs.",
                    t.name(),
                    b.name()
                ));
                Some((t, b))
            }
            _ => None,
        },
        _ => None,
    };
    if pair.is_none() && inp.humans.is_some() {
        notes.push(
            "No ears-vs-eyes comparison: it needs an audio-condition and a visual-condition \
             run of the models (--audio-model and --visual-model, or a student and teacher \
             in those two conditions)."
                .into(),
        );
    }
    let gap = pair.map(|(am, vm)| gap_comparison(am, vm, inp.humans.as_ref(), &rows));

    Ok(PerClassReport {
        task: s.task.clone(),
        condition: s.condition,
        before: b.info("before"),
        after: a.info("after"),
        teacher: inp.teacher.as_ref().map(|t| t.info("teacher")),
        runs: inp.runs.iter().map(|(n, r)| r.info(n)).collect(),
        difficulty: inp.difficulty.as_ref().map(|d| DifficultyInfo {
            file: d.path.display().to_string(),
            selection: d.file.selection.to_string(),
            hard: d.file.selected.clone(),
        }),
        humans: inp.humans.as_ref().map(|h| HumansInfo {
            file: h.path.display().to_string(),
            format: h.format,
            conditions: human_conditions.clone(),
            counts: h.counts.clone(),
        }),
        rows,
        groups,
        gap,
        notes,
    })
}

fn gap_comparison(
    am: &SummaryFile,
    vm: &SummaryFile,
    humans: Option<&Humans>,
    rows: &[ClassRow],
) -> GapComparison {
    let diff = |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| x - y);
    let classes: Vec<GapClass> = rows
        .iter()
        .map(|r| {
            let human = |c| humans.and_then(|h| h.accuracy(&r.class, c));
            let (ha, hv) = (human(Condition::Audio), human(Condition::Visual));
            let (ma, mv) = (
                accuracy(&am.summary, &r.class),
                accuracy(&vm.summary, &r.class),
            );
            GapClass {
                class: r.class.clone(),
                group: r.group,
                human_audio: ha,
                human_visual: hv,
                human_gap: diff(ha, hv),
                model_audio: ma,
                model_visual: mv,
                model_gap: diff(ma, mv),
            }
        })
        .collect();
    let (h, m): (Vec<f64>, Vec<f64>) = classes
        .iter()
        .filter_map(|c| c.human_gap.zip(c.model_gap))
        .unzip();
    let has = |c: Condition| humans.is_some_and(|h| h.conditions().contains(&c));
    let missing = |reason: String| Correlation {
        classes: h.len(),
        pearson: None,
        spearman: None,
        not_computed: Some(reason),
    };
    let correlation = match humans {
        None => missing("no human-response file (--humans)".into()),
        Some(hf) if !has(Condition::Audio) || !has(Condition::Visual) => missing(format!(
            "{} has no {} responses",
            hf.path.display(),
            if has(Condition::Audio) {
                "visual-condition"
            } else {
                "audio-condition"
            }
        )),
        Some(_) => gap_correlation(&h, &m),
    };
    GapComparison {
        audio_model: am.info("audio model"),
        visual_model: vm.info("visual model"),
        classes,
        correlation,
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{:.2}", 100.0 * v))
}

fn signed(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{:+.2}", 100.0 * v))
}

fn describe(r: &RunInfo) -> String {
    match &r.model {
        Some(m) => format!("{} (model {m}, {} condition)", r.file, r.condition.name()),
        None => format!("{} ({} condition)", r.file, r.condition.name()),
    }
}

/// The correlations as one line, or why not.
pub fn correlation_text(c: &Correlation) -> String {
    match (&c.not_computed, c.pearson, c.spearman) {
        (Some(why), _, _) => format!("not computed: {why}"),
        (None, Some(p), Some(s)) => format!(
            "Pearson r = {p:.3}, Spearman rho = {s:.3} over {} classes",
            c.classes
        ),
        _ => "not computed".into(),
    }
}

/// `report.md`: the per-class table with its group rows, the gap comparison, notes.
pub fn per_class_markdown(r: &PerClassReport) -> String {
    let mut md = format!(
        "# Per-class report: task `{}`, student in the {} condition\n\n",
        r.task,
        r.condition.name()
    );
    md.push_str(&format!("- Student before: {}\n", describe(&r.before)));
    md.push_str(&format!("- Student after: {}\n", describe(&r.after)));
    if let Some(t) = &r.teacher {
        md.push_str(&format!("- Teacher: {}\n", describe(t)));
    }
    for run in &r.runs {
        md.push_str(&format!("- {}: {}\n", cell(&run.name), describe(run)));
    }
    if let Some(d) = &r.difficulty {
        md.push_str(&format!(
            "- Hard classes ({}, selection {}): {}\n",
            d.file,
            d.selection,
            if d.hard.is_empty() {
                "none".to_string()
            } else {
                d.hard.join(", ")
            }
        ));
    }
    if let Some(h) = &r.humans {
        let conds: Vec<&str> = h.conditions.iter().map(|c| c.name()).collect();
        md.push_str(&format!(
            "- Humans: {} ({}; conditions {})\n",
            h.file,
            match h.format {
                HumanFormat::Counts => "counts",
                HumanFormat::Responses => "one row per response",
            },
            conds.join(", ")
        ));
    }
    md.push_str(
        "\nAccuracy ×100 per class; change = after − before; the group rows are unweighted \
         means over the group's classes that have the value.\n\n",
    );
    let mut head = vec![
        "class".to_string(),
        "support".into(),
        "group".into(),
        "before".into(),
        "after".into(),
        "change".into(),
    ];
    if let Some(t) = &r.teacher {
        head.push(format!("teacher ({})", t.condition.name()));
    }
    for run in &r.runs {
        head.push(if run.condition == r.condition {
            cell(&run.name)
        } else {
            format!("{} ({})", cell(&run.name), run.condition.name())
        });
    }
    if let Some(h) = &r.humans {
        for c in &h.conditions {
            head.push(format!("humans {}", c.name()));
        }
    }
    md.push_str(&format!("| {} |\n", head.join(" | ")));
    md.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    let values = |v: &Values, has_teacher: bool| -> Vec<String> {
        let mut out = vec![pct(v.before), pct(v.after), signed(v.change)];
        if has_teacher {
            out.push(pct(v.teacher));
        }
        out.extend(v.runs.iter().map(|x| pct(*x)));
        out.extend(v.humans.iter().map(|x| pct(*x)));
        out
    };
    let has_teacher = r.teacher.is_some();
    for row in &r.rows {
        let mut cells = vec![
            cell(&row.class),
            row.support.to_string(),
            row.group.map_or("–", Group::name).to_string(),
        ];
        cells.extend(values(&row.values, has_teacher));
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    for g in &r.groups {
        let mut cells = vec![
            format!("**mean: {} ({} classes)**", g.group, g.classes),
            g.support.to_string(),
            String::new(),
        ];
        cells.extend(values(&g.values, has_teacher));
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    if let Some(gap) = &r.gap {
        md.push_str("\n## Ears vs eyes: per-class gap (audio − visual accuracy, ×100)\n\n");
        md.push_str(&format!(
            "- Audio model: {}\n- Visual model: {}\n\n",
            describe(&gap.audio_model),
            describe(&gap.visual_model)
        ));
        md.push_str(
            "| class | group | humans audio | humans visual | human gap | model audio | model \
             visual | model gap |\n|---|---|---|---|---|---|---|---|\n",
        );
        for c in &gap.classes {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&c.class),
                c.group.map_or("–", Group::name),
                pct(c.human_audio),
                pct(c.human_visual),
                signed(c.human_gap),
                pct(c.model_audio),
                pct(c.model_visual),
                signed(c.model_gap)
            ));
        }
        md.push_str(&format!(
            "\nCorrelation of the human and the model gap: {}\n",
            correlation_text(&gap.correlation)
        ));
    }
    if !r.notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in &r.notes {
            md.push_str(&format!("- {n}\n"));
        }
    }
    md
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn err(x: impl std::fmt::Display) -> String {
    x.to_string()
}

/// Colour of a class's mark: red for hard, blue for easy, grey without groups.
fn group_color(g: Option<Group>) -> RGBColor {
    let (r, g, b) = match g {
        Some(Group::Hard) => COLORS[3],
        Some(Group::Easy) => COLORS[0],
        None => COLORS[7],
    };
    RGBColor(r, g, b)
}

/// Horizontal bars of each class's change after − before (×100), first class on top.
fn draw_changes(area: &Area, r: &PerClassReport) -> std::result::Result<(), String> {
    let n = r.rows.len().max(1);
    let changes = r
        .rows
        .iter()
        .filter_map(|c| c.values.change)
        .map(|d| 100.0 * d);
    let (x0, x1) = padded_range(changes.chain([0.0]), true);
    // Room for the values written at the bars' ends.
    let (x0, x1) = (x0 - 0.1 * (x1 - x0), x1 + 0.1 * (x1 - x0));
    let labels: Vec<String> = r
        .rows
        .iter()
        .map(|c| {
            let mut l = c.class.clone();
            if c.group == Some(Group::Hard) {
                l.push_str(" [hard]");
            }
            if c.values.change.is_none() {
                l.push_str(" (n/a)");
            }
            l
        })
        .collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let y_of = |i: usize| (n - 1 - i) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("Change after - before per class (x100), {}", r.task),
            (FONT, 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size((longest as u32 * 8 + 20).clamp(80, 360))
        .build_cartesian_2d(x0..x1, -0.5f64..(n as f64 - 0.5))
        .map_err(err)?;
    let label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() > 1e-6 || i < 0.0 || i as usize >= n {
            return String::new();
        }
        labels.get(n - 1 - i as usize).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n + 1)
        .y_label_formatter(&label)
        .x_desc("student accuracy after - before (x100)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, -0.5), (0.0, n as f64 - 0.5)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    let groups = [
        (Some(Group::Hard), "predicted hard"),
        (Some(Group::Easy), "easy"),
        (None, "change"),
    ];
    let mut legend = false;
    for (g, name) in groups {
        let color = group_color(g);
        let bars: Vec<Rectangle<(f64, f64)>> = r
            .rows
            .iter()
            .enumerate()
            .filter(|(_, c)| c.group == g)
            .filter_map(|(i, c)| {
                let d = 100.0 * c.values.change?;
                let y = y_of(i);
                Some(Rectangle::new(
                    [(0.0, y - 0.35), (d, y + 0.35)],
                    color.filled(),
                ))
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        let values: Vec<Text<(f64, f64), String>> = r
            .rows
            .iter()
            .enumerate()
            .filter(|(_, c)| c.group == g)
            .filter_map(|(i, c)| {
                let d = 100.0 * c.values.change?;
                let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(
                    if d < 0.0 { HPos::Right } else { HPos::Left },
                    VPos::Center,
                ));
                Some(Text::new(format!(" {d:+.1} "), (d, y_of(i)), style))
            })
            .collect();
        chart.draw_series(values).map_err(err)?;
        let series = chart.draw_series(bars).map_err(err)?;
        if g.is_some() {
            legend = true;
            series.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
            });
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// The scatter of the human gap (x) against the models' gap (y), ×100, each point named.
fn draw_gap(area: &Area, gap: &GapComparison) -> std::result::Result<(), String> {
    let area = area
        .margin(10, 0, 0, 0)
        .titled("Ears vs eyes: audio - visual accuracy (x100)", (FONT, 22))
        .map_err(err)?;
    let (head, body) = area.split_vertically(36);
    head.draw(&Text::new(
        correlation_text(&gap.correlation),
        (20, 8),
        (FONT, 16),
    ))
    .map_err(err)?;
    let points: Vec<(f64, f64, &GapClass)> = gap
        .classes
        .iter()
        .filter_map(|c| Some((100.0 * c.human_gap?, 100.0 * c.model_gap?, c)))
        .collect();
    let (x0, x1) = padded_range(points.iter().map(|p| p.0).chain([0.0]), true);
    // Room on the right for the names of the rightmost points.
    let x1 = x1 + 0.25 * (x1 - x0);
    let (y0, y1) = padded_range(points.iter().map(|p| p.1).chain([0.0]), true);
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("humans: audio - visual accuracy (x100)")
        .y_desc("models: audio - visual accuracy (x100)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(err)?;
    let grey = RGBColor(150, 150, 150);
    chart
        .draw_series([
            PathElement::new(vec![(x0, 0.0), (x1, 0.0)], grey.stroke_width(1)),
            PathElement::new(vec![(0.0, y0), (0.0, y1)], grey.stroke_width(1)),
        ])
        .map_err(err)?;
    chart
        .draw_series(points.iter().map(|&(x, y, c)| {
            let color = group_color(c.group);
            EmptyElement::at((x, y))
                + Circle::new((0, 0), 5, color.filled())
                + Text::new(c.class.clone(), (7, -14), (FONT, 13))
        }))
        .map_err(err)?;
    Ok(())
}

/// Draws `report.png` ([module docs](self)).
pub fn plot_per_class(path: &Path, r: &PerClassReport) -> Result<()> {
    let scatter = r.gap.as_ref().filter(|g| {
        g.classes
            .iter()
            .any(|c| c.human_gap.is_some() && c.model_gap.is_some())
    });
    let bars_h = (r.rows.len() as u32 * 30 + 160).max(480);
    let (left_w, right_w) = (1000u32, if scatter.is_some() { 800 } else { 0 });
    let height = if scatter.is_some() {
        bars_h.max(720)
    } else {
        bars_h
    };
    write_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (left_w + right_w, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        match scatter {
            Some(g) => {
                let (left, right) = root.split_horizontally(left_w);
                draw_changes(&left, r)?;
                draw_gap(&right, g)?;
            }
            None => draw_changes(&root, r)?,
        }
        root.present().map_err(err)
    })
}

/// Writes `report.json`, `report.md` and `report.png` into `dir` (created if needed), each
/// atomically.
pub fn write_per_class_report(dir: &Path, r: &PerClassReport) -> Result<()> {
    write_json(&dir.join("report.json"), r)?;
    write_atomic(&dir.join("report.md"), per_class_markdown(r).as_bytes())?;
    plot_per_class(&dir.join("report.png"), r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_quotes() {
        assert_eq!(
            split_csv(r#"a, "b, c" ,"say ""hi""",  d "#).unwrap(),
            ["a", "b, c", "say \"hi\"", "d"]
        );
        assert_eq!(split_csv("a,,b").unwrap(), ["a", "", "b"]);
        assert!(split_csv(r#"a,"b"#).is_err());
        assert!(split_csv(r#"a,"b"c"#).is_err());
        assert!(split_csv(r#"a,b"c"#).is_err());
    }
}
