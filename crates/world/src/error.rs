//! The crate's one error type: every variant names the file (or config field) and the reason.

use std::path::PathBuf;

/// Everything that can go wrong generating or loading a world.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read, written, renamed or removed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A configuration value out of range.
    #[error("invalid world config `{field}`: {reason}")]
    Config { field: String, reason: String },

    /// A `world.json` (or facts file) that does not parse or does not describe its directory.
    #[error("{}: field `{field}`: {reason}", path.display())]
    Index {
        path: PathBuf,
        field: String,
        reason: String,
    },

    /// A directory that is in the way and is not a world (never removed).
    #[error("{}: {reason}", path.display())]
    NotAWorld { path: PathBuf, reason: String },

    /// Pair building, mixing or manifest writing failed (the message names the file).
    #[error(transparent)]
    Data(#[from] data::Error),
}

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

    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn index(path: impl Into<PathBuf>, field: &str, reason: impl Into<String>) -> Self {
        Error::Index {
            path: path.into(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
