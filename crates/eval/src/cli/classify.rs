//! `eval classify` (a classification probe on a manifest) and `eval convert` (dataset layouts
//! → classification manifests).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use data::classify::convert::{gtzan, iemocap, nsynth, vocalsound};
use data::classify::ClassTask;
use data::manifest::write_manifest;
use eval::classify::{classify_samples, read_labeled, ClassifyOptions, Scoring, Select};
use eval::classify_report::{classify_markdown, write_classify_outputs};
use eval::result::update_result_file;
use eval::Progress;

use super::common::{LongAudioArg, ModelArgs, OnBadArg, ResultArgs};

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

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ScoringArg {
    /// Score every label's log-probability as the answer (no parsing).
    Likelihood,
    /// Generate a free answer and map it to a label.
    Generate,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SelectArg {
    /// Summed log-probability of the label's tokens.
    Sum,
    /// Mean log-probability per token.
    Mean,
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
    #[arg(long, value_enum, default_value_t = ScoringArg::Likelihood)]
    scoring: ScoringArg,
    #[arg(long, value_enum, default_value_t = SelectArg::Sum)]
    select: SelectArg,
    /// Generate mode: the answer's token limit.
    #[arg(long, default_value_t = 16)]
    max_new_tokens: usize,
    /// Generate mode: prompts per batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Evaluate only the first N lines.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = LongAudioArg::Truncate)]
    long_audio: LongAudioArg,
    /// Bad lines (wrong task, unknown label, no audio, unreadable clip).
    #[arg(long, value_enum, default_value_t = OnBadArg::Error)]
    on_bad: OnBadArg,
    #[command(flatten)]
    result: ResultArgs,
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
    let (mut labeled, skipped) = read_labeled(&task, &a.manifest, a.on_bad.into())?;
    if let Some(n) = a.limit {
        labeled.truncate(n);
    }
    let (model, id) = a.model.load()?;
    let opts = ClassifyOptions {
        scoring: match a.scoring {
            ScoringArg::Likelihood => Scoring::Likelihood,
            ScoringArg::Generate => Scoring::Generate,
        },
        select: match a.select {
            SelectArg::Sum => Select::Sum,
            SelectArg::Mean => Select::Mean,
        },
        max_new_tokens: a.max_new_tokens,
        batch_size: a.batch_size,
        long_audio: a.long_audio.into(),
        on_bad: a.on_bad.into(),
        model_id: Some(id),
        progress: Progress { every: 100 },
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
            report.summary.model.as_ref(),
            |r| r.add_classify(&report.summary),
        )?;
        eprintln!("added `{}` to {}", task.name, path.display());
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// A folder of VocalSound clips (<speaker>_<n>_<label>.wav) → task vsc.
    Vocalsound,
    /// The IEMOCAP root (Session1..5) → task ser (exc merged into happy).
    Iemocap,
    /// NSynth's examples.json (audio/ beside it) → task mic.
    Nsynth,
    /// GTZAN's genres/ folder (genres/<genre>/*.wav) → task mgc.
    Gtzan,
}

#[derive(clap::Args)]
pub struct ConvertArgs {
    #[arg(long, value_enum)]
    format: FormatArg,
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
    let base = match a.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !a.sessions.is_empty() && !matches!(a.format, FormatArg::Iemocap) {
        bail!("--sessions is for --format iemocap only");
    }
    let c = match a.format {
        FormatArg::Vocalsound => vocalsound(&a.input, &base),
        FormatArg::Iemocap => iemocap(&a.input, &a.sessions, &base),
        FormatArg::Nsynth => nsynth(&a.input, &base),
        FormatArg::Gtzan => gtzan(&a.input, &base),
    }?;
    if c.lines.is_empty() {
        bail!("{}: no clip found", a.input.display());
    }
    write_manifest(&a.out, &c.lines)?;
    eprintln!("wrote {} lines to {}", c.lines.len(), a.out.display());
    for (reason, n) in c.dropped_counts() {
        eprintln!("dropped {n}: {reason}");
    }
    Ok(())
}
