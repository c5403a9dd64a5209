//! The difficulty model (the "heuristic model" of cross-modal distillation, arXiv
//! 2505.06803): which classes of a multiple-choice task the student finds hard, so that the
//! teacher's knowledge is transferred on those only.
//!
//! **The design is ours** (the paper does not publish its heuristic). It predicts each
//! class's difficulty from what was measured on held-out (validation) data, never on the
//! data the quality is judged on:
//!
//! * the student's run ([`crate::choice::ChoiceSummary`]: per class items `n`, correct `k`,
//!   mean probability of the true letter `q`),
//! * optionally the teacher's run on the same items (another model, usually another
//!   condition: per class correct `k_T` of `n_T`), and both prediction files (beside the
//!   summaries) for the items' agreement.
//!
//! Per-class rates are **Beta-smoothed** towards the run's overall rate so that a class with
//! few items is not extreme: `r̃ = (x + α·m) / (n + α)` for `x` successes of `n`, the overall
//! rate `m`, and the prior strength `α` ([`DifficultyModel::prior_strength`], default 4
//! pseudo-items; 0 for the raw rates). Five signals, each in [0, 1]:
//!
//! | signal | definition |
//! |---|---|
//! | `error` | `1 − ã`, `ã` the smoothed student accuracy |
//! | `unconfidence` | `1 − q̃`, `q̃ = (n·q + α·m_q)/(n + α)`, `m_q` the mean true-letter probability (likelihood runs only) |
//! | `teacher_advantage` | `max(0, t̃ − ã)`, `t̃` the smoothed teacher accuracy: the class is one the teacher can teach |
//! | `disagreement` | `1 − g̃`, `g` the share of the class's items (in both prediction files) on which teacher and student predict the same class |
//! | `rarity` | `1 − n / max_c n_c`: classes with few held-out items (0 for all in a balanced set) |
//!
//! The score is the weighted mean of the signals that were measured,
//! `Σ wᵢ sᵢ / Σ wᵢ` ∈ [0, 1] ([`DifficultyWeights`]: defaults error 0.5, unconfidence 0.2,
//! teacher advantage 0.15, disagreement 0.1, rarity 0.05); a signal that was not measured
//! (no teacher, a generate-mode run, no prediction files) leaves the mean with its weight.
//! Classes are ranked by score, hardest first (ties: the task's class order), and a
//! [`Selection`] picks the hard set: `top-k`, `threshold` (score ≥ t), `all`, or an explicit
//! list. The output is a [`DifficultyFile`] (data crate: the trainer reads it).
//!
//! Its own quality ([`quality`]): Spearman's rank correlation between the predicted score and
//! the student's error per class measured on separate test data (classes with test items;
//! ties as average ranks), beside the same correlation for the `error` signal alone (the
//! baseline the combined score has to beat).

use std::collections::{BTreeMap, HashMap};

use data::choice::{
    DifficultyClass, DifficultyFile, DifficultyQuality, DifficultyWeights, Selection,
    DIFFICULTY_FORMAT,
};
use serde::{Deserialize, Serialize};

use crate::choice::{cell, ChoiceRecord, ChoiceSummary};
use crate::error::{Error, Result};

/// The model's settings: the signal weights and the prior strength.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DifficultyModel {
    pub weights: DifficultyWeights,
    /// Pseudo-items of the Beta prior (≥ 0; default 4).
    pub prior_strength: f64,
}

impl Default for DifficultyModel {
    fn default() -> Self {
        Self {
            weights: DifficultyWeights::default(),
            prior_strength: 4.0,
        }
    }
}

/// One run the model reads: its summary, where it came from, and its predictions (for the
/// agreement signal).
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub summary: &'a ChoiceSummary,
    /// How the run is named in the output (its summary file).
    pub name: &'a str,
    pub predictions: Option<&'a [ChoiceRecord]>,
}

/// `(x + α·m) / (n + α)`; `m` alone when `n + α` is 0.
fn smooth(x: f64, n: f64, m: f64, alpha: f64) -> f64 {
    if n + alpha > 0.0 {
        (x + alpha * m) / (n + alpha)
    } else {
        m
    }
}

fn same_task(a: &ChoiceSummary, b: &ChoiceSummary, name: &str) -> Result<()> {
    if a.task != b.task || a.classes != b.classes {
        return Err(Error::Invalid(format!(
            "{name}: task `{}` with classes {:?}, but the student's is `{}` with {:?}",
            b.task, b.classes, a.task, a.classes
        )));
    }
    Ok(())
}

/// Per class of the task: (items in both files, items on which both predict the same class).
fn agreement(
    classes: &[String],
    student: &[ChoiceRecord],
    teacher: &[ChoiceRecord],
) -> Vec<(usize, usize)> {
    let by_id: HashMap<&str, &ChoiceRecord> = teacher.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = vec![(0, 0); classes.len()];
    for s in student {
        let (Some(t), Some(c)) = (
            by_id.get(s.id.as_str()),
            classes.iter().position(|c| *c == s.class),
        ) else {
            continue;
        };
        out[c].0 += 1;
        let same = s.predicted_class.is_some() && s.predicted_class == t.predicted_class;
        out[c].1 += usize::from(same);
    }
    out
}

