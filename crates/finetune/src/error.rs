//! The training library's one error type. Errors about a sample name its `file:line`; errors
//! of a step name the step (1-based, as logged). Messages are whole (a wrapping variant
//! prints its cause), so an application prints them once.

use std::path::PathBuf;

/// Everything training can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),

    /// A file or directory could not be created, read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint or adapter directory that cannot be used (format, hash, keys, shapes).
    #[error("{}: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },

    /// One sample could not become an example (its audio, prompt or answer).
    #[error("{location}: {cause}")]
    Sample {
        location: String,
        cause: Box<processor::Error>,
    },

    /// The data of the run cannot be trained on (missing files, no usable sample, …).
    #[error("{0}")]
    Data(String),

    /// What happened during optimizer step `step` (1-based).
    #[error("step {step}: {cause}")]
    AtStep { step: u64, cause: Box<Error> },

    /// The loss of a step is NaN or infinite; the optimizer did not step.
    #[error("the loss is {value} (samples: {samples}); the last good state is saved")]
    LossNotFinite { value: f64, samples: String },

    /// The gradient norm of a step is NaN or infinite; the optimizer did not step.
    #[error("the gradient norm is {value}; the last good state is saved")]
    GradNormNotFinite { value: f64 },

    /// A trainable tensor that the backward pass did not reach: an op without a backward on
    /// its path, or a tensor nothing uses. Training it would silently decay it.
    #[error("the trainable tensor {tensor} received no gradient (an op without a backward on its path, or a weight nothing uses)")]
    NoGradient { tensor: String },

    /// The data-parallel group cannot go on (a mismatched collective, a rank that could not
    /// start or panicked, a bad option).
    #[error("data parallel: {0}")]
    Parallel(String),

    /// Another rank of the data-parallel group failed (its own error is reported by
    /// `parallel::run`); this rank stopped at its next collective.
    #[error("rank {rank} of the data-parallel group stopped: {what}")]
    PeerFailed { rank: usize, what: String },

    /// A checkpoint trained with another number of ranks: the world size sets the global
    /// batch and which rank reads which sample, so the run would not continue as it was.
    #[error("{}: the checkpoint was trained with {saved} rank(s), this run has {now}; resume with --nproc {saved} (or start a new output.dir)", path.display())]
    WorldSizeChanged {
        path: PathBuf,
        saved: usize,
        now: usize,
    },

    /// The configuration selects nothing to train.
    #[error("nothing to train: {0}")]
    NothingToTrain(String),

    #[error(transparent)]
    Store(#[from] data::Error),
    #[error(transparent)]
    Model(#[from] model::Error),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Optim(#[from] crate::optim::OptimError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn at_step(self, step: u64) -> Self {
        Error::AtStep {
            step,
            cause: Box::new(self),
        }
    }

    /// Whether this error only reports another rank's failure (see `Error::PeerFailed`).
    pub fn from_peer(&self) -> bool {
        match self {
            Error::AtStep { cause, .. } => cause.from_peer(),
            Error::PeerFailed { .. } => true,
            _ => false,
        }
    }

    /// Whether the last good state was saved before this error (a stopped run resumes).
    pub fn saved_state(&self) -> bool {
        match self {
            Error::AtStep { cause, .. } => cause.saved_state(),
            Error::LossNotFinite { .. } | Error::GradNormNotFinite { .. } => true,
            // Rank 0 saves when a peer stops mid-step (no rank has applied that update).
            Error::PeerFailed { .. } => true,
            _ => false,
        }
    }
}
