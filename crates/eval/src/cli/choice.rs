//! `eval choice` (multiple-choice recognition of a manifest under one input condition; an
//! optional teacher file), `eval difficulty` (which classes the student finds hard) and
//! `eval choice-report` (the per-class report of a distillation).
//! Declared by `main.rs`; the shared arguments are `cli::common`'s.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use audio::LongAudio;
use data::choice::{ChoiceTask, Condition, DifficultyWeights, Selection};
use data::manifest::OnBad;
use eval::choice::{
    choice_items, choice_markdown, read_items, read_predictions, read_summary, teacher_file,
    write_choice_outputs, ChoiceOptions, Scoring,
};
use eval::choice_report::{
    build_per_class_report, per_class_markdown, write_per_class_report, DifficultyInput, Humans,
    ReportInputs, SummaryFile,
};
use eval::difficulty::{difficulty, difficulty_markdown, quality, DifficultyModel, Run};
use eval::Progress;

use crate::cli::common::{ModelArgs, VideoArgs};

#[derive(clap::Args)]
pub struct ChoiceArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The task (TOML): name, classes, options (default 10), seed, prompt ({options}).
    #[arg(long)]
    task: PathBuf,
    /// Manifest: {"audio"?, "images"?, "videos"?, "target": class} per line (task may be left
    /// out).
    #[arg(long)]
    manifest: PathBuf,
    /// Which media of each item the model is given.
    #[arg(long, value_enum)]
    condition: Condition,
    /// Output directory: predictions.jsonl, summary.json, summary.md.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scoring::Likelihood)]
    scoring: Scoring,
    /// Likelihood: the letter logits are divided by this before the softmax (the teacher
    /// file always holds temperature 1).
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Also write the run as a teacher file (likelihood scoring) for distillation.
    #[arg(long)]
    teacher_out: Option<PathBuf>,
    /// Prompts per forward pass or generation batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Generate mode: the answer's token limit.
    #[arg(long, default_value_t = 8)]
    max_new_tokens: usize,
    /// Evaluate only the first N items.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = LongAudio::Truncate)]
    long_audio: LongAudio,
    #[command(flatten)]
    video: VideoArgs,
    /// Bad lines and items (another task, a target that is not a class, no media for the
    /// condition, an unreadable file).
    #[arg(long, value_enum, default_value_t = OnBad::Error)]
    on_bad: OnBad,
}

