//! The forgetting report: did finetuning improve captioning, and what did it cost on general
//! skills? Rows: the base model, then each finetuned model; columns: every captioning metric
//! of every captioning set, then every classification task's accuracy; every finetuned value
//! with its change against the base.
//!
//! Files ([`write_report`]): `report.md` (table, values ×100), `report.json` (a [`Report`],
//! raw fractions) and `report.png` (grouped bars of the changes, ×100, one colour per model).
//!
//! **Seeds.** Results that share a name and each carry a different training seed
//! (`train_seed`) are one row ([`ReportRow::seeds`]): its values are the means over the
//! seeds, with their standard deviation (`spread`, shown as `mean ± sd`) and every seed's
//! values (`per_seed`, the chart's dots); its intervals are over seeds and clips (the
//! two-level bootstrap of [`metrics::bootstrap::pool_seeds`], on the clips every seed and,
//! for the change, the base hold). Results of one name without distinct seeds stay rows of
//! their own (`name#2`, …).
//!
//! A column is shown when at least one row has a value for it; columns no row has (METEOR
//! without Java, say) are listed under `omitted`. A missing value is `null` / "n/a", and so is
//! its change.
//!
//! **Confidence intervals** (unless the bootstrap is off: [`build_report_with`] with
//! `resamples = 0`). From the per-item data the result files keep (`items`), every value gets
//! its percentile-bootstrap interval over the row's own clips or samples, and every change
//! against the base a paired bootstrap interval: the base's and the model's items are
//! matched by id (items only one side holds are dropped and counted), both are resampled
//! with the same indices, and the interval is that of the per-resample difference (see
//! [`metrics::bootstrap`]; each caption metric is recomputed per resample as
//! [`crate::score::resampling`] says). JSON: `intervals` and `changes` per row, `bootstrap`
//! with the settings and the columns without an interval. Markdown: the main table is
//! unchanged; a second table, "Confidence intervals", shows `value [low, high]` per model
//! and `change [low, high]` per finetuned model, `*` marking a change whose interval
//! excludes zero.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use data::classify::BUILTIN_TASKS;
use metrics::bootstrap::{
    difference_interval, percentile_interval, pool_seeds, Mean, Resamples, Statistic,
};
use serde::{Deserialize, Serialize};

use crate::caption::metric_title;
use crate::common::{percent, BootstrapOptions, ModelId};
use crate::error::Result;
use crate::io::{write_atomic, write_json};
use crate::result::EvalResult;
use crate::score::{CaptionItem, CaptionStats, CAPTION_METRICS};

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
    /// The value's confidence interval `[low, high]`, one per column (`null`: none); empty
    /// when the bootstrap is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<Option<[f64; 2]>>,
    /// The change against the base with its paired interval, one per column (`null` for the
    /// base row and where either side lacks the per-item data); empty when the bootstrap is
    /// off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Option<PairedChange>>,
    /// The training seeds this row pools (empty: one result). A pooled row's `values` are
    /// means over its seeds, its `deltas` the mean's change, its intervals over seeds and
    /// clips.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
    /// Per seed (in `seeds` order), the value of every column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_seed: Vec<Vec<Option<f64>>>,
    /// Per column, the sample standard deviation over the seeds (`null` with fewer than two
    /// values); empty for a row of one result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<Option<f64>>,
}

/// A change against the base on the items both results hold, with the paired bootstrap
/// interval of the difference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairedChange {
    /// value − base value on the paired items (the row's `deltas` entry when none was
    /// dropped).
    pub change: f64,
    pub low: f64,
    pub high: f64,
    /// Whether `[low, high]` leaves out zero.
    pub excludes_zero: bool,
    /// Items (clips, samples) both results hold, matched by id.
    pub paired: usize,
    /// Items only the base holds, dropped.
    pub only_base: usize,
    /// Items only this model holds, dropped (for a pooled row: summed over its seeds, an
    /// item counting for each seed it is not shared from).
    pub only_run: usize,
}

/// The bootstrap behind a report's intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBootstrap {
    pub resamples: usize,
    pub seed: u64,
    pub confidence: f64,
    /// Column key → why some or all of its values have no interval.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub no_interval: BTreeMap<String, String>,
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
    /// The bootstrap's settings (absent when it is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<ReportBootstrap>,
}

