//! The eval library's one error type. Messages about a line of an input file start with
//! `file:line`; errors of one sample name the sample's manifest line and id.

use std::path::PathBuf;

/// Everything the evaluation library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written, created or renamed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A line of an input file (predictions, references) that is malformed or inconsistent.
    #[error("{}:{line}: {reason}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// A whole file that is not what was expected (bad JSON, wrong schema, mismatched runs).
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },

    /// FENSE's models are there but could not be used.
    #[error("FENSE: {0}")]
    Fense(#[from] fense::Error),

    /// One sample failed (its audio, its prompt, the model on it).
    #[error("{location} (id {id}): {source}")]
    Sample {
        location: String,
        id: String,
        #[source]
        source: Box<Error>,
    },

    /// An option out of range or two options that exclude each other.
    #[error("invalid option `{option}`: {reason}")]
    Option { option: String, reason: String },

    /// Input that is well-formed but unusable (an empty caption, a batch that failed, ...);
    /// the message names what and where.
    #[error("{0}")]
    Invalid(String),

    /// Drawing the report chart failed.
    #[error("{}: chart: {msg}", path.display())]
    Plot { path: PathBuf, msg: String },

    #[error(transparent)]
    Data(#[from] data::Error),
    #[error(transparent)]
    Model(#[from] model::Error),
    #[error(transparent)]
    Metrics(#[from] metrics::Error),
    #[error(transparent)]
    Audio(#[from] audio::Error),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Processor(#[from] processor::Error),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub(crate) fn option(option: &str, reason: impl Into<String>) -> Self {
        Error::Option {
            option: option.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Wraps `self` as the failure of sample `id` read from `location`.
    pub(crate) fn at_sample(self, location: &data::Location, id: &str) -> Self {
        Error::Sample {
            location: location.to_string(),
            id: id.to_string(),
            source: Box::new(self),
        }
    }
}
