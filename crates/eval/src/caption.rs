//! Captioning evaluation: a caption per manifest line (batched generation with the KV cache,
//! greedy by default), scored against the line's reference captions (`target` and
//! `references`, several per clip as in AudioCaps and Clotho).
//!
//! Works the same for AC, ACC and ADC lines: the prompt is the line's own, else the task's
//! default ([`data::task::Prompts`]); every clip of the line goes into the user turn.
//!
//! Outputs ([`write_caption_outputs`]), in one directory:
//! * `predictions.jsonl`: one [`ClipRecord`] per clip: `{"id", "source", "prediction",
//!   "references", "scores": {"bleu_1", …, "spider"}}` (`null` where not computed);
//! * `summary.json`: a [`CaptionSummary`];
//! * `summary.md`: the same as a table.

use std::collections::BTreeMap;
use std::path::Path;

use data::manifest::{read_manifest_with, ReadOptions};
use data::task::{Prompts, Task};
use data::{OnBad, Sample};
use model::generate::{generate, GenerateOptions, Strategy};
use model::Model;
use serde::{Deserialize, Serialize};

use crate::common::{BootstrapOptions, Intervals, ModelId, OnEmpty, Progress, SkippedLine};
use crate::error::{Error, Result};
use crate::input::{prepare, Prepared};
use crate::io::{write_atomic, write_json, write_jsonl};
use crate::java::JavaConfig;
use crate::score::{
    caption_intervals, caption_items, score_captions, CaptionItem, CaptionMetrics, FenseConfig,
    CAPTION_METRICS,
};

/// How captions are generated and scored.
#[derive(Debug, Clone)]
pub struct CaptionOptions {
    /// Decoding: greedy by default; beam search with `Strategy::Beam`.
    pub generate: GenerateOptions,
    /// Prompts per generation batch (left-padded together).
    pub batch_size: usize,
    /// The prompt of lines that carry none.
    pub prompts: Prompts,
    pub long_audio: audio::LongAudio,
    /// Frame sampling of videos (`qwen_vl_utils`' settings).
    pub video: vision::VideoOptions,
    /// Bad manifest lines and clips that fail to load: error, or skip and list.
    pub on_bad: OnBad,
    /// Empty generated captions: scored and listed by default.
    pub on_empty: OnEmpty,
    /// METEOR / SPICE configuration; `None` switches them off.
    pub java: Option<JavaConfig>,
    /// Where FENSE's models are looked for; `None` switches FENSE and SPIDEr-FL off.
    pub fense: Option<FenseConfig>,
    /// Recorded in the summary.
    pub model_id: Option<ModelId>,
    pub progress: Progress,
    /// Confidence intervals of the metrics (`resamples = 0`: none).
    pub bootstrap: BootstrapOptions,
}

impl Default for CaptionOptions {
    fn default() -> Self {
        Self {
            generate: GenerateOptions {
                max_new_tokens: 64,
                ..GenerateOptions::default()
            },
            batch_size: 8,
            prompts: Prompts::default(),
            long_audio: audio::LongAudio::Truncate,
            video: vision::VideoOptions::default(),
            on_bad: OnBad::Error,
            on_empty: OnEmpty::Count,
            java: Some(JavaConfig::default()),
            fense: Some(FenseConfig::default()),
            model_id: None,
            progress: Progress::default(),
            bootstrap: BootstrapOptions::default(),
        }
    }
}

/// One clip's line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipRecord {
    pub id: String,
    /// `file:line` of the input line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub prediction: String,
    pub references: Vec<String>,
    #[serde(default)]
    pub scores: CaptionMetrics,
}

/// How the captions were generated (absent when scoring existing predictions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSettings {
    /// `greedy`, `beam` or `sample`.
    pub strategy: String,
    #[serde(default)]
    pub num_beams: Option<usize>,
    pub max_new_tokens: usize,
    pub batch_size: usize,
}

/// `summary.json` of a captioning evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionSummary {
    #[serde(default)]
    pub model: Option<ModelId>,
    /// The manifest (or predictions file) evaluated.
    pub source: String,
    /// Clips scored.
    pub clips: usize,
    /// Corpus-level scores (`null`: not computed).
    pub metrics: CaptionMetrics,
    /// Metric → why it is `null`.
    pub not_computed: BTreeMap<String, String>,
    /// Ids of clips whose prediction was empty (scored as empty).
    pub empty_predictions: Vec<String>,
    /// Input lines left out.
    pub skipped: Vec<SkippedLine>,
    /// Clips over 30 s whose first 30 s only were used.
    pub truncated_audio: Vec<String>,
    #[serde(default)]
    pub generation: Option<GenerationSettings>,
    /// Confidence intervals of `metrics` (absent when the bootstrap was off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Intervals>,
    /// Every clip's data for the bootstrap, which the result file keeps
    /// ([`crate::result::EvalResult::add_caption`]); not written to `summary.json`.
    #[serde(skip)]
    pub items: Vec<CaptionItem>,
}

