//! The evaluation subcommands: thin layers over the `eval` library.

pub mod caption;
pub mod classify;
pub mod common;

use std::path::PathBuf;

use anyhow::Result;
use eval::report::{report_files, report_markdown, write_report};

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The base model's result JSON.
    #[arg(long)]
    base: PathBuf,
    /// The finetuned models' result JSONs.
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
}

pub fn run_report(a: ReportArgs) -> Result<()> {
    let mut report = report_files(&a.base, &a.runs)?;
    if !a.metrics.is_empty() {
        report = report.with_caption_metrics(&a.metrics);
    }
    write_report(&a.out, &report, &a.title)?;
    print!("{}", report_markdown(&report, &a.title));
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
