//! ROUGE-L of pycocoevalcap (`rouge/rouge.py`): LCS-based F-measure with beta = 1.2,
//! precision and recall each maximised over the references, mean over clips.
//!
//! Tokens come from `str.split(" ")`, as in the original, so an empty caption is one empty
//! token (two empty captions score 1.0).

use crate::error::{check_inputs, Result};
use crate::numpy::np_mean;

const BETA: f64 = 1.2;

/// ROUGE-L for the corpus (mean over clips) and for each clip.
#[derive(Debug, Clone, PartialEq)]
pub struct RougeScores {
    pub corpus: f64,
    pub per_clip: Vec<f64>,
}

/// Length of the longest common subsequence of two token sequences (`my_lcs`).
fn lcs(a: &[&str], b: &[&str]) -> usize {
    let (long, short) = if a.len() < b.len() { (b, a) } else { (a, b) };
    let mut row = vec![0usize; short.len() + 1];
    for x in long {
        let mut diagonal = 0;
        for (j, y) in short.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[short.len()]
}

/// `Rouge.calc_score` for one clip.
pub fn rouge_l_clip(candidate: &str, references: &[String]) -> f64 {
    let cand: Vec<&str> = candidate.split(' ').collect();
    let (mut prec_max, mut rec_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for reference in references {
        let refr: Vec<&str> = reference.split(' ').collect();
        let common = lcs(&refr, &cand) as f64;
        prec_max = prec_max.max(common / cand.len() as f64);
        rec_max = rec_max.max(common / refr.len() as f64);
    }
    if prec_max != 0.0 && rec_max != 0.0 {
        let b2 = BETA.powi(2);
        ((1.0 + b2) * prec_max * rec_max) / (rec_max + b2 * prec_max)
    } else {
        0.0
    }
}

/// ROUGE-L of tokenised `candidates` against tokenised `references` (one list per clip).
pub fn rouge_l(candidates: &[String], references: &[Vec<String>]) -> Result<RougeScores> {
    check_inputs(candidates, references)?;
    let per_clip: Vec<f64> = candidates
        .iter()
        .zip(references)
        .map(|(c, r)| rouge_l_clip(c, r))
        .collect();
    Ok(RougeScores {
        corpus: np_mean(&per_clip),
        per_clip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_lengths() {
        assert_eq!(lcs(&["a", "b", "c", "d"], &["b", "d"]), 2);
        assert_eq!(lcs(&["x"], &["a", "b"]), 0);
    }

    #[test]
    fn empty_captions_match() {
        assert_eq!(rouge_l_clip("", &[String::new()]), 1.0);
    }
}