/// A whole captioning evaluation: the summary and every clip.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionReport {
    pub summary: CaptionSummary,
    pub clips: Vec<ClipRecord>,
}

/// A clip to score: (id, source line, prediction, references).
pub(crate) type Unscored = (String, Option<String>, String, Vec<String>);

/// Scores predictions with their references (and the intervals of the scores) and
/// assembles the report.
pub(crate) fn score_unscored(
    items: Vec<Unscored>,
    java: Option<&JavaConfig>,
    fense: Option<&FenseConfig>,
    bootstrap: &BootstrapOptions,
    mut summary: CaptionSummary,
) -> Result<CaptionReport> {
    let predictions: Vec<String> = items.iter().map(|i| i.2.clone()).collect();
    let references: Vec<Vec<String>> = items.iter().map(|i| i.3.clone()).collect();
    let scoring = score_captions(&predictions, &references, java, fense)?;
    summary.clips = items.len();
    summary.metrics = scoring.corpus;
    summary.items = caption_items(items.iter().map(|i| i.0.clone()), &scoring);
    summary.bootstrap = caption_intervals(&summary.items, &summary.metrics, bootstrap)?;
    summary.not_computed = scoring.not_computed;
    let clips = items
        .into_iter()
        .zip(scoring.per_clip)
        .map(
            |((id, source, prediction, references), scores)| ClipRecord {
                id,
                source,
                prediction,
                references,
                scores,
            },
        )
        .collect();
    Ok(CaptionReport { summary, clips })
}

fn settings(opts: &CaptionOptions) -> GenerationSettings {
    let (strategy, num_beams) = match opts.generate.strategy {
        Strategy::Greedy => ("greedy", None),
        Strategy::Beam { num_beams, .. } => ("beam", Some(num_beams)),
        Strategy::Sample { .. } => ("sample", None),
    };
    GenerationSettings {
        strategy: strategy.into(),
        num_beams,
        max_new_tokens: opts.generate.max_new_tokens,
        batch_size: opts.batch_size,
    }
}

/// Reads a manifest (lines without a task are AC), captions and scores it.
pub fn caption_manifest(
    model: &Model,
    manifest: &Path,
    opts: &CaptionOptions,
) -> Result<CaptionReport> {
    let read = ReadOptions {
        on_bad: opts.on_bad,
        default_task: Some(Task::Ac),
    };
    let (samples, skipped) = read_manifest_with(manifest, &read)?;
    let skipped = skipped.into_iter().map(SkippedLine::from).collect();
    caption_samples(
        model,
        &samples,
        skipped,
        &manifest.display().to_string(),
        opts,
    )
}

