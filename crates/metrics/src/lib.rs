//! Captioning metrics equal to pycocoevalcap 1.2, natively: BLEU-1..4, ROUGE-L and CIDEr-D,
//! with pycocoevalcap's preprocessing (Stanford PTBTokenizer of CoreNLP 3.4.1 on the raw
//! captions, tokens lower-cased, punctuation tokens removed) re-implemented in Rust.
//!
//! [`score_captions`] is the one-call entry point, taking raw captions. The scorers in
//! [`bleu`], [`rouge_l`] and [`cider_d`] take already tokenised captions, like the
//! pycocoevalcap classes they mirror; [`tokenize`] produces those.
//!
//! [`classification`] scores closed-set classification (accuracy, macro-F1, confusion).
//!
//! [`bootstrap`] gives percentile-bootstrap confidence intervals over clips, and paired
//! intervals of a difference, with each metric recomputed per resample as its corpus value is.
//!
//! Parity: `tests/` compares against fixtures produced by pycocoevalcap itself
//! (`scripts/make_metric_fixtures.py`) to 1e-6 on corpus and per-clip scores, and the
//! tokeniser against the Java tokenizer's exact output.

pub mod bleu;
pub mod bootstrap;
pub mod cider_d;
pub mod classification;
mod error;
mod ngram;
mod numpy;
pub mod rouge_l;
mod text;
pub mod tokenize;

pub use error::{Error, Result};
pub use ngram::MAX_N;
pub use text::{py_is_space, py_rstrip, py_split};

/// Corpus-level scores, as pycocoevalcap's `COCOEvalCap.eval` reports them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorpusScores {
    /// BLEU-1..4 (pooled counts, closest reference length).
    pub bleu: [f64; MAX_N],
    /// Mean ROUGE-L over clips.
    pub rouge_l: f64,
    /// Mean CIDEr-D over clips.
    pub cider_d: f64,
}

/// Scores of one clip (pycocoevalcap's per-image scores).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipScores {
    /// BLEU-1..4 of this clip alone.
    pub bleu: [f64; MAX_N],
    pub rouge_l: f64,
    pub cider_d: f64,
}

/// Corpus and per-clip scores of a set of captions.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionScores {
    pub corpus: CorpusScores,
    /// One entry per prediction, in input order.
    pub per_clip: Vec<ClipScores>,
}

/// Scores raw `predictions` against raw `references` (one non-empty list per prediction),
/// exactly as pycocoevalcap 1.2 does: references and predictions are each tokenised in one
/// PTBTokenizer batch ([`tokenize_corpus`]), then BLEU(4), ROUGE-L and CIDEr-D are computed
/// on the results ([`score_tokenized`]).
///
/// Errors: [`Error::LengthMismatch`], [`Error::EmptyReferences`] (naming the clip),
/// [`Error::NoCaptions`] for empty input.
pub fn score_captions(predictions: &[String], references: &[Vec<String>]) -> Result<CaptionScores> {
    error::check_inputs(predictions, references)?;
    let (hyps, refs) = tokenize_corpus(predictions, references);
    score_tokenized(&hyps, &refs)
}

/// pycocoevalcap's tokenisation of a corpus: the predictions in one PTBTokenizer batch, all
/// references in another, regrouped per clip.
pub fn tokenize_corpus(
    predictions: &[String],
    references: &[Vec<String>],
) -> (Vec<String>, Vec<Vec<String>>) {
    let hyps = tokenize::tokenize_captions(predictions);
    let flat: Vec<&str> = references.iter().flatten().map(String::as_str).collect();
    let mut flat_tokens = tokenize::tokenize_captions(&flat).into_iter();
    let refs = references
        .iter()
        .map(|r| flat_tokens.by_ref().take(r.len()).collect())
        .collect();
    (hyps, refs)
}

/// BLEU(4), ROUGE-L and CIDEr-D of already tokenised captions ([`tokenize_corpus`]).
///
/// Errors: as [`score_captions`].
pub fn score_tokenized(hyps: &[String], refs: &[Vec<String>]) -> Result<CaptionScores> {
    let bleu = bleu::bleu(hyps, refs)?;
    let rouge = rouge_l::rouge_l(hyps, refs)?;
    let cider = cider_d::cider_d(hyps, refs)?;
    let per_clip = (0..hyps.len())
        .map(|i| ClipScores {
            bleu: bleu.per_clip[i],
            rouge_l: rouge.per_clip[i],
            cider_d: cider.per_clip[i],
        })
        .collect();
    Ok(CaptionScores {
        corpus: CorpusScores {
            bleu: bleu.corpus,
            rouge_l: rouge.corpus,
            cider_d: cider.corpus,
        },
        per_clip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_name_the_problem() {
        let p = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            score_captions(&p, &[vec!["a".into()]]),
            Err(Error::LengthMismatch {
                predictions: 2,
                references: 1
            })
        );
        assert_eq!(
            score_captions(&p, &[vec!["a".into()], vec![]]),
            Err(Error::EmptyReferences { index: 1 })
        );
        assert_eq!(score_captions(&[], &[]), Err(Error::NoCaptions));
    }
}