fn value(r: &EvalResult, key: &str) -> Option<f64> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["captioning", set, metric] => r.captioning.get(*set).and_then(|e| e.metrics.get(metric)),
        ["classification", task, "accuracy"] => r.classification.get(*task).map(|e| e.accuracy),
        _ => None,
    }
}

/// Builds the table of `base` and `runs` with confidence intervals from the default
/// bootstrap (1,000 resamples, seed 0, 95%). Row names are made unique (`name#2`, …).
pub fn build_report(base: &EvalResult, runs: &[EvalResult]) -> Report {
    build(base, runs, Some(&BootstrapOptions::default()))
}

/// [`build_report`] with these bootstrap settings (`resamples = 0`: no intervals).
///
/// Errors: a confidence outside (0, 1).
pub fn build_report_with(
    base: &EvalResult,
    runs: &[EvalResult],
    bootstrap: &BootstrapOptions,
) -> Result<Report> {
    bootstrap.validate()?;
    Ok(build(base, runs, bootstrap.enabled().then_some(bootstrap)))
}

fn build(base: &EvalResult, runs: &[EvalResult], bootstrap: Option<&BootstrapOptions>) -> Report {
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
    let arms: Vec<Vec<&EvalResult>> = std::iter::once(vec![base]).chain(arms_of(runs)).collect();
    let mut names: Vec<String> = Vec::new();
    let rows = arms
        .iter()
        .enumerate()
        .map(|(i, members)| {
            let r = members[0];
            let mut name = r.name.clone();
            let mut k = 1;
            while names.contains(&name) {
                k += 1;
                name = format!("{}#{k}", r.name);
            }
            names.push(name.clone());
            let per_seed: Vec<Vec<Option<f64>>> = members
                .iter()
                .map(|m| columns.iter().map(|c| value(m, &c.key)).collect())
                .collect();
            let column = |c: usize| -> Vec<f64> { per_seed.iter().filter_map(|v| v[c]).collect() };
            let values: Vec<Option<f64>> = (0..columns.len())
                .map(|c| {
                    let v = column(c);
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect();
            let deltas = values
                .iter()
                .zip(&base_values)
                .map(|(v, b)| match (i, v, b) {
                    (0, _, _) => None,
                    (_, Some(v), Some(b)) => Some(v - b),
                    _ => None,
                })
                .collect();
            let pooled = members.len() > 1;
            ReportRow {
                name,
                model: r.model.clone(),
                values,
                deltas,
                intervals: vec![],
                changes: vec![],
                seeds: if pooled {
                    members.iter().filter_map(|m| m.train_seed).collect()
                } else {
                    vec![]
                },
                spread: if pooled {
                    (0..columns.len()).map(|c| sample_sd(&column(c))).collect()
                } else {
                    vec![]
                },
                per_seed: if pooled { per_seed } else { vec![] },
            }
        })
        .collect();
    let mut report = Report {
        columns,
        rows,
        omitted: omitted.into_iter().map(|c| c.key).collect(),
        bootstrap: None,
    };
    if let Some(opts) = bootstrap {
        add_intervals(&mut report, &arms, opts);
    }
    report
}

/// The rows of `runs`: results that share a name, each with a training seed and no two with
/// the same one, are pooled into one row (at the first one's place, in the given order);
/// every other result is a row of its own.
fn arms_of(runs: &[EvalResult]) -> Vec<Vec<&EvalResult>> {
    let mut by_name: BTreeMap<&str, Vec<&EvalResult>> = BTreeMap::new();
    for r in runs {
        by_name.entry(r.name.as_str()).or_default().push(r);
    }
    let poolable = |members: &[&EvalResult]| {
        let seeds: BTreeSet<Option<u64>> = members.iter().map(|m| m.train_seed).collect();
        members.len() > 1 && !seeds.contains(&None) && seeds.len() == members.len()
    };
    let mut out: Vec<Vec<&EvalResult>> = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for r in runs {
        let members = &by_name[r.name.as_str()];
        if !poolable(members) {
            out.push(vec![r]);
        } else if done.insert(r.name.as_str()) {
            out.push(members.clone());
        }
    }
    out
}

/// The sample standard deviation (n − 1), `None` below two values.
fn sample_sd(v: &[f64]) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let ss: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
    Some((ss / (v.len() - 1) as f64).sqrt())
}

/// Matches the items of several results by id, in the first one's order, keeping the ids
/// every list holds (a repeated id counts once): the matched items per list, and per list how
/// many of its items were dropped.
fn align_items<'a, T>(lists: &[&'a [T]], id: impl Fn(&T) -> &str) -> (Vec<Vec<&'a T>>, Vec<usize>) {
    let maps: Vec<HashMap<&str, &T>> = lists[1..]
        .iter()
        .map(|l| {
            let mut m: HashMap<&str, &T> = HashMap::new();
            for x in l.iter() {
                m.entry(id(x)).or_insert(x);
            }
            m
        })
        .collect();
    let mut out: Vec<Vec<&T>> = vec![Vec::new(); lists.len()];
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for x in lists[0].iter() {
        let key = id(x);
        if !seen.insert(key) {
            continue;
        }
        let others: Option<Vec<&T>> = maps.iter().map(|m| m.get(key).copied()).collect();
        if let Some(others) = others {
            out[0].push(x);
            for (o, y) in out[1..].iter_mut().zip(others) {
                o.push(y);
            }
        }
    }
    let dropped = lists
        .iter()
        .zip(&out)
        .map(|(l, o)| l.len() - o.len())
        .collect();
    (out, dropped)
}

