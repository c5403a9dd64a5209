//! Classification probes (VSC, SER, MIC, MGC or a custom task): does the model still know
//! what it knew before finetuning?
//!
//! Two scoring modes ([`Scoring`]):
//! * **likelihood** (default): every label is scored as the answer, `label + "<|im_end|>"`
//!   after the chat-templated prompt ([`crate::likelihood`]); the prediction is the label with
//!   the highest summed log-probability ([`Select::Sum`], default) or mean per token
//!   ([`Select::Mean`]); ties go to the label listed first. Nothing is parsed, so nothing is
//!   unmatched.
//! * **generate**: greedy free answer, mapped to a label by
//!   [`data::classify::map_answer`] (exact, then whole-word substring, else unmatched: counted
//!   wrong and listed).
//!
//! Scores: accuracy, macro-F1, per-class accuracy / precision / F1 and the confusion matrix
//! ([`metrics::classification`]). Outputs are described in [`crate::classify_report`].

use std::path::Path;

use data::classify::{label_samples, map_answer, ClassTask, LabeledSample, MatchKind};
use data::manifest::{read_manifest_with, ReadOptions};
use data::task::Task;
use data::OnBad;
use model::generate::{generate, GenerateOptions};
use model::Model;
use serde::{Deserialize, Serialize};

use crate::classify_report::{summarise, ClassRecord, ClassifyReport, LabelScore};
use crate::common::{BootstrapOptions, ModelId, Progress, SkippedLine};
use crate::error::{Error, Result};
use crate::input::{at, batch_error, prepare, Prepared};
use crate::likelihood::{answers_ids, score_batch};

/// How a sample's prediction is obtained.
///
/// Read from configs (serde: `"likelihood"`, `"generate"`) and command lines (clap). The
/// first paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// Score every label's log-probability as the answer (no parsing).
    ///
    /// Closed-set label likelihood.
    #[default]
    Likelihood,
    /// Generate a free answer and map it to a label.
    ///
    /// Free answer, then the normaliser ([`data::classify::map_answer`]).
    Generate,
}

/// Which likelihood picks the label.
///
/// Read from configs (serde: `"sum"`, `"mean"`) and command lines (clap). The first
/// paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// Summed log-probability of the label's tokens.
    ///
    /// The answer's probability.
    #[default]
    Sum,
    /// Mean log-probability per token.
    ///
    /// Favours long labels less than [`Select::Sum`].
    Mean,
}

/// Options of a classification run.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    pub scoring: Scoring,
    pub select: Select,
    /// Generate mode: the answer's length limit.
    pub max_new_tokens: usize,
    /// Samples per batch: one forward pass over their prompts (likelihood), or one
    /// generation batch.
    pub batch_size: usize,
    pub long_audio: audio::LongAudio,
    /// Frame sampling of videos (`qwen_vl_utils`' settings).
    pub video: vision::VideoOptions,
    /// Bad lines (wrong task, unknown label, no media, unreadable file): error or skip + list.
    pub on_bad: OnBad,
    pub model_id: Option<ModelId>,
    pub progress: Progress,
    /// Confidence interval of the accuracy (`resamples = 0`: none).
    pub bootstrap: BootstrapOptions,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        Self {
            scoring: Scoring::Likelihood,
            select: Select::Sum,
            max_new_tokens: 16,
            batch_size: 8,
            long_audio: audio::LongAudio::Truncate,
            video: vision::VideoOptions::default(),
            on_bad: OnBad::Error,
            model_id: None,
            progress: Progress::default(),
            bootstrap: BootstrapOptions::default(),
        }
    }
}

/// Reads a classification manifest (lines without a task belong to `task`) and resolves
/// every target to a label. Bad lines (malformed, no audio, another task, a target that is
/// not a label): under [`OnBad::Error`] the first one in file order is the error, naming its
/// line; under [`OnBad::Skip`] they are returned, in file order.
pub fn read_labeled(
    task: &ClassTask,
    manifest: &Path,
    on_bad: OnBad,
) -> Result<(Vec<LabeledSample>, Vec<SkippedLine>)> {
    let read = ReadOptions {
        on_bad: OnBad::Skip,
        default_task: Some(Task::Custom(task.name.clone())),
    };
    let (samples, mut skipped) = read_manifest_with(manifest, &read)?;
    let (labeled, more) = label_samples(task, samples, OnBad::Skip)?;
    skipped.extend(more);
    skipped.sort_by_key(|s| s.location.line);
    if let (OnBad::Error, Some(first)) = (on_bad, skipped.first()) {
        return Err(Error::Invalid(first.reason.clone()));
    }
    Ok((
        labeled,
        skipped.into_iter().map(SkippedLine::from).collect(),
    ))
}

/// Reads a classification manifest ([`read_labeled`]), classifies and scores it.
pub fn classify_manifest(
    model: &Model,
    task: &ClassTask,
    manifest: &Path,
    opts: &ClassifyOptions,
) -> Result<ClassifyReport> {
    task.validate()?;
    let (labeled, skipped) = read_labeled(task, manifest, opts.on_bad)?;
    classify_samples(
        model,
        task,
        &labeled,
        skipped,
        &manifest.display().to_string(),
        opts,
    )
}