/// Captions `samples` and scores them against their references. `skipped` (lines the caller
/// already left out) and `source` go into the summary.
pub fn caption_samples(
    model: &Model,
    samples: &[Sample],
    mut skipped: Vec<SkippedLine>,
    source: &str,
    opts: &CaptionOptions,
) -> Result<CaptionReport> {
    if opts.batch_size == 0 {
        return Err(Error::option("batch_size", "must be at least 1"));
    }
    opts.bootstrap.validate()?;
    let mut items: Vec<Unscored> = Vec::with_capacity(samples.len());
    let mut truncated = Vec::new();
    let mut empty = Vec::new();
    for (b, chunk) in samples.chunks(opts.batch_size).enumerate() {
        let mut ready: Vec<(&Sample, Prepared)> = Vec::with_capacity(chunk.len());
        for s in chunk {
            match (
                prepare(model, s, &opts.prompts, opts.long_audio, &opts.video),
                opts.on_bad,
            ) {
                (Ok(p), _) => ready.push((s, p)),
                (Err(e), OnBad::Error) => return Err(e),
                (Err(e), OnBad::Skip) => skipped.push(SkippedLine {
                    location: s.source.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        let seqs: Vec<_> = ready.iter().map(|(_, p)| p.seq.clone()).collect();
        let out = generate(model, &seqs, &opts.generate).map_err(|e| {
            let first = ready
                .first()
                .map(|r| r.0.source.to_string())
                .unwrap_or_default();
            Error::Invalid(format!("generating the batch starting at {first}: {e}"))
        })?;
        for ((s, p), ids) in ready.into_iter().zip(out) {
            let text = model.tokenizer.decode(&ids, true)?.trim().to_string();
            if text.is_empty() {
                if opts.on_empty == OnEmpty::Error {
                    return Err(Error::Invalid(format!(
                        "{} (id {}): the generated caption is empty",
                        s.source, s.id
                    )));
                }
                empty.push(s.id.clone());
            }
            truncated.extend(p.truncated.iter().map(|t| t.display().to_string()));
            let refs = s.all_references().into_iter().map(str::to_string).collect();
            items.push((s.id.clone(), Some(s.source.to_string()), text, refs));
        }
        let done = ((b + 1) * opts.batch_size).min(samples.len());
        opts.progress.tick("caption", done, samples.len());
    }
    if items.is_empty() {
        return Err(Error::Invalid(format!("{source}: no clip left to score")));
    }
    let summary = CaptionSummary {
        model: opts.model_id.clone(),
        source: source.to_string(),
        clips: 0,
        metrics: CaptionMetrics::default(),
        not_computed: BTreeMap::new(),
        empty_predictions: empty,
        skipped,
        truncated_audio: truncated,
        generation: Some(settings(opts)),
        bootstrap: None,
        items: vec![],
    };
    score_unscored(
        items,
        opts.java.as_ref(),
        opts.fense.as_ref(),
        &opts.bootstrap,
        summary,
    )
}

/// Display names of the caption metrics.
pub fn metric_title(name: &str) -> &str {
    match name {
        "bleu_1" => "BLEU-1",
        "bleu_2" => "BLEU-2",
        "bleu_3" => "BLEU-3",
        "bleu_4" => "BLEU-4",
        "meteor" => "METEOR",
        "rouge_l" => "ROUGE-L",
        "cider_d" => "CIDEr-D",
        "spice" => "SPICE",
        "spider" => "SPIDEr",
        other => other,
    }
}

/// `summary.md`: the corpus scores as a table, then what was left out.
pub fn caption_markdown(s: &CaptionSummary) -> String {
    let mut md = format!("# Captioning: {}\n\n", s.source);
    if let Some(m) = &s.model {
        md.push_str(&format!("Model: {m}\n\n"));
    }
    if let Some(g) = &s.generation {
        let beams = g
            .num_beams
            .map(|n| format!(", {n} beams"))
            .unwrap_or_default();
        md.push_str(&format!(
            "Generation: {}{beams}, at most {} new tokens, batches of {}\n\n",
            g.strategy, g.max_new_tokens, g.batch_size
        ));
    }
    md.push_str(&format!(
        "Clips scored: {} ({} empty predictions, {} input lines skipped, {} clips cut to 30 s)\n\n",
        s.clips,
        s.empty_predictions.len(),
        s.skipped.len(),
        s.truncated_audio.len()
    ));
    if let Some(b) = &s.bootstrap {
        md.push_str(&format!("In brackets: the {}.\n\n", b.describe("clips")));
    }
    md.push_str("| metric | value |\n|---|---|\n");
    for m in CAPTION_METRICS {
        let v = match (s.metrics.get(m), s.not_computed.get(m)) {
            (Some(v), _) => match s.bootstrap.as_ref().and_then(|b| b.get(m)) {
                Some([lo, hi]) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
                None => format!("{v:.4}"),
            },
            (None, Some(r)) => format!("not computed: {r}"),
            (None, None) => "not computed".into(),
        };
        md.push_str(&format!("| {} | {v} |\n", metric_title(m)));
    }
    if !s.skipped.is_empty() {
        md.push_str("\n## Skipped lines\n\n");
        for k in &s.skipped {
            md.push_str(&format!("- {}: {}\n", k.location, k.reason));
        }
    }
    md
}

/// Writes `predictions.jsonl`, `summary.json` and `summary.md` into `dir` (created if needed).
pub fn write_caption_outputs(dir: &Path, report: &CaptionReport) -> Result<()> {
    write_jsonl(&dir.join("predictions.jsonl"), &report.clips)?;
    write_json(&dir.join("summary.json"), &report.summary)?;
    write_atomic(
        &dir.join("summary.md"),
        caption_markdown(&report.summary).as_bytes(),
    )
}
