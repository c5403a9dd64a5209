//! The eval binary. Subcommands:
//! - `generate`: prompt + audio files → generated text (optionally the prompt's logits);
//! - `mel`: an audio file → its Whisper log-mel spectrogram as safetensors;
//! - `caption`: caption a manifest and score it against its references;
//! - `score`: score existing predictions against references (no model);
//! - `classify`: a classification probe (VSC, SER, MIC, MGC or custom);
//! - `choice`: multiple-choice recognition under an input condition (audio, visual, both),
//!   per-class results, optionally a teacher file for distillation;
//! - `difficulty`: which classes of a multiple-choice task the student finds hard;
//! - `choice-report`: per-class accuracy of a distillation (student before and after,
//!   teacher, humans), hard vs easy classes, the ears-vs-eyes gap correlation;
//! - `report`: the forgetting report of finetuned models against the base;
//! - `convert` (hidden, for existing scripts): VocalSound / IEMOCAP / NSynth / GTZAN layouts
//!   → classification manifests; the documented command is `trainer convert <dataset>`.

#[path = "cli/choice.rs"]
mod choice_cli;
mod cli;
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
    /// Caption a manifest's clips and score them against the references.
    Caption(cli::caption::CaptionArgs),
    /// Score existing predictions against references (no model).
    Score(cli::caption::ScoreArgs),
    /// Classify a manifest's clips into a task's labels (forgetting probe).
    Classify(cli::classify::ClassifyArgs),
    /// Multiple-choice recognition of a manifest under one input condition.
    Choice(choice_cli::ChoiceArgs),
    /// Rank a multiple-choice task's classes by predicted difficulty for the student.
    Difficulty(choice_cli::DifficultyArgs),
    /// Per-class report of a distillation: student before/after, teacher, humans; hard vs easy.
    ChoiceReport(choice_cli::ChoiceReportArgs),
    /// Table, JSON and chart of finetuned models against the base.
    Report(cli::ReportArgs),
    /// Convert a classification dataset's layout into a manifest (kept for existing
    /// scripts; data preparation is `trainer convert <dataset>`).
    #[command(hide = true)]
    Convert(cli::classify::ConvertArgs),
}

fn main() -> Result<()> {
    model::device::keep_freed_memory();
    match Cli::parse().cmd {
        Cmd::Generate(a) => generate::run(a),
        Cmd::Mel(a) => mel::run(a),
        Cmd::Caption(a) => cli::caption::run_caption(a),
        Cmd::Score(a) => cli::caption::run_score(a),
        Cmd::Classify(a) => cli::classify::run_classify(a),
        Cmd::Choice(a) => choice_cli::run_choice(a),
        Cmd::Difficulty(a) => choice_cli::run_difficulty(a),
        Cmd::ChoiceReport(a) => choice_cli::run_choice_report(a),
        Cmd::Report(a) => cli::run_report(a),
        Cmd::Convert(a) => cli::classify::run_convert(a),
    }
}
