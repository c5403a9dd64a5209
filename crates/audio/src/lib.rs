//! Audio files to 16 kHz mono `f32` samples to Whisper log-mel features.
//!
//! The one job of this crate: `decode_file` (symphonia) → `downmix` → `resample` (rubato) →
//! `log_mel_spectrogram` / `model_features` (realfft), with the reference implementations'
//! numbers: openai-whisper's `log_mel_spectrogram` and `mel_filters.npz`, and Hugging Face's
//! `WhisperFeatureExtractor` as Qwen2-Audio uses it. It knows nothing of tensors: features
//! are plain row-major `Vec<f32>`s.
//!
//! ```no_run
//! # fn main() -> audio::Result<()> {
//! let samples = audio::load_mono_16k(std::path::Path::new("clip.flac"))?;
//! let feats = audio::model_features(&samples, 128, audio::LongAudio::Truncate)?;
//! assert_eq!(feats.mel.n_mels, 128);
//! # Ok(()) }
//! ```

mod decode;
mod error;
mod features;
mod filters;
mod mel;
mod resample;

pub use decode::{decode_file, downmix, load_mono_16k, Decoded};
pub use error::{Error, Result};
pub use features::{model_features, pad_or_trim, LongAudio, ModelFeatures};
pub use filters::{mel_filters, MelFilters, MAX_MELS, N_FREQS};
pub use mel::{log_mel_spectrogram, log_mel_spectrogram_with_threads, Mel, MIN_SAMPLES};
pub use resample::resample;

/// Sample rate of the model's audio, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// STFT window length (25 ms).
pub const N_FFT: usize = 400;
/// STFT hop (10 ms): one mel frame per 160 samples.
pub const HOP_LENGTH: usize = 160;
/// Samples in the encoder's 30 s window.
pub const CHUNK_SAMPLES: usize = 480_000;
/// Mel frames in the encoder's 30 s window.
pub const CHUNK_FRAMES: usize = CHUNK_SAMPLES / HOP_LENGTH;