/// Scores, ranks and selects the classes of `student`'s task.
pub fn difficulty(
    student: Run,
    teacher: Option<Run>,
    model: &DifficultyModel,
    selection: &Selection,
) -> Result<DifficultyFile> {
    model.weights.validate()?;
    let alpha = model.prior_strength;
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(Error::option(
            "prior_strength",
            format!("{alpha}; must be a finite number ≥ 0"),
        ));
    }
    let s = student.summary;
    if s.per_class.len() != s.classes.len() {
        return Err(Error::Invalid(format!(
            "{}: {} per-class rows for {} classes",
            student.name,
            s.per_class.len(),
            s.classes.len()
        )));
    }
    let total: usize = s.per_class.iter().map(|c| c.support).sum();
    if total == 0 {
        return Err(Error::Invalid(format!("{}: no items", student.name)));
    }
    let m_acc = s.per_class.iter().map(|c| c.correct).sum::<usize>() as f64 / total as f64;
    // Confidence: only when every class with items has one (a likelihood run).
    let confidences = s
        .per_class
        .iter()
        .all(|c| c.support == 0 || c.confidence.is_some());
    let m_conf = s.confidence.filter(|_| confidences);
    if let Some(t) = teacher {
        same_task(s, t.summary, t.name)?;
    }
    let teacher_rates = teacher.map(|t| {
        let n: usize = t.summary.per_class.iter().map(|c| c.support).sum();
        let k: usize = t.summary.per_class.iter().map(|c| c.correct).sum();
        (t.summary, k as f64 / n.max(1) as f64)
    });
    let agree = match (student.predictions, teacher.and_then(|t| t.predictions)) {
        (Some(sp), Some(tp)) => {
            let a = agreement(&s.classes, sp, tp);
            let n: usize = a.iter().map(|x| x.0).sum();
            let k: usize = a.iter().map(|x| x.1).sum();
            (n > 0).then(|| (a, k as f64 / n as f64))
        }
        _ => None,
    };
    let max_n = s.per_class.iter().map(|c| c.support).max().unwrap_or(0) as f64;
    let w = &model.weights;
    let mut classes = Vec::with_capacity(s.classes.len());
    for (i, c) in s.per_class.iter().enumerate() {
        let n = c.support as f64;
        let acc = smooth(c.correct as f64, n, m_acc, alpha);
        let mut signals = BTreeMap::new();
        signals.insert("error".to_string(), (1.0 - acc, w.error));
        if let Some(mq) = m_conf {
            let q = smooth(c.confidence.unwrap_or(0.0) * n, n, mq, alpha);
            signals.insert(
                "unconfidence".into(),
                ((1.0 - q).clamp(0.0, 1.0), w.unconfidence),
            );
        }
        let mut teacher_accuracy = None;
        if let Some((ts, mt)) = teacher_rates {
            let tc = &ts.per_class[i];
            teacher_accuracy = tc.accuracy;
            let t = smooth(tc.correct as f64, tc.support as f64, mt, alpha);
            signals.insert(
                "teacher_advantage".into(),
                ((t - acc).max(0.0), w.teacher_advantage),
            );
        }
        let mut agreement = None;
        if let Some((a, mg)) = &agree {
            let (n_i, k_i) = a[i];
            agreement = (n_i > 0).then(|| k_i as f64 / n_i as f64);
            let g = smooth(k_i as f64, n_i as f64, *mg, alpha);
            signals.insert("disagreement".into(), (1.0 - g, w.disagreement));
        }
        signals.insert("rarity".into(), (1.0 - n / max_n, w.rarity));
        let weight: f64 = signals.values().map(|(_, w)| w).sum();
        if weight <= 0.0 {
            return Err(Error::option(
                "weights",
                "every measured signal has weight 0 (the teacher's signals need a teacher run)",
            ));
        }
        let score = signals.values().map(|(v, w)| v * w).sum::<f64>() / weight;
        classes.push(DifficultyClass {
            class: c.class.clone(),
            score: score.clamp(0.0, 1.0),
            rank: 0,
            selected: false,
            support: c.support,
            accuracy: c.accuracy,
            smoothed_accuracy: acc,
            confidence: c.confidence,
            teacher_accuracy,
            agreement,
            frequency: n / total as f64,
            signals: signals.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        });
    }
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by(|&a, &b| {
        classes[b]
            .score
            .total_cmp(&classes[a].score)
            .then(a.cmp(&b))
    });
    for (r, &i) in order.iter().enumerate() {
        classes[i].rank = r + 1;
    }
    let selected = select(&mut classes, &order, selection)?;
    Ok(DifficultyFile {
        format: DIFFICULTY_FORMAT,
        task: s.task.clone(),
        student: match &s.model {
            Some(m) => format!("{} ({m})", student.name),
            None => student.name.to_string(),
        },
        teacher: teacher.map(|t| match &t.summary.model {
            Some(m) => format!("{} ({m})", t.name),
            None => t.name.to_string(),
        }),
        weights: model.weights.clone(),
        prior_strength: alpha,
        classes,
        selection: selection.clone(),
        selected,
        quality: None,
    })
}

