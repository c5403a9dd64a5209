//! `eval mel`: one audio file → tensor `mel` [n_mels, frames] f32.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};

#[derive(clap::Args)]
pub struct Args {
    /// Audio file (WAV, FLAC, MP3, OGG/Vorbis); decoded, downmixed and resampled to 16 kHz.
    #[arg(long)]
    audio: PathBuf,
    /// Mel bins: 80 (Whisper v1/v2) or 128 (Whisper v3, Qwen2-Audio).
    #[arg(long, default_value_t = 128)]
    n_mels: usize,
    /// Pad (or cut) the audio to 30 s first, as Whisper and Qwen2-Audio's processor do.
    #[arg(long)]
    pad_30s: bool,
    /// Output safetensors file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    if a.n_mels != 80 && a.n_mels != 128 {
        anyhow::bail!("--n-mels must be 80 or 128, not {}", a.n_mels);
    }
    let samples = audio::load_mono_16k(&a.audio)?;
    let samples = if a.pad_30s {
        audio::pad_or_trim(&samples, audio::CHUNK_SAMPLES)
    } else {
        samples
    };
    let mel = audio::log_mel_spectrogram(&samples, a.n_mels)
        .with_context(|| format!("mel of {}", a.audio.display()))?;
    let t = Tensor::from_vec(mel.data, (mel.n_mels, mel.n_frames), &Device::Cpu)?;
    crate::output::save_safetensors(&HashMap::from([("mel".to_string(), t)]), &a.out)?;
    eprintln!(
        "wrote mel [{}, {}] to {}",
        mel.n_mels,
        mel.n_frames,
        a.out.display()
    );
    Ok(())
}
