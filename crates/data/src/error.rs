//! The crate's one error type.
//!
//! Every variant about a line of a file names `file:line` (1-based) first, then the field,
//! then the reason, so a message in a training log points straight at the bad line.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// An error of a caller's code, boxed (see [`Error::Fill`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A line of a file: where a sample (or a bad line) came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Everything that can go wrong between files on disk and samples.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read, written or renamed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A line that is not valid JSON (or not UTF-8, or not a JSON object).
    #[error("{location}: malformed JSON: {reason}")]
    Json { location: Location, reason: String },

    /// A field of a manifest or CSV line that is missing, empty, of the wrong type or
    /// inconsistent with another field.
    #[error("{location}: field `{field}`: {reason}")]
    Field {
        location: Location,
        field: String,
        reason: String,
    },

    /// A CSV file that the csv reader rejects (unbalanced quotes, ragged rows, bad UTF-8).
    #[error("{location}: malformed CSV: {reason}")]
    Csv { location: Location, reason: String },

    /// A configuration value out of range (weights, SNRs, templates, patterns, ...).
    #[error("invalid configuration `{field}`: {reason}")]
    Config { field: String, reason: String },

    /// A configuration value of a file out of range, or a file that does not fit what it is
    /// used with (a task file, a teacher file).
    #[error("{}: `{field}`: {reason}", path.display())]
    ConfigFile {
        path: PathBuf,
        field: String,
        reason: String,
    },

    /// A saved sampler state that does not fit the datasets it is restored onto.
    #[error("cannot restore mixture state: {reason}")]
    State { reason: String },

    /// Audio that cannot be mixed as planned (silent, too short, ...).
    #[error("{}: {reason}", path.display())]
    Mix { path: PathBuf, reason: String },

    /// A dataset folder or file that holds nothing usable.
    #[error("{}: {reason}", path.display())]
    Dataset { path: PathBuf, reason: String },

    /// The caller's code writing the contents of a directory being written atomically
    /// ([`crate::fsutil::write_dir_atomic`]) failed; `path` is the temporary directory.
    #[error("{}: writing the contents failed: {source}", path.display())]
    Fill {
        path: PathBuf,
        #[source]
        source: BoxError,
    },

    /// A name that cannot be written atomically: not a plain file name, or (for a directory)
    /// empty or starting with '.'.
    #[error("invalid entry name {name:?} (must be a non-empty file name not starting with '.')")]
    InvalidName { name: String },

    /// Decoding or feature extraction failed (the message names the audio file).
    #[error(transparent)]
    Audio(#[from] audio::Error),
}

impl Error {
    /// Shorthand for [`Error::Field`].
    pub fn field(location: &Location, field: &str, reason: impl Into<String>) -> Self {
        Error::Field {
            location: location.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(field: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A [`Error::Config`] found in file `path`, as [`Error::ConfigFile`] (other errors
    /// unchanged).
    pub fn in_file(path: &std::path::Path, e: Error) -> Self {
        match e {
            Error::Config { field, reason } => Error::ConfigFile {
                path: path.to_path_buf(),
                field,
                reason,
            },
            other => other,
        }
    }

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
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