/// Classifies already labelled samples. `skipped` and `source` go into the summary.
pub fn classify_samples(
    model: &Model,
    task: &ClassTask,
    samples: &[LabeledSample],
    mut skipped: Vec<SkippedLine>,
    source: &str,
    opts: &ClassifyOptions,
) -> Result<ClassifyReport> {
    task.validate()?;
    if opts.batch_size == 0 {
        return Err(Error::option("batch_size", "must be at least 1"));
    }
    opts.bootstrap.validate()?;
    let prompts = task.prompts();
    let mut records = Vec::with_capacity(samples.len());
    let mut truncated = Vec::new();
    let step = opts.batch_size;
    for (b, chunk) in samples.chunks(step).enumerate() {
        let mut ready: Vec<(&LabeledSample, Prepared)> = Vec::with_capacity(chunk.len());
        for s in chunk {
            match (
                prepare(model, &s.sample, &prompts, opts.long_audio, &opts.video),
                opts.on_bad,
            ) {
                (Ok(p), _) => ready.push((s, p)),
                (Err(e), OnBad::Error) => return Err(e),
                (Err(e), OnBad::Skip) => skipped.push(SkippedLine {
                    location: s.sample.source.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        for (_, p) in &ready {
            truncated.extend(p.truncated.iter().map(|t| t.display().to_string()));
        }
        match opts.scoring {
            Scoring::Likelihood => records.extend(by_likelihood(model, task, &ready, opts.select)?),
            Scoring::Generate => records.extend(by_generation(model, task, &ready, opts)?),
        }
        let done = ((b + 1) * step).min(samples.len());
        opts.progress
            .tick(&format!("classify {}", task.name), done, samples.len());
    }
    summarise(task, records, skipped, truncated, source, opts)
}

fn record(s: &LabeledSample, task: &ClassTask) -> ClassRecord {
    ClassRecord {
        id: s.sample.id.clone(),
        source: s.sample.source.to_string(),
        target: task.labels[s.label].clone(),
        predicted: None,
        correct: false,
        answer: None,
        matched_by: None,
        scores: None,
    }
}

/// The samples of a batch of prepared items.
fn samples<'a>(ready: &'a [(&'a LabeledSample, Prepared)]) -> Vec<&'a data::Sample> {
    ready.iter().map(|(s, _)| &s.sample).collect()
}

fn by_likelihood(
    model: &Model,
    task: &ClassTask,
    ready: &[(&LabeledSample, Prepared)],
    select: Select,
) -> Result<Vec<ClassRecord>> {
    let answers = ready
        .iter()
        .map(|(s, p)| answers_ids(model, &p.templated, &task.labels).map_err(at(&s.sample)))
        .collect::<Result<Vec<_>>>()?;
    let seqs: Vec<_> = ready.iter().map(|(_, p)| p.seq.clone()).collect();
    let all = score_batch(model, &seqs, &answers)
        .map_err(|e| batch_error(&samples(ready), "scoring", e))?;
    Ok(ready
        .iter()
        .zip(all)
        .map(|((s, _), scores)| {
            let value = |i: usize| match select {
                Select::Sum => scores[i].sum(),
                Select::Mean => scores[i].mean(),
            };
            // First maximum: ties go to the label listed first.
            let best = (1..scores.len()).fold(0, |b, i| if value(i) > value(b) { i } else { b });
            let mut r = record(s, task);
            r.predicted = Some(task.labels[best].clone());
            r.correct = best == s.label;
            r.scores = Some(
                task.labels
                    .iter()
                    .zip(&scores)
                    .map(|(l, sc)| LabelScore {
                        label: l.clone(),
                        sum: sc.sum(),
                        mean: sc.mean(),
                        tokens: sc.tokens(),
                    })
                    .collect(),
            );
            r
        })
        .collect())
}

fn by_generation(
    model: &Model,
    task: &ClassTask,
    ready: &[(&LabeledSample, Prepared)],
    opts: &ClassifyOptions,
) -> Result<Vec<ClassRecord>> {
    let seqs: Vec<_> = ready.iter().map(|(_, p)| p.seq.clone()).collect();
    // Greedy, the model's own end ids.
    let gen = GenerateOptions {
        max_new_tokens: opts.max_new_tokens,
        ..Default::default()
    };
    let out = generate(model, &seqs, &gen)
        .map_err(|e| batch_error(&samples(ready), "generating", e.into()))?;
    let mut records = Vec::with_capacity(ready.len());
    for ((s, _), ids) in ready.iter().zip(out) {
        let answer = model.tokenizer.decode(&ids, true)?.trim().to_string();
        let mapped = map_answer(task, &answer);
        let mut r = record(s, task);
        r.predicted = mapped.label.map(|i| task.labels[i].clone());
        r.correct = mapped.label == Some(s.label);
        r.answer = Some(answer);
        r.matched_by = Some(mapped.kind);
        records.push(r);
    }
    Ok(records)
}

/// Whether a record's answer mapped to no label.
pub fn is_unmatched(r: &ClassRecord) -> bool {
    r.matched_by == Some(MatchKind::Unmatched)
}