/// One group of columns (a captioning set or a classification task) of one result: metric →
/// replicates on `resamples`, and metric → why none.
type Replicates = (BTreeMap<String, Vec<f64>>, BTreeMap<String, String>);

/// The replicates of a group's metrics over some of its items.
enum Group<'a> {
    Caption(Vec<&'a CaptionItem>),
    Classify(Vec<f64>),
}

impl Group<'_> {
    fn len(&self) -> usize {
        match self {
            Group::Caption(v) => v.len(),
            Group::Classify(v) => v.len(),
        }
    }

    /// Replicates on `plan`, and the values on all items once.
    fn replicates(
        &self,
        metrics: &[&str],
        plan: Resamples<'_>,
    ) -> Result<(Replicates, Replicates)> {
        let identity = vec![(0..self.len()).collect::<Vec<_>>()];
        match self {
            Group::Caption(items) => {
                let stats = CaptionStats::new(items, metrics)?;
                let not = stats.not_computed().clone();
                Ok((
                    (stats.replicates(plan)?, not.clone()),
                    (stats.replicates(Resamples::Given(&identity))?, not),
                ))
            }
            Group::Classify(correct) => {
                let m = Mean(correct);
                let reps = metrics::bootstrap::replicates(&[&m], plan)?;
                let one = |v: Vec<f64>| {
                    (
                        BTreeMap::from([("accuracy".to_string(), v)]),
                        BTreeMap::new(),
                    )
                };
                Ok((one(reps[0].clone()), one(vec![m.full()])))
            }
        }
    }
}

/// The group (`captioning/<set>` or `classification/<task>`) of a result, with its items.
fn group<'a>(r: &'a EvalResult, group_key: &str) -> Option<Group<'a>> {
    let (kind, name) = group_key.split_once('/')?;
    match kind {
        "captioning" => {
            let e = r.captioning.get(name)?;
            (!e.items.is_empty()).then(|| Group::Caption(e.items.iter().collect()))
        }
        "classification" => {
            let e = r.classification.get(name)?;
            (!e.items.is_empty()).then(|| {
                Group::Classify(
                    e.items
                        .iter()
                        .map(|i| f64::from(u8::from(i.correct)))
                        .collect(),
                )
            })
        }
        _ => None,
    }
}

/// The groups of several results restricted to the items all of them hold, with how many
/// items each dropped (`None` when one lacks the group or its per-item data).
fn aligned_groups<'a>(
    results: &[&'a EvalResult],
    group_key: &str,
) -> Option<(Vec<Group<'a>>, Vec<usize>)> {
    let (kind, name) = group_key.split_once('/')?;
    match kind {
        "captioning" => {
            let entries: Option<Vec<&[CaptionItem]>> = results
                .iter()
                .map(|r| r.captioning.get(name).map(|e| e.items.as_slice()))
                .collect();
            let entries = entries?;
            if entries.iter().any(|e| e.is_empty()) {
                return None;
            }
            let (items, dropped) = align_items(&entries, |i| i.id.as_str());
            Some((items.into_iter().map(Group::Caption).collect(), dropped))
        }
        "classification" => {
            let entries: Option<Vec<&[crate::classify_report::ClassItem]>> = results
                .iter()
                .map(|r| r.classification.get(name).map(|e| e.items.as_slice()))
                .collect();
            let entries = entries?;
            if entries.iter().any(|e| e.is_empty()) {
                return None;
            }
            let (items, dropped) = align_items(&entries, |i| i.id.as_str());
            let groups = items
                .into_iter()
                .map(|v| {
                    Group::Classify(v.iter().map(|i| f64::from(u8::from(i.correct))).collect())
                })
                .collect();
            Some((groups, dropped))
        }
        _ => None,
    }
}