/// Marks the selected classes and returns their names, hardest first (`order`: class
/// indices by rank). A list naming a class the task lacks, or `top-k` beyond the number of
/// classes, is an error.
fn select(
    classes: &mut [DifficultyClass],
    order: &[usize],
    selection: &Selection,
) -> Result<Vec<String>> {
    let n = classes.len();
    let chosen: Vec<bool> = match selection {
        Selection::TopK { k } => {
            if *k == 0 || *k > n {
                return Err(Error::option(
                    "select",
                    format!("top-k:{k}, but the task has {n} classes"),
                ));
            }
            classes.iter().map(|c| c.rank <= *k).collect()
        }
        Selection::Threshold { threshold } => {
            classes.iter().map(|c| c.score >= *threshold).collect()
        }
        Selection::All => vec![true; n],
        Selection::List { classes: names } => {
            let mut on = vec![false; n];
            for name in names {
                let key = name.trim().to_lowercase();
                let i = classes
                    .iter()
                    .position(|c| c.class == *name)
                    .or_else(|| {
                        classes
                            .iter()
                            .position(|c| c.class.trim().to_lowercase() == key)
                    })
                    .ok_or_else(|| {
                        Error::option(
                            "select",
                            format!(
                                "`{name}` is not a class ({})",
                                classes
                                    .iter()
                                    .map(|c| c.class.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                on[i] = true;
            }
            on
        }
    };
    for (c, on) in classes.iter_mut().zip(&chosen) {
        c.selected = *on;
    }
    Ok(order
        .iter()
        .filter(|&&i| chosen[i])
        .map(|&i| classes[i].class.clone())
        .collect())
}

/// Ranks from 1, ties given the average of the ranks they span.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) hold ranks i+1..=j+1.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            ranks[o] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks. `None` with
/// fewer than two pairs, different lengths, or no spread on either side.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The difficulty file's quality against the student's test run: Spearman's correlation
/// between each class's predicted score and its test error `1 − accuracy` over the classes
/// with test items, and the same for the `error` signal alone.
pub fn quality(
    file: &DifficultyFile,
    test: &ChoiceSummary,
    test_name: &str,
) -> Result<DifficultyQuality> {
    if test.task != file.task {
        return Err(Error::Invalid(format!(
            "{test_name}: task `{}`, but the difficulty file's is `{}`",
            test.task, file.task
        )));
    }
    let (mut score, mut error_only, mut test_error) = (vec![], vec![], vec![]);
    for t in &test.per_class {
        let Some(acc) = t.accuracy else { continue };
        let c = file
            .classes
            .iter()
            .find(|c| c.class == t.class)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{test_name}: class `{}` is not in the difficulty file",
                    t.class
                ))
            })?;
        score.push(c.score);
        error_only.push(1.0 - c.smoothed_accuracy);
        test_error.push(1.0 - acc);
    }
    Ok(DifficultyQuality {
        test: test_name.to_string(),
        classes: score.len(),
        spearman: spearman(&score, &test_error),
        error_only_spearman: spearman(&error_only, &test_error),
    })
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
}

/// The ranking as a Markdown table, the selection and the quality.
pub fn difficulty_markdown(f: &DifficultyFile) -> String {
    let mut md = format!(
        "# Difficulty of task `{}` for the student\n\nStudent: {}\n\n",
        f.task, f.student
    );
    if let Some(t) = &f.teacher {
        md.push_str(&format!("Teacher: {t}\n\n"));
    }
    md.push_str(&format!(
        "Selection: {} → {} of {} classes\n\n",
        f.selection,
        f.selected.len(),
        f.classes.len()
    ));
    md.push_str(
        "| rank | class | score | selected | items | accuracy | confidence | teacher accuracy | agreement |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let mut by_rank: Vec<&DifficultyClass> = f.classes.iter().collect();
    by_rank.sort_by_key(|c| c.rank);
    for c in by_rank {
        md.push_str(&format!(
            "| {} | {} | {:.3} | {} | {} | {} | {} | {} | {} |\n",
            c.rank,
            cell(&c.class),
            c.score,
            if c.selected { "yes" } else { "" },
            c.support,
            num(c.accuracy),
            num(c.confidence),
            num(c.teacher_accuracy),
            num(c.agreement)
        ));
    }
    if let Some(q) = &f.quality {
        md.push_str(&format!(
            "\nQuality on {} ({} classes): Spearman ρ(score, test error) = {}; error signal alone: {}\n",
            q.test,
            q.classes,
            num(q.spearman),
            num(q.error_only_spearman)
        ));
    }
    md
}
