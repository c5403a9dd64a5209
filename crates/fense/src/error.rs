//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong loading the models or scoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The weights (or a file they need) are not on this machine. The metric is then "not
    /// computed" with this reason; it is never estimated.
    #[error("not available: {reason}")]
    NotAvailable { reason: String },

    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A JSON file (config, modules list, tokenizer config) is malformed or lacks a field.
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },

    /// A configuration value this implementation does not support or that is inconsistent.
    #[error("{}: {msg}", path.display())]
    Config { path: PathBuf, msg: String },

    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer {}: {msg}", path.display())]
    Tokenizer { path: PathBuf, msg: String },

    /// A checkpoint (safetensors, pytorch_model.bin, the echecker's .ckpt) could not be read,
    /// or lacks a tensor / has one of the wrong shape.
    #[error("checkpoint {}: {msg}", path.display())]
    Checkpoint { path: PathBuf, msg: String },

    /// Candidates and reference lists differ in number.
    #[error(
        "{candidates} candidates but {references} reference lists: need one list per candidate"
    )]
    LengthMismatch {
        candidates: usize,
        references: usize,
    },

    /// SPIDEr values and fluency verdicts differ in number.
    #[error("{spider} SPIDEr values but {fluency} fluency verdicts: need one per candidate")]
    CountMismatch { spider: usize, fluency: usize },

    /// A candidate without references (aac-metrics refuses it too).
    #[error("candidate {index} has no reference captions")]
    EmptyReferences { index: usize },

    /// A tensor operation failed while running a model.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl Error {
    /// True for [`Error::NotAvailable`]: the caller should report the metric as not computed.
    pub fn is_not_available(&self) -> bool {
        matches!(self, Error::NotAvailable { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, msg: impl std::fmt::Display) -> Self {
        Error::Checkpoint {
            path: path.into(),
            msg: msg.to_string(),
        }
    }

    pub(crate) fn config(path: impl Into<PathBuf>, msg: impl std::fmt::Display) -> Self {
        Error::Config {
            path: path.into(),
            msg: msg.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Reads and parses a JSON file, naming the file in the error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}
