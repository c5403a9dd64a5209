//! BLEU-1..4 of pycocoevalcap (`bleu/bleu_scorer.py`, `compute_score(option='closest')`).
//!
//! Per clip: clipped n-gram matches against the per-n-gram maximum count over the
//! references, the reference length closest to the hypothesis length (the shorter on ties),
//! and the brevity penalty `exp(1 - r/c)` when `c < r`; the smoothing constants `tiny` and
//! `small` of the original are kept. The corpus score pools the counts and lengths of all
//! clips before taking the geometric mean.

use std::collections::HashMap;

use crate::error::{check_inputs, Result};
use crate::ngram::{order, Counts, Ngram, Vocab, MAX_N};

const SMALL: f64 = 1e-9;
const TINY: f64 = 1e-15;

/// BLEU-1..4 for the corpus and for each clip (`[BLEU-1, BLEU-2, BLEU-3, BLEU-4]`).
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScores {
    pub corpus: [f64; MAX_N],
    pub per_clip: Vec<[f64; MAX_N]>,
}

/// Statistics of one clip (`cook_test` in pycocoevalcap).
pub(crate) struct Cooked {
    pub testlen: usize,
    pub reflen: usize,
    pub guess: [usize; MAX_N],
    pub correct: [usize; MAX_N],
}

pub(crate) fn cook<'a>(
    vocab: &mut Vocab<'a>,
    hypothesis: &'a str,
    references: &'a [String],
) -> Cooked {
    let mut reflens = Vec::with_capacity(references.len());
    let mut max_counts: HashMap<Ngram, u32> = HashMap::new();
    for reference in references {
        let words = vocab.words(reference);
        reflens.push(words.len());
        for (ngram, count) in Counts::new(&words).entries {
            let slot = max_counts.entry(ngram).or_insert(0);
            *slot = (*slot).max(count);
        }
    }
    let words = vocab.words(hypothesis);
    let testlen = words.len();
    // min((abs(l - testlen), l) for l in reflen)[1]
    let reflen = reflens
        .iter()
        .copied()
        .min_by_key(|&l| (l.abs_diff(testlen), l))
        .unwrap_or(0);
    let mut guess = [0; MAX_N];
    for (k, g) in guess.iter_mut().enumerate() {
        *g = (testlen + 1).saturating_sub(k + 1);
    }
    let mut correct = [0; MAX_N];
    for (ngram, count) in Counts::new(&words).entries {
        let clip = max_counts.get(&ngram).copied().unwrap_or(0).min(count);
        correct[order(&ngram) - 1] += clip as usize;
    }
    Cooked {
        testlen,
        reflen,
        guess,
        correct,
    }
}

/// The geometric means of n-gram precisions times the brevity penalty.
pub(crate) fn combine(
    testlen: f64,
    reflen: f64,
    guess: &[usize; MAX_N],
    correct: &[usize; MAX_N],
) -> [f64; MAX_N] {
    let mut scores = [0.0; MAX_N];
    let mut product = 1.0;
    for k in 0..MAX_N {
        product *= (correct[k] as f64 + TINY) / (guess[k] as f64 + SMALL);
        scores[k] = product.powf(1.0 / (k + 1) as f64);
    }
    let ratio = (testlen + TINY) / (reflen + SMALL);
    if ratio < 1.0 {
        let penalty = (1.0 - 1.0 / ratio).exp();
        for s in &mut scores {
            *s *= penalty;
        }
    }
    scores
}

/// BLEU-1..4 of tokenised `hypotheses` against tokenised `references` (one list per clip).
pub fn bleu(hypotheses: &[String], references: &[Vec<String>]) -> Result<BleuScores> {
    check_inputs(hypotheses, references)?;
    let mut vocab = Vocab::default();
    let (mut testlen, mut reflen) = (0usize, 0usize);
    let (mut guess, mut correct) = ([0usize; MAX_N], [0usize; MAX_N]);
    let mut per_clip = Vec::with_capacity(hypotheses.len());
    for (hypothesis, refs) in hypotheses.iter().zip(references) {
        let c = cook(&mut vocab, hypothesis, refs);
        testlen += c.testlen;
        reflen += c.reflen;
        for k in 0..MAX_N {
            guess[k] += c.guess[k];
            correct[k] += c.correct[k];
        }
        per_clip.push(combine(
            c.testlen as f64,
            c.reflen as f64,
            &c.guess,
            &c.correct,
        ));
    }
    let corpus = combine(testlen as f64, reflen as f64, &guess, &correct);
    Ok(BleuScores { corpus, per_clip })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_caption_scores_one() {
        let s = bleu(
            &["a dog barks loudly".into()],
            &[vec!["a dog barks loudly".into()]],
        )
        .unwrap();
        for v in s.corpus {
            assert!((v - 1.0).abs() < 1e-9, "{v}");
        }
    }
}
