//! `eval caption` (a model captions a manifest, scored against its references) and
//! `eval score` (existing predictions scored, no model).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use audio::LongAudio;
use data::manifest::{read_manifest_with, OnBad, ReadOptions};
use data::task::{Prompts, Task};
use eval::caption::{
    caption_markdown, caption_samples, write_caption_outputs, CaptionOptions, CaptionReport,
};
use eval::predictions::{score_files, ScoreOptions};
use eval::result::update_result_file;
use eval::{OnEmpty, Progress, SkippedLine};
use model::generate::{GenerateOptions, Strategy};

use super::common::{JavaArgs, ModelArgs, ResultArgs};
use super::BootstrapArgs;

#[derive(clap::Args)]
pub struct CaptionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Manifest (native or ms-swift JSONL); lines without a task are AC.
    #[arg(long)]
    manifest: PathBuf,
    /// Output directory: predictions.jsonl, summary.json, summary.md.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    #[arg(long, default_value_t = 64)]
    max_new_tokens: usize,
    /// Beam search with this many beams (greedy when absent).
    #[arg(long)]
    num_beams: Option<usize>,
    /// TOML file of default prompts (keys ac, acc, acc_many, adc, [custom]).
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Evaluate only the first N lines.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = LongAudio::Truncate)]
    long_audio: LongAudio,
    #[command(flatten)]
    video: super::common::VideoArgs,
    #[arg(long, value_enum, default_value_t = OnBad::Error)]
    on_bad: OnBad,
    #[arg(long, value_enum, default_value_t = OnEmpty::Count)]
    on_empty: OnEmpty,
    #[command(flatten)]
    java: JavaArgs,
    #[command(flatten)]
    fense: super::common::FenseArgs,
    #[command(flatten)]
    result: ResultArgs,
    /// The captioning set's name in the result file (default: the manifest's file stem).
    #[arg(long)]
    dataset: Option<String>,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// JSONL of {"id", "prediction"} (an `eval caption` predictions.jsonl works too).
    #[arg(long)]
    predictions: PathBuf,
    /// Manifest with the references (target + references per clip); without it every
    /// prediction line must carry "references".
    #[arg(long)]
    references: Option<PathBuf>,
    /// Output directory: predictions.jsonl (with scores), summary.json, summary.md.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = OnEmpty::Error)]
    on_empty: OnEmpty,
    /// Ids present on one side only: error, or leave out and list.
    #[arg(long, value_enum, default_value_t = OnBad::Error)]
    on_unmatched: OnBad,
    #[command(flatten)]
    java: JavaArgs,
    #[command(flatten)]
    fense: super::common::FenseArgs,
    #[command(flatten)]
    result: ResultArgs,
    /// The captioning set's name in the result file (default: the predictions' file stem).
    #[arg(long)]
    dataset: Option<String>,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "captions".into())
}

fn finish(report: &CaptionReport, out: &Path, result: &ResultArgs, dataset: String) -> Result<()> {
    write_caption_outputs(out, report)?;
    print!("{}", caption_markdown(&report.summary));
    if let Some(path) = &result.result {
        update_result_file(
            path,
            result.name.as_deref(),
            result.train_seed,
            report.summary.model.as_ref(),
            |r| r.add_caption(&dataset, &report.summary),
        )?;
        eprintln!("added `{dataset}` to {}", path.display());
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

pub fn run_caption(a: CaptionArgs) -> Result<()> {
    let prompts: Prompts = match &a.prompts {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("{}", p.display()))?
        }
        None => Prompts::default(),
    };
    let strategy = match a.num_beams {
        Some(n) if n < 1 => bail!("--num-beams must be at least 1"),
        Some(n) => Strategy::Beam {
            num_beams: n,
            length_penalty: 1.0,
        },
        None => Strategy::Greedy,
    };
    let read = ReadOptions {
        on_bad: a.on_bad,
        default_task: Some(Task::Ac),
    };
    let (mut samples, skipped) = read_manifest_with(&a.manifest, &read)?;
    if let Some(n) = a.limit {
        samples.truncate(n);
    }
    let bootstrap = a.bootstrap.options()?;
    let (model, id) = a.model.load()?;
    let opts = CaptionOptions {
        generate: GenerateOptions {
            max_new_tokens: a.max_new_tokens,
            min_new_tokens: 0,
            strategy,
            eos: vec![],
        },
        batch_size: a.batch_size,
        prompts,
        long_audio: a.long_audio,
        video: a.video.options()?,
        on_bad: a.on_bad,
        on_empty: a.on_empty,
        java: a.java.config(),
        fense: a.fense.config(),
        model_id: Some(id),
        progress: Progress { every: 50 },
        bootstrap,
    };
    let skipped = skipped.into_iter().map(SkippedLine::from).collect();
    let report = caption_samples(
        &model,
        &samples,
        skipped,
        &a.manifest.display().to_string(),
        &opts,
    )?;
    finish(
        &report,
        &a.out,
        &a.result,
        a.dataset.unwrap_or_else(|| stem(&a.manifest)),
    )
}

pub fn run_score(a: ScoreArgs) -> Result<()> {
    let opts = ScoreOptions {
        on_empty: a.on_empty,
        on_unmatched: a.on_unmatched,
        java: a.java.config(),
        fense: a.fense.config(),
        bootstrap: a.bootstrap.options()?,
    };
    let report = score_files(&a.predictions, a.references.as_deref(), &opts)?;
    finish(
        &report,
        &a.out,
        &a.result,
        a.dataset.unwrap_or_else(|| stem(&a.predictions)),
    )
}
