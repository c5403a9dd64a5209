//! Closed-set classification scores: accuracy, per-class precision / recall / F1, macro-F1 and
//! the confusion matrix, with answers that map to no label ("unmatched") counted as wrong.
//!
//! Conventions (scikit-learn's where one exists):
//! * accuracy = correct / all samples (unmatched ones included, as wrong);
//! * per-class accuracy = recall = correct of the class / its support;
//! * precision = correct of the class / predictions of the class, 0 when it was never
//!   predicted (scikit-learn's `zero_division=0`); F1 = 2PR / (P + R), 0 when P + R = 0;
//! * macro-F1 = mean F1 over the labels that occur as a target or as a prediction
//!   (`f1_score(average="macro")` with `labels=None`); "unmatched" is not a label and never
//!   enters the average.
//! * confusion[t][p] counts samples of target t predicted as p; column `n_labels` counts the
//!   unmatched ones of each target, so every row sums to the support.

use crate::error::{Error, Result};

/// Scores of one label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassStats {
    /// Samples whose target is this label.
    pub support: usize,
    /// Of those, predicted right.
    pub correct: usize,
    /// Samples predicted as this label.
    pub predicted: usize,
    pub precision: f64,
    /// = per-class accuracy.
    pub recall: f64,
    pub f1: f64,
}

/// Scores of a set of (target, prediction) pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationScores {
    pub samples: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Labels averaged in `macro_f1` (those occurring as a target or a prediction).
    pub macro_labels: usize,
    /// Predictions that mapped to no label.
    pub unmatched: usize,
    /// One per label, in label order.
    pub per_class: Vec<ClassStats>,
    /// [n_labels][n_labels + 1]: rows targets, columns predictions, last column unmatched.
    pub confusion: Vec<Vec<usize>>,
}

/// Scores `pairs` of (target label, predicted label or `None` for unmatched) over `n_labels`
/// labels. Errors: [`Error::NoSamples`], [`Error::LabelOutOfRange`] (naming the pair).
pub fn classification_scores(
    n_labels: usize,
    pairs: &[(usize, Option<usize>)],
) -> Result<ClassificationScores> {
    if pairs.is_empty() {
        return Err(Error::NoSamples);
    }
    let mut confusion = vec![vec![0usize; n_labels + 1]; n_labels];
    for (index, &(t, p)) in pairs.iter().enumerate() {
        let col = p.unwrap_or(n_labels);
        for label in [Some(t), p].into_iter().flatten() {
            if label >= n_labels {
                return Err(Error::LabelOutOfRange {
                    index,
                    label,
                    n_labels,
                });
            }
        }
        confusion[t][col] += 1;
    }
    let per_class: Vec<ClassStats> = (0..n_labels)
        .map(|c| {
            let support: usize = confusion[c].iter().sum();
            let correct = confusion[c][c];
            let predicted: usize = confusion.iter().map(|row| row[c]).sum();
            let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let precision = ratio(correct, predicted);
            let recall = ratio(correct, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassStats {
                support,
                correct,
                predicted,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let present: Vec<&ClassStats> = per_class
        .iter()
        .filter(|s| s.support > 0 || s.predicted > 0)
        .collect();
    let macro_f1 = present.iter().map(|s| s.f1).sum::<f64>() / present.len() as f64;
    let correct: usize = per_class.iter().map(|s| s.correct).sum();
    Ok(ClassificationScores {
        samples: pairs.len(),
        correct,
        accuracy: correct as f64 / pairs.len() as f64,
        macro_f1,
        macro_labels: present.len(),
        unmatched: pairs.iter().filter(|p| p.1.is_none()).count(),
        per_class,
        confusion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_case() {
        // 3 labels; label 2 never occurs as a target, is predicted once.
        // targets: 0 0 0 1 1 ; predictions: 0 1 None 1 2
        let pairs = [
            (0, Some(0)),
            (0, Some(1)),
            (0, None),
            (1, Some(1)),
            (1, Some(2)),
        ];
        let s = classification_scores(3, &pairs).unwrap();
        assert_eq!(s.samples, 5);
        assert_eq!(s.correct, 2);
        assert!((s.accuracy - 0.4).abs() < 1e-15);
        assert_eq!(s.unmatched, 1);
        assert_eq!(
            s.confusion,
            vec![vec![1, 1, 0, 1], vec![0, 1, 1, 0], vec![0, 0, 0, 0]]
        );
        // class 0: P = 1/1, R = 1/3, F1 = 0.5; class 1: P = 1/2, R = 1/2, F1 = 0.5;
        // class 2: P = 0/1, R = 0/0 → 0, F1 = 0.
        let f1: Vec<f64> = s.per_class.iter().map(|c| c.f1).collect();
        assert!((f1[0] - 0.5).abs() < 1e-15 && (f1[1] - 0.5).abs() < 1e-15 && f1[2] == 0.0);
        assert_eq!(s.macro_labels, 3);
        assert!((s.macro_f1 - 1.0 / 3.0).abs() < 1e-15);
        assert!((s.per_class[0].recall - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn absent_labels_do_not_dilute_macro_f1() {
        let s = classification_scores(4, &[(0, Some(0)), (1, Some(1))]).unwrap();
        assert_eq!(s.macro_labels, 2);
        assert_eq!(s.macro_f1, 1.0);
    }

    #[test]
    fn errors() {
        assert_eq!(classification_scores(2, &[]), Err(Error::NoSamples));
        assert_eq!(
            classification_scores(2, &[(0, Some(0)), (0, Some(2))]),
            Err(Error::LabelOutOfRange {
                index: 1,
                label: 2,
                n_labels: 2
            })
        );
    }
}
