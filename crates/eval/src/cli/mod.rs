//! The evaluation subcommands: thin layers over the `eval` library.

pub mod caption;
pub mod classify;
pub mod common;

use std::path::PathBuf;

use anyhow::{Context, Result};
use eval::common::BootstrapOptions;
use eval::report::{report_files_with, report_markdown, write_report};

/// Confidence intervals: percentile bootstrap over clips / samples.
#[derive(clap::Args, Debug, Clone)]
pub struct BootstrapArgs {
    /// Bootstrap resamples for the confidence intervals (0: no intervals).
    #[arg(long = "bootstrap", value_name = "N", default_value_t = 1000)]
    pub resamples: usize,
    /// Seed of the bootstrap's resamples.
    #[arg(long, default_value_t = 0)]
    pub bootstrap_seed: u64,
    /// The intervals' confidence level, in (0, 1).
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
}

impl BootstrapArgs {
    pub fn options(&self) -> Result<BootstrapOptions> {
        let o = BootstrapOptions {
            resamples: self.resamples,
            seed: self.bootstrap_seed,
            confidence: self.confidence,
        };
        o.validate().context("--confidence")?;
        Ok(o)
    }
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The base model's result JSON.
    #[arg(long)]
    base: PathBuf,
    /// The finetuned models' result JSONs. Results that share a name and each name a
    /// different training seed (`train_seed`, written by the trainer or `--train-seed`) are
    /// pooled into one row: mean ± standard deviation over seeds, intervals over seeds and
    /// clips.
    #[arg(long, num_args = 1.., required = true)]
    runs: Vec<PathBuf>,
    /// Output directory: report.md, report.json, report.png.
    #[arg(long)]
    out: PathBuf,
    #[arg(
        long,
        default_value = "Captioning and forgetting against the base model"
    )]
    title: String,
    /// Captioning metrics to show (comma-separated: bleu_1..bleu_4, meteor, rouge_l, cider_d,
    /// spice, spider); all when absent.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

pub fn run_report(a: ReportArgs) -> Result<()> {
    let mut report = report_files_with(&a.base, &a.runs, &a.bootstrap.options()?)?;
    if !a.metrics.is_empty() {
        report = report.with_caption_metrics(&a.metrics);
    }
    write_report(&a.out, &report, &a.title)?;
    print!("{}", report_markdown(&report, &a.title));
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
