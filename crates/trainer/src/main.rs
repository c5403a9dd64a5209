//! `trainer --config X.toml [--set section.key=value]… [--nproc N]`: runs (or resumes) one
//! experiment (`trainer::experiment`). Ctrl-C writes a checkpoint after the current step and
//! exits cleanly. `--nproc N` trains data-parallel on N ranks, threads of this process on the
//! configured device (`finetune::parallel`); the multi-process launch (torchrun's `RANK`,
//! `WORLD_SIZE`, … with one GPU per process over NCCL) is not implemented in this build, and
//! a `WORLD_SIZE` above 1 is refused rather than trained as one rank.
//!
//! Data preparation (`trainer::prep`, one command tree): `trainer convert <dataset>`
//! (AudioCaps / Clotho captions, VocalSound / IEMOCAP / NSynth / GTZAN probes),
//! `trainer build-pairs` (ACC/ADC pairs) and `trainer init-model` (a new random model).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use trainer::experiment::ExperimentConfig;
use trainer::prep::PrepCommand;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "LoRA finetuning of Qwen2-Audio-class models on AC/ACC/ADC mixtures, and data preparation",
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
    /// Data-parallel ranks: threads of this process on the configured device, each taking its
    /// share of every step's micro-batches (global batch = N × micro_batch × grad_accum); a
    /// run resumes only with the N it was started with.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    nproc: u64,
    #[command(subcommand)]
    prep: Option<PrepCommand>,
}

fn main() -> Result<()> {
    model::device::keep_freed_memory();
    let cli = Cli::parse();
    match cli.prep {
        Some(cmd) => trainer::prep::run(cmd),
        None => {
            let config = cli.config.context("--config is required")?;
            run_experiment(&config, &cli.set, cli.stop_at_step, cli.nproc as usize)
        }
    }
}

fn run_experiment(
    config: &Path,
    set: &[String],
    stop_at_step: Option<u64>,
    nproc: usize,
) -> Result<()> {
    finetune::parallel::refuse_multiprocess_env(|k| std::env::var(k).ok())?;
    let cfg = ExperimentConfig::load(config, set)?;
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
    let exp = trainer::experiment::run_on(&cfg, &stop, stop_at_step, nproc)?;
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
