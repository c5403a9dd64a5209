//! The model crate's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {msg}")]
    Config { path: PathBuf, msg: String },
    #[error("model {source_name:?}: {msg}")]
    Source { source_name: String, msg: String },
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("tokenizer {path}: {msg}")]
    Tokenizer { path: PathBuf, msg: String },
    #[error("audio: {0}")]
    Audio(#[from] audio::Error),
    #[error("vision: {0}")]
    Vision(#[from] vision::Error),
    #[error("prompt: {0}")]
    Prompt(String),
    #[error("adapter {path}: {msg}")]
    Adapter { path: PathBuf, msg: String },
    #[error("generation: {0}")]
    Generation(String),
    /// Inputs whose shapes do not fit each other (positions, grids, placeholders).
    #[error("shape: {0}")]
    Shape(String),
    #[error("device {spec:?}: {msg}")]
    Device { spec: String, msg: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
