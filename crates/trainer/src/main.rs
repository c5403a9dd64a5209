//! `trainer --config X.toml [--set section.key=value]…`: runs (or resumes) one experiment.
//! Ctrl-C writes a checkpoint after the current step and exits cleanly.
//!
//! Data preparation: `trainer build-pairs` (ACC/ADC pairs from captioned clips and event
//! clips) and `trainer convert audiocaps|clotho` (caption CSVs to manifests).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use trainer::config::Config;
use trainer::prep;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "LoRA finetuning of Qwen2-Audio-class models on AC/ACC/ADC mixtures",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// The experiment's TOML file.
    #[arg(long, required = true)]
    config: Option<PathBuf>,
    /// Override a key: `--set train.lr=2e-4 --set model.device=cuda:0`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    set: Vec<String>,
    /// Stop (with a checkpoint) once this many optimizer steps are done; the same command
    /// later resumes. For time-limited allocations.
    #[arg(long)]
    stop_at_step: Option<u64>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build ACC/ADC pairs by adding, removing or replacing an event in captioned clips.
    BuildPairs(BuildPairs),
    /// Convert an AudioCaps or Clotho caption CSV into a native AC manifest.
    Convert(Convert),
    /// Write a new, randomly initialised model (tokenizer trained on the manifests' text).
    InitModel(InitModel),
}

#[derive(clap::Args)]
struct InitModel {
    /// TOML with [audio], [text], bpe_vocab, init_std, seed (model::init::InitSpec).
    #[arg(long)]
    spec: PathBuf,
    /// Manifests whose targets, references and prompts train the tokenizer; repeat.
    #[arg(long = "texts-from", required = true)]
    texts_from: Vec<PathBuf>,
    /// The checkpoint directory to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct BuildPairs {
    /// Manifest of base clips with their captions (one clip per line).
    #[arg(long)]
    clips: PathBuf,
    /// Manifest of single-event clips; the target is the event's label ("a dog barking").
    #[arg(long)]
    events: PathBuf,
    /// Output directory: audio/, adc.jsonl, acc.jsonl, pairs.jsonl.
    #[arg(long)]
    out: PathBuf,
    /// TOML with [plan] (edits weights, snr_db_min/max, pairs_per_base, templates) and
    /// [render] (format, peak_limit); defaults when absent.
    #[arg(long)]
    pairs_config: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args)]
struct Convert {
    #[arg(value_enum)]
    dataset: prep::Dataset,
    /// The dataset's caption CSV.
    #[arg(long)]
    csv: PathBuf,
    /// The manifest to write.
    #[arg(long)]
    out: PathBuf,
    /// Prefix of every audio path in the manifest (relative to the manifest's directory).
    #[arg(long, default_value = "")]
    audio_dir: PathBuf,
    /// One line per caption (train) or one per clip with every caption as references (eval).
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    split: SplitArg,
    /// AudioCaps file-name pattern with {audiocap_id}, {youtube_id}, {start_time}.
    #[arg(long, default_value = data::convert::AUDIOCAPS_DEFAULT_NAME)]
    audio_name: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SplitArg {
    Train,
    Eval,
}

fn main() -> Result<()> {
    model::device::keep_freed_memory();
    let cli = Cli::parse();
    match cli.cmd {
        Some(Cmd::BuildPairs(a)) => {
            let cfg = match &a.pairs_config {
                Some(p) => prep::PairsFile::load(p)?,
                None => prep::PairsFile::default(),
            };
            let out = prep::build_pairs(&a.clips, &a.events, &a.out, &cfg, a.seed)?;
            eprintln!(
                "{} pairs: {}, {} (plans in {})",
                out.pairs,
                out.adc_manifest.display(),
                out.acc_manifest.display(),
                out.plans.display()
            );
            Ok(())
        }
        Some(Cmd::Convert(a)) => {
            let opts = data::convert::ConvertOptions {
                split: match a.split {
                    SplitArg::Train => data::convert::Split::Train,
                    SplitArg::Eval => data::convert::Split::Eval,
                },
                audio_dir: a.audio_dir,
                audio_name: a.audio_name,
            };
            let n = prep::convert(a.dataset, &a.csv, &a.out, &opts)?;
            eprintln!("{n} lines: {}", a.out.display());
            Ok(())
        }
        Some(Cmd::InitModel(a)) => {
            let vocab = prep::init_model(&a.spec, &a.texts_from, &a.out)?;
            eprintln!("wrote {} (vocabulary {vocab})", a.out.display());
            Ok(())
        }
        None => {
            let config = cli.config.context("--config is required")?;
            train(&config, &cli.set, cli.stop_at_step)
        }
    }
}

fn train(config: &std::path::Path, set: &[String], stop_at_step: Option<u64>) -> Result<()> {
    let cfg = Config::load(config, set)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupt: finishing this step, then writing a checkpoint (Ctrl-C again to quit now)"
        );
    })
    .context("installing the Ctrl-C handler")?;
    let exp = trainer::pipeline::run(&cfg, &stop, stop_at_step)?;
    let out = &exp.train;
    if out.interrupted {
        eprintln!(
            "stopped at step {}; run the same command again to resume",
            out.steps_done
        );
    } else if let Some(dir) = &out.adapter_dir {
        eprintln!("done: {} steps; exported {}", out.steps_done, dir.display());
    }
    if let Some((dir, table)) = &exp.report {
        println!("{table}");
        eprintln!("report: {}", dir.join("report.md").display());
    }
    Ok(())
}
