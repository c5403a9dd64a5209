//! `trainer --config X.toml [--set section.key=value]…`: runs (or resumes) one experiment.
//! Ctrl-C writes a checkpoint after the current step and exits cleanly.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use trainer::config::Config;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "LoRA finetuning of Qwen2-Audio-class models on AC/ACC/ADC mixtures"
)]
struct Cli {
    /// The experiment's TOML file.
    #[arg(long)]
    config: PathBuf,
    /// Override a key: `--set train.lr=2e-4 --set model.device=cuda:0`.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    set: Vec<String>,
    /// Stop (with a checkpoint) once this many optimizer steps are done; the same command
    /// later resumes. For time-limited allocations.
    #[arg(long)]
    stop_at_step: Option<u64>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let cfg = Config::load(&cli.config, &cli.set)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond interrupt: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing this step, then writing a checkpoint (Ctrl-C again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;
    let out = trainer::train::run_until(&cfg, &stop, cli.stop_at_step)?;
    if out.interrupted {
        eprintln!(
            "stopped at step {}; run the same command again to resume",
            out.steps_done
        );
    } else if let Some(dir) = &out.adapter_dir {
        eprintln!("done: {} steps; exported {}", out.steps_done, dir.display());
    }
    Ok(())
}
