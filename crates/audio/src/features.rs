//! The encoder's input: Whisper features for one clip, without the padding to 30 s.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mel::{log_mel_spectrogram, Mel};
use crate::{CHUNK_FRAMES, CHUNK_SAMPLES, HOP_LENGTH};

/// `whisper.audio.pad_or_trim`: cut `samples` to `len`, or append zeros up to `len`.
pub fn pad_or_trim(samples: &[f32], len: usize) -> Vec<f32> {
    let mut out = samples[..samples.len().min(len)].to_vec();
    out.resize(len, 0.0);
    out
}

/// What to do with audio longer than the encoder's 30 s window.
///
/// Read from configs (serde: `"error"`, `"truncate"`) and command lines (clap). The first
/// paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LongAudio {
    /// Refuse clips over 30 s.
    ///
    /// [`model_features`] returns [`Error::TooLong`].
    Error,
    /// Keep the first 30 s (what the reference does silently) and report the cut.
    ///
    /// The Hugging Face feature extractor does this with `truncation=True`;
    /// [`ModelFeatures::truncated_from`] keeps the original length, for the caller's warning.
    #[default]
    Truncate,
}

/// Features for the audio encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFeatures {
    /// `min(3000, valid_frames + 3)` frames, equal to the reference's first frames.
    pub mel: Mel,
    /// Frames that carry audio: `ceil(samples / 160)`, the reference's
    /// `feature_attention_mask.sum()`.
    pub valid_frames: usize,
    /// The original sample count when the audio was cut to 30 s.
    pub truncated_from: Option<usize>,
}

/// The log-mel features Qwen2-Audio's encoder reads for `samples` (16 kHz mono), without
/// computing the silent tail of the 30 s window.
///
/// # Reference
///
/// Hugging Face's `WhisperFeatureExtractor` (`padding="max_length"`) zero-pads or cuts the
/// audio to `CHUNK_SAMPLES` = 480000 samples, takes the log-mel of all of it (3000 frames,
/// clamped against the global max of those 3000 frames) and marks `L = ceil(N / 160)` frames
/// valid (its attention mask is the sample mask taken every 160 samples). The encoder's conv1
/// (kernel 3, padding 1) and conv2 (kernel 3, stride 2, padding 1) reach mel frames up to
/// index `L + 1` from the last valid positions, so those frames must be the reference's
/// too: the log-mel of the zero padding after the audio, not of reflect padding.
///
/// # What this computes
///
/// With `N' = min(N, 480000)` and `L = ceil(N' / 160)`, the samples are zero-padded to
/// `P = min(480000, 160 (L + 3))` and `log_mel_spectrogram` of that is returned:
/// `min(3000, L + 3)` frames, `valid_frames = L`.
///
/// # Why every returned frame equals the reference's
///
/// Frame `t` is the windowed FFT of padded samples `[160 t - 200, 160 t + 200)`.
/// * Frames `t <= L + 1` end at or before `160 L + 360 < P` when `P < 480000`, so they read
///   only real audio, zeros, and (for `t` near 0) the left reflect padding of the same
///   samples the reference reflects: their spectra are identical to the reference's.
/// * Frame `L + 2` starts at `160 L + 120 >= N'`: it sees only zeros. Its last 40 samples come
///   from our right reflect padding, which mirrors samples `P - 41 ..= P - 2`, all `>= N'`,
///   hence zeros as well. It is the log-mel of pure silence, `log10(1e-10) = -10`, in ours and
///   in the reference alike. (When `P = 480000` we compute the reference's input exactly.)
/// * The clamp uses the global max. The reference's frames `>= L + 2` are all pure silence
///   like our frame `L + 2`, so the set of values over which each takes its max is the same
///   (frames `< L + 2` plus the silent value): the max, hence the clamp floor and every
///   output value, is identical.
///
/// The tests compare frames `[0, min(L + 2, 3000))` with the full 30 s computation.
///
/// Errors on empty input, on `n_mels` out of range, or — under [`LongAudio::Error`] — on
/// audio longer than 480000 samples.
pub fn model_features(samples: &[f32], n_mels: usize, long: LongAudio) -> Result<ModelFeatures> {
    if samples.is_empty() {
        return Err(Error::EmptyInput);
    }
    let (audio, truncated_from) = if samples.len() > CHUNK_SAMPLES {
        match long {
            LongAudio::Error => {
                return Err(Error::TooLong {
                    samples: samples.len(),
                    max: CHUNK_SAMPLES,
                })
            }
            LongAudio::Truncate => (&samples[..CHUNK_SAMPLES], Some(samples.len())),
        }
    } else {
        (samples, None)
    };
    let valid_frames = audio.len().div_ceil(HOP_LENGTH);
    let padded_len = CHUNK_SAMPLES.min(HOP_LENGTH * (valid_frames + 3));
    let mel = log_mel_spectrogram(&pad_or_trim(audio, padded_len), n_mels)?;
    debug_assert_eq!(mel.n_frames, CHUNK_FRAMES.min(valid_frames + 3));
    Ok(ModelFeatures {
        mel,
        valid_frames,
        truncated_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_or_trim_pads_and_cuts() {
        assert_eq!(pad_or_trim(&[1.0, 2.0], 4), vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(pad_or_trim(&[1.0, 2.0, 3.0], 2), vec![1.0, 2.0]);
        assert_eq!(pad_or_trim(&[1.0, 2.0], 2), vec![1.0, 2.0]);
        assert_eq!(pad_or_trim(&[], 3), vec![0.0; 3]);
        assert!(pad_or_trim(&[1.0], 0).is_empty());
    }

    #[test]
    fn valid_frames_is_ceil() {
        for (n, l) in [(1, 1), (160, 1), (161, 2), (16_000, 100), (16_001, 101)] {
            let f = model_features(&vec![0.1; n], 80, LongAudio::Error).unwrap();
            assert_eq!(f.valid_frames, l, "n = {n}");
            assert_eq!(f.mel.n_frames, l + 3);
            assert_eq!(f.truncated_from, None);
        }
        let f = model_features(&vec![0.1; CHUNK_SAMPLES], 80, LongAudio::Error).unwrap();
        assert_eq!((f.valid_frames, f.mel.n_frames), (3000, 3000));
    }

    #[test]
    fn long_audio_policy() {
        let x = vec![0.05f32; CHUNK_SAMPLES + 1];
        match model_features(&x, 80, LongAudio::Error) {
            Err(e @ Error::TooLong { samples, max }) => {
                assert_eq!((samples, max), (CHUNK_SAMPLES + 1, CHUNK_SAMPLES));
                assert!(e.to_string().contains("480001"), "{e}");
            }
            other => panic!("expected TooLong, got {other:?}"),
        }
        let f = model_features(&x, 80, LongAudio::Truncate).unwrap();
        assert_eq!(f.truncated_from, Some(CHUNK_SAMPLES + 1));
        assert_eq!(
            (f.valid_frames, f.mel.n_frames),
            (CHUNK_FRAMES, CHUNK_FRAMES)
        );
        let exact = model_features(&x[..CHUNK_SAMPLES], 80, LongAudio::Error).unwrap();
        assert_eq!(exact.mel, f.mel);
        assert!(matches!(
            model_features(&[], 80, LongAudio::Truncate),
            Err(Error::EmptyInput)
        ));
    }
}
