//! CIDEr-D as pycocoevalcap 1.2 computes it (class `Cider`, `cider/cider_scorer.py`).
//!
//! pycocoevalcap 1.2 ships one CIDEr class, and it is the CIDEr-D variant of Vedantam et
//! al. (the one the audio-captioning literature and aac-metrics' `cider_d` report): tf-idf
//! n-gram vectors (n = 1..4) with document frequencies taken over the reference sets of the
//! corpus, hypothesis weights clipped by the reference weights, a Gaussian length penalty
//! with sigma = 6, the mean over n, the mean over references, times 10. Its quirks are kept:
//! the "length" in the penalty is the number of bigrams, and the idf uses `log(N clips)`.

use std::collections::HashMap;

use crate::error::{check_inputs, Result};
use crate::ngram::{order, Counts, Ngram, Vocab, MAX_N};
use crate::numpy::{np_mean, np_sum};

pub(crate) const SIGMA: f64 = 6.0;

/// CIDEr-D for the corpus (mean over clips) and for each clip.
#[derive(Debug, Clone, PartialEq)]
pub struct CiderScores {
    pub corpus: f64,
    pub per_clip: Vec<f64>,
}

/// tf-idf vector of one caption (`counts2vec`): weights in first-occurrence order.
struct TfIdf {
    weights: [Vec<(Ngram, f64)>; MAX_N],
    norm: [f64; MAX_N],
    length: f64,
}

impl TfIdf {
    fn new(counts: &Counts, doc_freq: &HashMap<Ngram, f64>, log_clips: f64) -> Self {
        let mut weights: [Vec<(Ngram, f64)>; MAX_N] = Default::default();
        let mut norm = [0.0; MAX_N];
        let mut length = 0u32;
        for &(ngram, tf) in &counts.entries {
            let df = doc_freq.get(&ngram).copied().unwrap_or(0.0).max(1.0).ln();
            let n = order(&ngram) - 1;
            let w = f64::from(tf) * (log_clips - df);
            weights[n].push((ngram, w));
            norm[n] += w.powi(2);
            if n == 1 {
                length += tf;
            }
        }
        Self {
            weights,
            norm: norm.map(f64::sqrt),
            length: f64::from(length),
        }
    }
}

/// `sim`: clipped cosine similarity per n with the Gaussian length penalty.
fn similarity(hyp: &TfIdf, reference: &TfIdf) -> [f64; MAX_N] {
    let delta = hyp.length - reference.length;
    let penalty = std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
    let mut val = [0.0; MAX_N];
    for (n, v) in val.iter_mut().enumerate() {
        let lookup: HashMap<Ngram, f64> = reference.weights[n].iter().copied().collect();
        for (ngram, w) in &hyp.weights[n] {
            let r = lookup.get(ngram).copied().unwrap_or(0.0);
            *v += w.min(r) * r;
        }
        if hyp.norm[n] != 0.0 && reference.norm[n] != 0.0 {
            *v /= hyp.norm[n] * reference.norm[n];
        }
        *v *= penalty;
    }
    val
}

/// CIDEr-D of tokenised `candidates` against tokenised `references` (one list per clip).
///
/// Document frequencies come from this corpus, so a clip's score depends on the others;
/// a corpus of one clip scores 0 (`log(1) = 0`), as in pycocoevalcap.
pub fn cider_d(candidates: &[String], references: &[Vec<String>]) -> Result<CiderScores> {
    check_inputs(candidates, references)?;
    let mut vocab = Vocab::default();
    let ref_counts: Vec<Vec<Counts>> = references
        .iter()
        .map(|refs| refs.iter().map(|r| Counts::new(&vocab.words(r))).collect())
        .collect();
    let hyp_counts: Vec<Counts> = candidates
        .iter()
        .map(|c| Counts::new(&vocab.words(c)))
        .collect();

    let mut doc_freq: HashMap<Ngram, f64> = HashMap::new();
    for refs in &ref_counts {
        let mut seen: Vec<Ngram> = refs
            .iter()
            .flat_map(|c| c.entries.iter().map(|e| e.0))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for ngram in seen {
            *doc_freq.entry(ngram).or_insert(0.0) += 1.0;
        }
    }
    let log_clips = (ref_counts.len() as f64).ln();

    let per_clip: Vec<f64> = hyp_counts
        .iter()
        .zip(&ref_counts)
        .map(|(hyp, refs)| {
            let hyp = TfIdf::new(hyp, &doc_freq, log_clips);
            let mut score = [0.0; MAX_N];
            for r in refs {
                let sim = similarity(&hyp, &TfIdf::new(r, &doc_freq, log_clips));
                for (s, v) in score.iter_mut().zip(sim) {
                    *s += v;
                }
            }
            let mut avg = np_sum(&score) / MAX_N as f64;
            avg /= refs.len() as f64;
            avg * 10.0
        })
        .collect();
    Ok(CiderScores {
        corpus: np_mean(&per_clip),
        per_clip,
    })
}