/// The replicates and full-data values of each group on `opts`' resamples.
fn all_replicates(
    groups: &[Group<'_>],
    metrics: &[&str],
    opts: &BootstrapOptions,
) -> Result<Vec<(Replicates, Replicates)>> {
    groups
        .iter()
        .map(|g| g.replicates(metrics, opts.plan()))
        .collect()
}

/// Fills the rows' `intervals` and `changes` and the report's `bootstrap`. `arms[i]` holds
/// the results of row `i` (one, or the seeds it pools).
fn add_intervals(report: &mut Report, arms: &[Vec<&EvalResult>], opts: &BootstrapOptions) {
    let n_cols = report.columns.len();
    // Column groups: `captioning/<set>` or `classification/<task>` → (column, metric).
    let mut groups: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for (c, col) in report.columns.iter().enumerate() {
        if let Some((g, metric)) = col.key.rsplit_once('/') {
            groups
                .entry(g.to_string())
                .or_default()
                .push((c, metric.to_string()));
        }
    }
    let mut reasons: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut note = |c: usize, why: String| {
        reasons.entry(c).or_default().insert(why);
    };
    let conf = opts.confidence;
    let base = arms[0][0];
    for (i, row) in report.rows.iter_mut().enumerate() {
        row.intervals = vec![None; n_cols];
        row.changes = vec![None; n_cols];
        let members = &arms[i];
        for (g, cols) in &groups {
            let present: Vec<&str> = cols
                .iter()
                .filter(|(c, _)| row.values[*c].is_some())
                .map(|(_, m)| m.as_str())
                .collect();
            if present.is_empty() {
                continue;
            }
            let what = if g.starts_with("captioning") {
                "clip"
            } else {
                "sample"
            };
            // The row's own interval: over all its items, or over its seeds and the items
            // every seed holds.
            let own = if members.len() == 1 {
                group(members[0], g).map(|grp| vec![grp])
            } else {
                aligned_groups(members, g).map(|(groups, _)| groups)
            };
            match own.map(|grps| all_replicates(&grps, &present, opts)) {
                None => {
                    for (c, m) in cols {
                        if present.contains(&m.as_str()) {
                            note(
                                *c,
                                format!("`{}`: its result file holds no per-{what} data", row.name),
                            );
                        }
                    }
                }
                Some(Err(e)) => {
                    for (c, _) in cols {
                        note(*c, format!("`{}`: {e}", row.name));
                    }
                }
                Some(Ok(sides)) => {
                    for (c, m) in cols {
                        let reps: Option<Vec<&[f64]>> = sides
                            .iter()
                            .map(|((reps, _), _)| reps.get(m).map(Vec::as_slice))
                            .collect();
                        if let Some(reps) = reps {
                            let pooled = pool_seeds(&reps, opts.seed);
                            match pooled.and_then(|p| percentile_interval(&p, conf)) {
                                Ok(iv) => row.intervals[*c] = Some([iv.low, iv.high]),
                                Err(e) => note(*c, format!("`{}`: {e}", row.name)),
                            }
                        } else if let Some(why) = sides.iter().find_map(|((_, not), _)| not.get(m))
                        {
                            note(*c, why.clone());
                        }
                    }
                }
            }
            if i == 0 {
                continue;
            }
            // The paired change against the base, on the items the base and every seed hold.
            let both: Vec<&str> = present
                .iter()
                .copied()
                .filter(|m| value(base, &format!("{g}/{m}")).is_some())
                .collect();
            if both.is_empty() {
                continue;
            }
            let with_base: Vec<&EvalResult> = std::iter::once(base)
                .chain(members.iter().copied())
                .collect();
            let Some((grps, dropped)) = aligned_groups(&with_base, g) else {
                continue;
            };
            let paired = grps[0].len();
            if paired == 0 {
                for (c, _) in cols {
                    note(*c, format!("`{}` and the base share no {what}", row.name));
                }
                continue;
            }
            let sides = match all_replicates(&grps, &both, opts) {
                Ok(x) => x,
                Err(e) => {
                    for (c, _) in cols {
                        note(*c, format!("`{}` against the base: {e}", row.name));
                    }
                    continue;
                }
            };
            let (base_side, run_sides) = sides.split_first().expect("the base and a run");
            for (c, m) in cols {
                let (Some(bv), Some(bp)) = (base_side.0 .0.get(m), base_side.1 .0.get(m)) else {
                    continue;
                };
                let reps: Option<Vec<&[f64]>> = run_sides
                    .iter()
                    .map(|((reps, _), _)| reps.get(m).map(Vec::as_slice))
                    .collect();
                let points: Option<Vec<f64>> = run_sides
                    .iter()
                    .map(|(_, (p, _))| p.get(m).map(|p| p[0]))
                    .collect();
                let (Some(reps), Some(points)) = (reps, points) else {
                    continue;
                };
                let mean = points.iter().sum::<f64>() / points.len() as f64;
                let pooled = pool_seeds(&reps, opts.seed);
                match pooled.and_then(|p| difference_interval(&p, bv, conf)) {
                    Ok(iv) => {
                        row.changes[*c] = Some(PairedChange {
                            change: mean - bp[0],
                            low: iv.low,
                            high: iv.high,
                            excludes_zero: iv.excludes_zero(),
                            paired,
                            only_base: dropped[0],
                            only_run: dropped[1..].iter().sum(),
                        })
                    }
                    Err(e) => note(*c, format!("`{}` against the base: {e}", row.name)),
                }
            }
        }
    }
    report.bootstrap = Some(ReportBootstrap {
        resamples: opts.resamples,
        seed: opts.seed,
        confidence: opts.confidence,
        no_interval: reasons
            .into_iter()
            .map(|(c, why)| {
                (
                    report.columns[c].key.clone(),
                    why.into_iter().collect::<Vec<_>>().join("; "),
                )
            })
            .collect(),
    });
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
        fn pick<T: Clone>(idx: &[usize], v: &[T]) -> Vec<T> {
            if v.is_empty() {
                return vec![];
            }
            idx.iter().map(|&i| v[i].clone()).collect()
        }
        for row in &mut self.rows {
            row.values = pick(&idx, &row.values);
            row.deltas = pick(&idx, &row.deltas);
            row.intervals = pick(&idx, &row.intervals);
            row.changes = pick(&idx, &row.changes);
            row.spread = pick(&idx, &row.spread);
            row.per_seed = row.per_seed.iter().map(|v| pick(&idx, v)).collect();
        }
        self.columns = idx.iter().map(|&i| self.columns[i].clone()).collect();
        self.omitted.retain(|k| wanted(k));
        if let Some(b) = &mut self.bootstrap {
            b.no_interval.retain(|k, _| wanted(k));
        }
        self
    }
}

