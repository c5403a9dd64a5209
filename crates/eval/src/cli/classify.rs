//! `eval classify` (a classification probe on a manifest) and `eval convert` (dataset layouts
//! → classification manifests).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use audio::LongAudio;
use data::classify::convert::{convert_layout, Layout};
use data::classify::ClassTask;
use data::manifest::OnBad;
use eval::classify::{classify_samples, read_labeled, ClassifyOptions, Scoring, Select};
use eval::classify_report::{classify_markdown, write_classify_outputs};
use eval::result::update_result_file;
use eval::Progress;

use super::common::{ModelArgs, ResultArgs};
use super::BootstrapArgs;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskArg {
    /// VocalSound: laughter, sigh, cough, throat clearing, sneeze, sniff.
    Vsc,
    /// IEMOCAP: neutral, happy, sad, angry.
    Ser,
    /// NSynth's 11 instrument families.
    Mic,
    /// GTZAN's 10 genres.
    Mgc,
    /// Labels and prompt from --task-config.
    Custom,
}

#[derive(clap::Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum)]
    task: TaskArg,
    /// TOML task definition for --task custom: name, labels, prompt ({labels} is replaced by
    /// the label list), optional [aliases].
    #[arg(long)]
    task_config: Option<PathBuf>,
    /// Manifest: {"task", "audio", "target": label} per line (task may be left out).
    #[arg(long)]
    manifest: PathBuf,
    /// Output directory: predictions.jsonl, summary.json, summary.md.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scoring::Likelihood)]
    scoring: Scoring,
    #[arg(long, value_enum, default_value_t = Select::Sum)]
    select: Select,
    /// Generate mode: the answer's token limit.
    #[arg(long, default_value_t = 16)]
    max_new_tokens: usize,
    /// Samples per batch: one forward pass over their prompts (likelihood), or one
    /// generation batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Evaluate only the first N lines.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = LongAudio::Truncate)]
    long_audio: LongAudio,
    #[command(flatten)]
    video: super::common::VideoArgs,
    /// Bad lines (wrong task, unknown label, no audio, unreadable clip).
    #[arg(long, value_enum, default_value_t = OnBad::Error)]
    on_bad: OnBad,
    #[command(flatten)]
    result: ResultArgs,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

fn task(a: &ClassifyArgs) -> Result<ClassTask> {
    let t = match (a.task, &a.task_config) {
        (TaskArg::Custom, Some(p)) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<ClassTask>(&text).with_context(|| format!("{}", p.display()))?
        }
        (TaskArg::Custom, None) => bail!("--task custom needs --task-config FILE.toml"),
        (_, Some(_)) => bail!("--task-config is for --task custom only"),
        (t, None) => {
            let name = match t {
                TaskArg::Vsc => "vsc",
                TaskArg::Ser => "ser",
                TaskArg::Mic => "mic",
                _ => "mgc",
            };
            ClassTask::builtin(name).with_context(|| format!("built-in task {name}"))?
        }
    };
    t.validate().with_context(|| match &a.task_config {
        Some(p) => format!("{}", p.display()),
        None => t.name.clone(),
    })?;
    Ok(t)
}

pub fn run_classify(a: ClassifyArgs) -> Result<()> {
    let task = task(&a)?;
    let (mut labeled, skipped) = read_labeled(&task, &a.manifest, a.on_bad)?;
    if let Some(n) = a.limit {
        labeled.truncate(n);
    }
    let bootstrap = a.bootstrap.options()?;
    let (model, id) = a.model.load()?;
    let opts = ClassifyOptions {
        scoring: a.scoring,
        select: a.select,
        max_new_tokens: a.max_new_tokens,
        batch_size: a.batch_size,
        long_audio: a.long_audio,
        video: a.video.options()?,
        on_bad: a.on_bad,
        model_id: Some(id),
        progress: Progress { every: 100 },
        bootstrap,
    };
    let report = classify_samples(
        &model,
        &task,
        &labeled,
        skipped,
        &a.manifest.display().to_string(),
        &opts,
    )?;
    write_classify_outputs(&a.out, &report)?;
    print!("{}", classify_markdown(&report.summary));
    if let Some(path) = &a.result.result {
        update_result_file(
            path,
            a.result.name.as_deref(),
            a.result.train_seed,
            report.summary.model.as_ref(),
            |r| r.add_classify(&report.summary),
        )?;
        eprintln!("added `{}` to {}", task.name, path.display());
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

/// `eval convert`: kept for scripts written against earlier versions; the documented
/// command is `trainer convert <dataset>` (the one data-preparation tree), and both run
/// `data::classify::convert::convert_layout`.
#[derive(clap::Args)]
pub struct ConvertArgs {
    #[arg(long, value_enum)]
    format: Layout,
    /// The dataset's folder (or examples.json for NSynth).
    #[arg(long)]
    input: PathBuf,
    /// The manifest to write; audio paths are relative to its directory when under it.
    #[arg(long)]
    out: PathBuf,
    /// IEMOCAP: the sessions to take (e.g. --sessions 5); all when absent.
    #[arg(long, value_delimiter = ',')]
    sessions: Vec<u32>,
}

pub fn run_convert(a: ConvertArgs) -> Result<()> {
    let c = convert_layout(a.format, &a.input, &a.sessions, &a.out)?;
    eprintln!("wrote {} lines to {}", c.lines.len(), a.out.display());
    for (reason, n) in c.dropped_counts() {
        eprintln!("dropped {n}: {reason}");
    }
    Ok(())
}
