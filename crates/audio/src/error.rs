//! The crate's one error type.
//!
//! Every variant that concerns a file names its path first, then the reason, so a message
//! read in a training log points straight at the bad clip.

use std::path::PathBuf;

/// Everything that can go wrong between an audio file and its log-mel features.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read (missing, permissions, a directory, ...).
    #[error("{}: cannot read audio file: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file exists but holds zero bytes.
    #[error("{}: audio file is empty (0 bytes)", path.display())]
    EmptyFile { path: PathBuf },

    /// No enabled demuxer recognised the container (random bytes, text, an unsupported format).
    #[error(
        "{}: unrecognised or unsupported container format \
         (supported: WAV, FLAC, MP3, OGG/Vorbis): {reason}",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf, reason: String },

    /// The container holds no audio track.
    #[error("{}: no audio track in the container", path.display())]
    NoAudioTrack { path: PathBuf },

    /// The audio track uses a codec no enabled decoder handles.
    #[error("{}: unsupported audio codec: {reason}", path.display())]
    UnsupportedCodec { path: PathBuf, reason: String },

    /// The file ends before its headers or its declared data do.
    #[error("{}: truncated audio file (unexpected end of data): {reason}", path.display())]
    Truncated { path: PathBuf, reason: String },

    /// The stream is malformed (bad header fields, a packet that fails to decode, ...).
    #[error("{}: corrupt audio data: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    /// The file decoded to zero samples (for instance a WAV with an empty data chunk).
    #[error("{}: no samples: the audio stream is empty", path.display())]
    NoSamples { path: PathBuf },

    /// `resample` was given a rate it cannot use.
    #[error("cannot resample {from_hz} Hz -> {to_hz} Hz: {reason}")]
    Resample {
        from_hz: u32,
        to_hz: u32,
        reason: String,
    },

    /// An in-memory input holds no samples.
    #[error("no samples: the input audio is empty")]
    EmptyInput,

    /// Too few samples for Whisper's centred STFT: its reflect padding of `n_fft / 2` needs
    /// more input than that (torch.stft raises for the same input).
    #[error(
        "input has {samples} samples; the log-mel spectrogram needs at least {min} \
         (reflect padding of n_fft/2 = 200 must be shorter than the input)"
    )]
    TooShort { samples: usize, min: usize },

    /// An in-memory input holds a NaN or an infinity.
    #[error("input sample {index} is NaN or infinite")]
    NonFinite { index: usize },

    /// Audio longer than the model's 30 s window under [`crate::LongAudio::Error`].
    #[error(
        "audio has {samples} samples ({:.2} s at 16 kHz), longer than the {max} samples (30 s) \
         the encoder accepts; cut it first or use LongAudio::Truncate",
        *samples as f64 / 16_000.0
    )]
    TooLong { samples: usize, max: usize },

    /// A mel filterbank size outside the supported range.
    #[error("invalid number of mel bins {n_mels}: must be between 1 and {max}")]
    InvalidMelBins { n_mels: usize, max: usize },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
