//! The `world` binary: generate (or check) a procedural audio corpus.
//!
//! ```sh
//! cargo run --release -p world -- generate --out data/world [--size demo|test|objects] [--seed N]
//! cargo run --release -p world -- generate --out data/world --config world.json
//! cargo run --release -p world -- verify --dir data/world
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use world::{Size, WorldConfig};

#[derive(Parser)]
#[command(
    name = "world",
    about = "A procedural audio corpus, deterministic from a seed"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a world (replacing a world already in OUT; `--if-missing` keeps a matching one).
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// A named size (ignored with --config).
        #[arg(long, value_enum, default_value = "demo")]
        size: Size,
        /// Overrides the seed of the size or config.
        #[arg(long)]
        seed: Option<u64>,
        /// A JSON `WorldConfig` (missing keys take the demo values).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Keep a complete world of the same config and version already in OUT.
        #[arg(long)]
        if_missing: bool,
    },
    /// Re-hash a world's files against its world.json.
    Verify {
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Writes to stdout; a closed pipe (`world generate ... | head`) is not an error.
fn print_out(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Generate {
            out,
            size,
            seed,
            config,
            if_missing,
        } => {
            let mut cfg = match &config {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading config {}", p.display()))?;
                    serde_json::from_str::<WorldConfig>(&text)
                        .with_context(|| format!("parsing config {}", p.display()))?
                }
                None => WorldConfig::sized(size),
            };
            if let Some(s) = seed {
                cfg.seed = s;
            }
            let t = Instant::now();
            let index = if if_missing {
                world::ensure(&cfg, &out)
            } else {
                world::generate(&cfg, &out)
            }
            .with_context(|| format!("generating the world in {}", out.display()))?;
            let mut text = format!(
                "{}: {} files, {:.1} MB, hash {} ({:.1} s)\n",
                out.display(),
                index.files,
                index.bytes as f64 / 1e6,
                index.content_hash,
                t.elapsed().as_secs_f64()
            );
            for (name, m) in &index.manifests {
                text.push_str(&format!("  {name:<12} {:>5} lines  {}\n", m.lines, m.path));
            }
            print_out(&text)?;
        }
        Cmd::Verify { dir } => {
            let index =
                world::verify(&dir).with_context(|| format!("verifying {}", dir.display()))?;
            print_out(&format!(
                "{}: ok ({} files, hash {})\n",
                dir.display(),
                index.files,
                index.content_hash
            ))?;
        }
    }
    Ok(())
}