pub fn run_choice(a: ChoiceArgs) -> Result<()> {
    if a.teacher_out.is_some() && a.scoring != Scoring::Likelihood {
        bail!("--teacher-out needs --scoring likelihood (a distribution over the letters)");
    }
    let task = ChoiceTask::from_toml_file(&a.task)?;
    let (mut items, skipped) = read_items(&task, &a.manifest, a.on_bad)?;
    if let Some(n) = a.limit {
        items.truncate(n);
    }
    let (model, id) = a.model.load()?;
    let opts = ChoiceOptions {
        condition: a.condition,
        scoring: a.scoring,
        temperature: a.temperature,
        batch_size: a.batch_size,
        max_new_tokens: a.max_new_tokens,
        long_audio: a.long_audio,
        video: a.video.options()?,
        on_bad: a.on_bad,
        model_id: Some(id),
        progress: Progress { every: 100 },
    };
    let report = choice_items(
        &model,
        &task,
        &items,
        skipped,
        &a.manifest.display().to_string(),
        &opts,
    )?;
    write_choice_outputs(&a.out, &report)?;
    print!("{}", choice_markdown(&report.summary));
    if let Some(path) = &a.teacher_out {
        let file = teacher_file(&report, &task)?;
        file.save(path)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote the teacher file {} ({} items)",
            path.display(),
            file.items.len()
        );
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

#[derive(clap::Args)]
pub struct DifficultyArgs {
    /// The student's held-out run (`eval choice`'s summary.json; its predictions.jsonl beside
    /// it gives the agreement signal).
    #[arg(long)]
    student: PathBuf,
    /// The teacher's run on the same items (summary.json).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// The hard set: top-k:K, threshold:T, all, or list:a,b (list:a;b for names with commas).
    #[arg(long)]
    select: Selection,
    /// The difficulty file to write (JSON; a Markdown table beside it, .md).
    #[arg(long)]
    out: PathBuf,
    /// The student's run on separate test data: report the Spearman correlation between the
    /// predicted difficulty and the test error per class.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Pseudo-items of the Beta prior smoothing the per-class rates.
    #[arg(long, default_value_t = 4.0)]
    prior_strength: f64,
    /// Weight of the student's error (default 0.5).
    #[arg(long)]
    weight_error: Option<f64>,
    /// Weight of the student's unconfidence in the true letter (default 0.2).
    #[arg(long)]
    weight_unconfidence: Option<f64>,
    /// Weight of the teacher's advantage over the student (default 0.15).
    #[arg(long)]
    weight_teacher_advantage: Option<f64>,
    /// Weight of teacher–student disagreement (default 0.1).
    #[arg(long)]
    weight_disagreement: Option<f64>,
    /// Weight of the class's rarity among the held-out items (default 0.05).
    #[arg(long)]
    weight_rarity: Option<f64>,
}

/// The predictions file beside a summary, when there is one.
fn predictions_beside(summary: &Path) -> Result<Option<Vec<eval::choice::ChoiceRecord>>> {
    let p = summary.with_file_name("predictions.jsonl");
    if !p.is_file() {
        return Ok(None);
    }
    Ok(Some(read_predictions(&p)?))
}

pub fn run_difficulty(a: DifficultyArgs) -> Result<()> {
    let d = DifficultyWeights::default();
    let model = DifficultyModel {
        weights: DifficultyWeights {
            error: a.weight_error.unwrap_or(d.error),
            unconfidence: a.weight_unconfidence.unwrap_or(d.unconfidence),
            teacher_advantage: a.weight_teacher_advantage.unwrap_or(d.teacher_advantage),
            disagreement: a.weight_disagreement.unwrap_or(d.disagreement),
            rarity: a.weight_rarity.unwrap_or(d.rarity),
        },
        prior_strength: a.prior_strength,
    };
    let student = read_summary(&a.student)?;
    let student_preds = predictions_beside(&a.student)?;
    let student_name = a.student.display().to_string();
    let teacher = match &a.teacher {
        Some(p) => Some((
            read_summary(p)?,
            predictions_beside(p)?,
            p.display().to_string(),
        )),
        None => None,
    };
    let mut file = difficulty(
        Run {
            summary: &student,
            name: &student_name,
            predictions: student_preds.as_deref(),
        },
        teacher.as_ref().map(|(s, p, n)| Run {
            summary: s,
            name: n,
            predictions: p.as_deref(),
        }),
        &model,
        &a.select,
    )?;
    if let Some(t) = &a.test {
        let test = read_summary(t)?;
        file.quality = Some(quality(&file, &test, &t.display().to_string())?);
    }
    file.save(&a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let md = difficulty_markdown(&file);
    eval::io::write_atomic(&a.out.with_extension("md"), md.as_bytes())?;
    print!("{md}");
    if let Some(q) = &file.quality {
        match q.spearman {
            Some(r) => println!("spearman {r:.4} over {} classes", q.classes),
            None => println!("spearman undefined over {} classes (no spread)", q.classes),
        }
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

#[derive(clap::Args)]
pub struct ChoiceReportArgs {
    /// The student before distillation (`eval choice`'s summary.json).
    #[arg(long)]
    student_before: PathBuf,
    /// The student after distillation: the same task, condition, classes and items.
    #[arg(long)]
    student_after: PathBuf,
    /// The teacher on the same items, in its own condition (summary.json).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// The difficulty file (`eval difficulty`): its selected classes are the hard group.
    #[arg(long)]
    difficulty: Option<PathBuf>,
    /// Human responses, CSV: `class,condition,correct,total` or
    /// `item_id,class,condition,answer_class` (condition: audio, visual or both).
    #[arg(long)]
    humans: Option<PathBuf>,
    /// A further column, NAME=path/summary.json (repeatable; e.g. the label-only baseline).
    #[arg(long = "run", value_name = "NAME=SUMMARY", value_parser = named_run)]
    runs: Vec<(String, PathBuf)>,
    /// The ears-vs-eyes comparison's audio-condition run (with --visual-model).
    #[arg(long, requires = "visual_model")]
    audio_model: Option<PathBuf>,
    /// The ears-vs-eyes comparison's visual-condition run (with --audio-model).
    #[arg(long, requires = "audio_model")]
    visual_model: Option<PathBuf>,
    /// Output directory: report.md, report.json, report.png.
    #[arg(long)]
    out: PathBuf,
}

/// `NAME=path` of `--run`.
fn named_run(s: &str) -> std::result::Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("`{s}`: expected NAME=path/summary.json")),
    }
}

pub fn run_choice_report(a: ChoiceReportArgs) -> Result<()> {
    let summary = |p: &PathBuf| SummaryFile::read(p);
    let optional = |p: &Option<PathBuf>| p.as_ref().map(summary).transpose();
    let inputs = ReportInputs {
        before: summary(&a.student_before)?,
        after: summary(&a.student_after)?,
        teacher: optional(&a.teacher)?,
        difficulty: a
            .difficulty
            .as_deref()
            .map(DifficultyInput::read)
            .transpose()?,
        humans: a.humans.as_deref().map(Humans::read).transpose()?,
        runs: a
            .runs
            .iter()
            .map(|(n, p)| Ok((n.clone(), summary(p)?)))
            .collect::<eval::Result<Vec<_>>>()?,
        audio_model: optional(&a.audio_model)?,
        visual_model: optional(&a.visual_model)?,
    };
    let report = build_per_class_report(&inputs)?;
    write_per_class_report(&a.out, &report)?;
    print!("{}", per_class_markdown(&report));
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
