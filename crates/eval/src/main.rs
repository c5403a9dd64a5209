//! The eval binary. Subcommands:
//! - `generate`: prompt + audio files → generated text (optionally the prompt's logits);
//! - `mel`: an audio file → its Whisper log-mel spectrogram as safetensors.

mod generate;
mod mel;
mod output;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "eval",
    version,
    about = "Run and evaluate Qwen2-Audio-class models"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate text from a prompt and audio clips.
    Generate(generate::Args),
    /// Compute a Whisper log-mel spectrogram.
    Mel(mel::Args),
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Generate(a) => generate::run(a),
        Cmd::Mel(a) => mel::run(a),
    }
}