/// Loads the result files and builds the report (default bootstrap).
pub fn report_files(base: &Path, runs: &[PathBuf]) -> Result<Report> {
    report_files_with(base, runs, &BootstrapOptions::default())
}

/// Loads the result files and builds the report with these bootstrap settings.
pub fn report_files_with(
    base: &Path,
    runs: &[PathBuf],
    bootstrap: &BootstrapOptions,
) -> Result<Report> {
    let base = EvalResult::load(base)?;
    let runs = runs
        .iter()
        .map(|p| EvalResult::load(p))
        .collect::<Result<Vec<_>>>()?;
    build_report_with(&base, &runs, bootstrap)
}

/// `x` ×100 with its sign and two decimals; a change that rounds to zero is `+0.00` (a mean
/// of equal values may land a hair below it).
fn signed_percent(x: f64) -> String {
    let s = format!("{:+.2}", 100.0 * x);
    if s == "-0.00" {
        "+0.00".into()
    } else {
        s
    }
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
        for (c, (v, d)) in row.values.iter().zip(&row.deltas).enumerate() {
            let spread = match row.spread.get(c).copied().flatten() {
                Some(sd) => format!(" ± {:.2}", 100.0 * sd),
                None => String::new(),
            };
            let cell = match (v, d) {
                (None, _) => "n/a".to_string(),
                (Some(v), None) => format!("{:.2}{spread}", 100.0 * v),
                (Some(v), Some(d)) => format!("{:.2}{spread} ({})", 100.0 * v, signed_percent(*d)),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    md.push('\n');
    for row in &r.rows {
        if !row.seeds.is_empty() {
            let seeds: Vec<String> = row.seeds.iter().map(u64::to_string).collect();
            md.push_str(&format!(
                "- `{}`: the mean ± standard deviation over {} training seeds ({}); seed {}: {}\n",
                row.name,
                row.seeds.len(),
                seeds.join(", "),
                seeds[0],
                row.model
                    .as_ref()
                    .map_or("?".to_string(), |m| m.to_string())
            ));
        } else if let Some(m) = &row.model {
            md.push_str(&format!("- `{}`: {m}\n", row.name));
        }
    }
    if !r.omitted.is_empty() {
        md.push_str(&format!(
            "\nNot computed for any model (omitted): {}\n",
            r.omitted.join(", ")
        ));
    }
    if let Some(b) = &r.bootstrap {
        md.push_str(&intervals_markdown(r, b, base));
    }
    md
}

/// The "Confidence intervals" section of `report.md`.
fn intervals_markdown(r: &Report, b: &ReportBootstrap, base: &str) -> String {
    let any = r
        .rows
        .iter()
        .any(|row| row.intervals.iter().any(Option::is_some));
    if !any {
        return "\nNo confidence intervals: no result file holds the per-clip or per-sample \
                data they are computed from (files written before intervals were); \
                evaluate again to get them.\n"
            .to_string();
    }
    let mut md = format!(
        "\n## Confidence intervals\n\n{}% intervals, percentile bootstrap over clips and \
         samples ({} resamples, seed {}); values ×100. A row `model − {base}` is the change \
         against the base on the clips or samples both were evaluated on, with the paired \
         bootstrap interval of the difference; `*` marks a change whose interval excludes \
         zero.{}\n\n| model |",
        percent(b.confidence),
        b.resamples,
        b.seed,
        if r.rows.iter().any(|row| !row.seeds.is_empty()) {
            " A row pooling several training seeds has its interval over seeds and clips: \
             each resample draws the seeds with replacement and the clips with replacement \
             (the same clips for every seed and for the base, those all of them hold) and \
             averages the drawn seeds' values."
        } else {
            ""
        }
    );
    for c in &r.columns {
        md.push_str(&format!(" {} |", c.title));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(r.columns.len()));
    md.push('\n');
    let pct = |x: f64| format!("{:.2}", 100.0 * x);
    let signed = signed_percent;
    let mut dropped: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for (i, row) in r.rows.iter().enumerate() {
        md.push_str(&format!("| {} |", row.name));
        for (c, v) in row.values.iter().enumerate() {
            let cell = match (v, row.intervals.get(c).copied().flatten()) {
                (None, _) => "n/a".to_string(),
                (Some(v), None) => pct(*v),
                (Some(v), Some([lo, hi])) => format!("{} [{}, {}]", pct(*v), pct(lo), pct(hi)),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
        if i == 0 {
            continue;
        }
        md.push_str(&format!("| {} − {base} |", row.name));
        for (c, col) in r.columns.iter().enumerate() {
            let cell = match row.changes.get(c).copied().flatten() {
                None => "n/a".to_string(),
                Some(p) => {
                    if p.only_base + p.only_run > 0 {
                        let group = col.key.rsplit_once('/').map_or("", |g| g.0).to_string();
                        dropped.insert((row.name.clone(), group), (p.only_base, p.only_run));
                    }
                    format!(
                        "{} [{}, {}]{}",
                        signed(p.change),
                        signed(p.low),
                        signed(p.high),
                        if p.excludes_zero { "*" } else { "" }
                    )
                }
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    if !dropped.is_empty() || !b.no_interval.is_empty() {
        md.push('\n');
    }
    for ((name, group), (only_base, only_run)) in &dropped {
        let set = group.rsplit_once('/').map_or(group.as_str(), |g| g.1);
        md.push_str(&format!(
            "- `{name}` − {base}, {set}: paired on the common items; dropped {only_base} only \
             the base holds and {only_run} only `{name}` holds.\n"
        ));
    }
    // Columns with the same reason on one line, in column order.
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in &r.columns {
        if let Some(why) = b.no_interval.get(&c.key) {
            match reasons.iter_mut().find(|(w, _)| w == why) {
                Some((_, titles)) => titles.push(&c.title),
                None => reasons.push((why, vec![&c.title])),
            }
        }
    }
    for (why, titles) in reasons {
        md.push_str(&format!(
            "- No interval for {} where none is shown: {why}.\n",
            titles.join(", ")
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
