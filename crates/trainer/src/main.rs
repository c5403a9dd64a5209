//! `trainer --config X.toml [--set section.key=value]… [--nproc N]`: runs (or resumes) one
//! experiment (`trainer::experiment`). Ctrl-C writes a checkpoint after the current step and
//! exits cleanly. `--nproc N` trains data-parallel on N ranks (`finetune::parallel`): threads
//! of this process on a CPU device, one process per GPU on CUDA (`--launch` chooses). A
//! process started with the torchrun-style environment (`WORLD_SIZE` above 1, `RANK`,
//! `LOCAL_RANK`, `MASTER_ADDR` + `MASTER_PORT` or `TRAINER_RDZV_FILE`) is one rank of such a
//! group, on any number of machines.
//!
//! Data preparation (`trainer::prep`, one command tree): `trainer convert <dataset>`
//! (AudioCaps / Clotho captions, VocalSound / IEMOCAP / NSynth / GTZAN probes),
//! `trainer build-pairs` (ACC/ADC pairs) and `trainer init-model` (a new random model).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use finetune::parallel::Ranks;
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
    /// Data-parallel ranks, each taking its share of every step's micro-batches (global
    /// batch = N × micro_batch × grad_accum); a run resumes only with the N it was started
    /// with.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    nproc: u64,
    /// How `--nproc` ranks run: `threads` of this process on the configured device, or
    /// `processes` (one per rank; on CUDA, rank r on device r). Default: processes on CUDA,
    /// threads otherwise.
    #[arg(long, value_enum)]
    launch: Option<Launch>,
    #[command(subcommand)]
    prep: Option<PrepCommand>,
}

/// How `--nproc` ranks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Launch {
    Threads,
    Processes,
}

fn main() -> Result<()> {
    model::device::keep_freed_memory();
    let cli = Cli::parse();
    match cli.prep {
        Some(cmd) => trainer::prep::run(cmd),
        None => {
            let config = cli.config.clone().context("--config is required")?;
            run_experiment(&config, &cli)
        }
    }
}

fn run_experiment(config: &Path, cli: &Cli) -> Result<()> {
    let cfg = ExperimentConfig::load(config, &cli.set)?;
    let env = finetune::parallel::ProcessRank::from_env(|k| std::env::var(k).ok())
        .context("reading the multi-process environment")?;
    let nproc = cli.nproc as usize;
    let ranks = match env {
        Some(me) if nproc > 1 => anyhow::bail!(
            "--nproc {nproc} inside a group (WORLD_SIZE={}): the launcher (torchrun or \
             `trainer --nproc`) already started one process per rank",
            me.world_size
        ),
        Some(me) => Ranks::Process(me),
        None => {
            let on_cuda = matches!(cfg.train.model.device, model::device::DeviceSpec::Cuda(_));
            let launch = cli.launch.unwrap_or(if on_cuda {
                Launch::Processes
            } else {
                Launch::Threads
            });
            if nproc > 1 && launch == Launch::Processes {
                return launch_processes(config, cli, nproc);
            }
            Ranks::Threads(nproc)
        }
    };
    let lead = ranks.lead();
    let stop_at_step = cli.stop_at_step;
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
    let exp = trainer::experiment::run_on(&cfg, &stop, stop_at_step, &ranks)?;
    if !lead {
        return Ok(());
    }
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

/// `--nproc N --launch processes`: starts this command N times as ranks 0 … N − 1 (the
/// torchrun-style environment, rank r on CUDA device r, a fresh rendezvous file), waits for
/// all, and fails if any rank did. Ctrl-C reaches every rank (one process group); each
/// finishes its step and the group checkpoints as one.
fn launch_processes(config: &Path, cli: &Cli, nproc: usize) -> Result<()> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let rdzv = std::env::temp_dir().join(format!("trainer-rdzv-{}-{nanos}", std::process::id()));
    let mut args: Vec<String> = vec!["--config".into(), config.display().to_string()];
    for s in &cli.set {
        args.extend(["--set".into(), s.clone()]);
    }
    if let Some(n) = cli.stop_at_step {
        args.extend(["--stop-at-step".into(), n.to_string()]);
    }
    // The launcher itself only waits: its Ctrl-C is the ranks' to handle.
    ctrlc::set_handler(|| {}).context("installing the Ctrl-C handler")?;
    let mut children = Vec::with_capacity(nproc);
    for rank in 0..nproc {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(&args);
        for k in finetune::parallel::RANK_ENV {
            cmd.env_remove(k);
        }
        cmd.env("WORLD_SIZE", nproc.to_string())
            .env("RANK", rank.to_string())
            .env("LOCAL_RANK", rank.to_string())
            .env("LOCAL_WORLD_SIZE", nproc.to_string())
            .env("TRAINER_RDZV_FILE", &rdzv);
        match cmd.spawn() {
            Ok(c) => children.push(c),
            Err(e) => {
                for c in &mut children {
                    let _ = c.kill();
                }
                return Err(e).with_context(|| format!("starting rank {rank}"));
            }
        }
    }
    let mut failed = Vec::new();
    for (rank, c) in children.iter_mut().enumerate() {
        match c.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("rank {rank}: {status}")),
            Err(e) => failed.push(format!("rank {rank}: {e}")),
        }
    }
    let _ = std::fs::remove_file(&rdzv);
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {nproc} ranks failed ({})",
            failed.len(),
            failed.join("; ")
        )
    }
}
