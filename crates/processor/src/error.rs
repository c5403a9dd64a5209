//! The processor's error: which field of the sample failed, and why. The caller adds where
//! the sample came from (`file:line`). Messages are whole (they include their cause), so
//! wrapping layers print them once.

use crate::example::ExampleError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Clip `index` could not be decoded or featurised.
    #[error("field audio[{index}]: {cause}")]
    Clip { index: usize, cause: data::Error },
    /// Image or video `index` (`field` is `images` or `videos`) could not be read or
    /// preprocessed.
    #[error("field {field}[{index}]: {cause}")]
    Visual {
        field: &'static str,
        index: usize,
        cause: model::Error,
    },
    /// The answer could not be turned into labelled tokens.
    #[error("field target: {0}")]
    Target(ExampleError),
    /// The prompt could not be resolved (the data error names the line and field).
    #[error(transparent)]
    Data(#[from] data::Error),
    #[error(transparent)]
    Model(#[from] model::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
