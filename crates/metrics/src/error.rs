//! The crate's one error type.

/// Everything that can be wrong with the captions handed to the scorers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Predictions and reference lists differ in number.
    #[error(
        "{predictions} predictions but {references} reference lists: need one list per prediction"
    )]
    LengthMismatch {
        predictions: usize,
        references: usize,
    },

    /// A clip has no reference caption (pycocoevalcap asserts `len(refs) > 0`).
    #[error("clip {index} has no reference captions")]
    EmptyReferences { index: usize },

    /// Nothing to score: the corpus scores would be undefined.
    #[error("no captions to score")]
    NoCaptions,

    /// No classification samples: accuracy would be undefined.
    #[error("no samples to score")]
    NoSamples,

    /// A target or prediction that is not a label index.
    #[error("pair {index}: label {label} is out of range (there are {n_labels} labels)")]
    LabelOutOfRange {
        index: usize,
        label: usize,
        n_labels: usize,
    },

    /// A bootstrap confidence level outside (0, 1).
    #[error("confidence {confidence} is not in (0, 1)")]
    Confidence { confidence: f64 },

    /// A bootstrap over no items, or with no resamples.
    #[error("bootstrap: {0}")]
    Bootstrap(String),

    /// Statistics of one bootstrap that are not over the same number of items.
    #[error("bootstrap statistics over {first} and {other} items: a paired bootstrap needs the same items")]
    ItemsMismatch { first: usize, other: usize },

    /// A given resample index that is not an item.
    #[error("resample {resample}: index {index} is out of range (there are {items} items)")]
    IndexOutOfRange {
        resample: usize,
        index: usize,
        items: usize,
    },

    /// A statistic that is NaN on a resample (the interval would be undefined).
    #[error("the statistic is NaN on resample {resample}")]
    NanReplicate { resample: usize },

    /// A BLEU order outside 1..=4.
    #[error("BLEU-{n}: the order must be 1 to 4")]
    BleuOrder { n: usize },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Checks what every scorer needs: one non-empty reference list per prediction.
pub(crate) fn check_inputs<P, R>(predictions: &[P], references: &[Vec<R>]) -> Result<()> {
    if predictions.len() != references.len() {
        return Err(Error::LengthMismatch {
            predictions: predictions.len(),
            references: references.len(),
        });
    }
    if predictions.is_empty() {
        return Err(Error::NoCaptions);
    }
    match references.iter().position(Vec::is_empty) {
        Some(index) => Err(Error::EmptyReferences { index }),
        None => Ok(()),
    }
}
