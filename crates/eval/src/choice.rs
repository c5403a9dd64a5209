//! Multiple-choice recognition (the second seed's evaluation, arXiv 2505.06803): each item of
//! a [`ChoiceTask`] is asked as a lettered question under one input [`Condition`] (audio
//! only, visual only, both), and the model's answer is read as a distribution over the
//! option letters.
//!
//! ```text
//! manifest line ──ChoiceTask::items──▶ ChoiceItem (seeded options, correct letter)
//!   ──ChoiceItem::sample(condition)──▶ sample with the condition's media and the question
//!   ──input::prepare (processor)──▶ prompt ids + media
//!   ──Model::batch (left-padded) + forward_hidden──▶ last position's logits
//!   ──letter tokens (processor::letter_tokens)──▶ softmax over the letters = the options'
//!      distribution ──argmax──▶ predicted letter → predicted class
//! ```
//!
//! Two scoring modes ([`Scoring`]):
//! * **likelihood** (default): one forward pass per batch of prompts; the distribution is
//!   the softmax of the letter tokens' logits at the first answer position (divided by a
//!   temperature, 1 by default); the prediction is the most probable letter (the first of
//!   ties). The letters' share of the whole vocabulary's probability is recorded too
//!   (`letter_mass`: how much the model answers with a letter at all).
//! * **generate**: a few tokens greedily, mapped to a letter by [`map_letter`]: a leading
//!   letter (`B`, `B.`, `(B)`, `Answer: B`), else the text of an option (normalised as
//!   [`data::classify::normalise`] does: exact, else as whole words), else unmatched (counted
//!   wrong and listed).
//!
//! Results ([`ChoiceReport`], written by [`write_choice_outputs`]): accuracy overall and per
//! class (items, correct, mean probability of the true letter = confidence), the confusion of
//! true against predicted class, how often each letter was the answer and the prediction
//! (position bias), per condition — one run is one condition; `predictions.jsonl` holds one
//! [`ChoiceRecord`] per item, `summary.json` the [`ChoiceSummary`], `summary.md` its tables.
//! [`teacher_file`] turns a likelihood run into a [`TeacherFile`] (the offline teacher of
//! cross-modal distillation); [`letter_logits`] is the same reading for a trainer's online
//! teacher.

use std::path::Path;

use candle_core::{Tensor, D};
use data::choice::{ChoiceItem, ChoiceTask, Condition, TeacherFile, TeacherItem, TEACHER_FORMAT};
use data::classify::normalise;
use data::manifest::{read_manifest_with, ReadOptions};
use data::task::{Prompts, Task};
use data::{Error as DataError, OnBad};
use model::generate::{generate, GenerateOptions};
use model::model::Sequence;
use model::Model;
use serde::{Deserialize, Serialize};

use crate::common::{ModelId, Progress, SkippedLine};
use crate::error::{Error, Result};
use crate::input::{batch_error, prepare, Prepared};
use crate::io::{read_json, read_jsonl, write_atomic, write_json, write_jsonl};

/// How an item's answer is read.
///
/// Read from configs (serde: `"likelihood"`, `"generate"`) and command lines (clap). The
/// first paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// The softmax of the option letters' logits at the answer's first position.
    ///
    /// One forward pass per batch; no parsing.
    #[default]
    Likelihood,
    /// Generate a short answer and map it to a letter (leading letter, else option text).
    Generate,
}

/// Options of a multiple-choice run.
#[derive(Debug, Clone)]
pub struct ChoiceOptions {
    /// Which media of each item the model is given.
    pub condition: Condition,
    pub scoring: Scoring,
    /// Likelihood mode: the letter logits are divided by this before the softmax (> 0).
    /// Teacher files always hold the temperature-1 distribution.
    pub temperature: f64,
    /// Prompts per forward pass (likelihood) or per generation batch.
    pub batch_size: usize,
    /// Generate mode: the answer's token limit.
    pub max_new_tokens: usize,
    pub long_audio: audio::LongAudio,
    /// Frame sampling of videos (`qwen_vl_utils`' settings).
    pub video: vision::VideoOptions,
    /// Bad lines and items (another task, a target that is not a class, no media for the
    /// condition, an unreadable file): error naming the line, or skip and list.
    pub on_bad: OnBad,
    pub model_id: Option<ModelId>,
    pub progress: Progress,
}

impl Default for ChoiceOptions {
    fn default() -> Self {
        Self {
            condition: Condition::Both,
            scoring: Scoring::Likelihood,
            temperature: 1.0,
            batch_size: 8,
            max_new_tokens: 8,
            long_audio: audio::LongAudio::Truncate,
            video: vision::VideoOptions::default(),
            on_bad: OnBad::Error,
            model_id: None,
            progress: Progress::default(),
        }
    }
}

/// How a generated answer was mapped to a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// A leading letter (`B`, `B.`, `(B)`, `Answer: B`, `B police car`).
    Letter,
    /// The whole answer is an option's text (normalised).
    Exact,
    /// An option's text occurs in the answer as whole words (the earliest; the longest of
    /// those starting there).
    Substring,
    /// Nothing matched: counted wrong.
    Unmatched,
}

/// A generated answer mapped to a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LetterMatch {
    /// The letter's index (`None`: unmatched).
    pub letter: Option<usize>,
    pub by: MatchedBy,
}

/// One item's line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceRecord {
    pub id: String,
    /// `file:line` of the manifest line.
    pub source: String,
    /// The item's true class.
    pub class: String,
    /// The classes behind the letters, in order.
    pub options: Vec<String>,
    /// The correct letter.
    pub answer: String,
    /// The predicted letter (`None`: a generated answer that matched nothing).
    pub predicted: Option<String>,
    /// The class behind the predicted letter.
    pub predicted_class: Option<String>,
    pub correct: bool,
    /// Likelihood: the distribution over the letters (at the run's temperature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probs: Option<Vec<f64>>,
    /// Likelihood: the letters' raw logits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f64>>,
    /// Likelihood: the letters' share of the whole vocabulary's probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter_mass: Option<f64>,
    /// Generate: the answer as generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Generate: how the answer was mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
}

impl ChoiceRecord {
    /// The probability given to the correct letter (likelihood mode).
    pub fn true_prob(&self) -> Option<f64> {
        let k = letter_index(&self.answer)?;
        self.probs.as_ref().and_then(|p| p.get(k).copied())
    }
}

fn letter_index(letter: &str) -> Option<usize> {
    data::choice::LETTERS.iter().position(|l| *l == letter)
}

/// One class of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceClass {
    pub class: String,
    /// Items whose true class this is.
    pub support: usize,
    pub correct: usize,
    /// `correct / support` (absent without items).
    pub accuracy: Option<f64>,
    /// Mean probability of the true letter over the class's items (likelihood, with items).
    pub confidence: Option<f64>,
    /// Items predicted as this class.
    pub predicted: usize,
}

/// `matrix[t][p]`: items of `rows[t]` predicted as `columns[p]`; the last column is
/// `unmatched`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceConfusion {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub matrix: Vec<Vec<usize>>,
}

/// How often a letter was the correct answer and the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterCount {
    pub letter: String,
    pub answer: usize,
    pub predicted: usize,
}

/// A generated answer that matched no letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedAnswer {
    pub id: String,
    pub source: String,
    pub text: String,
}

/// `summary.json` of a multiple-choice run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceSummary {
    #[serde(default)]
    pub model: Option<ModelId>,
    pub task: String,
    /// Every class of the task, in its order.
    pub classes: Vec<String>,
    pub condition: Condition,
    pub scoring: Scoring,
    /// Likelihood mode only.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// The manifest evaluated.
    pub source: String,
    pub letters: Vec<String>,
    pub samples: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// `1 / options`.
    pub chance: f64,
    /// Mean probability of the true letter (likelihood).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Mean share of the vocabulary's probability on the letters (likelihood).
    #[serde(default)]
    pub letter_mass: Option<f64>,
    pub per_class: Vec<ChoiceClass>,
    pub confusion: ChoiceConfusion,
    pub letter_counts: Vec<LetterCount>,
    pub unmatched: Vec<UnmatchedAnswer>,
    pub skipped: Vec<SkippedLine>,
    pub truncated_audio: Vec<String>,
}

/// A whole run: the summary and one record per item.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceReport {
    pub summary: ChoiceSummary,
    pub records: Vec<ChoiceRecord>,
}

/// Reads a multiple-choice manifest (lines without a task belong to `task`) and builds the
/// items' questions. A line of another task or whose target is not a class: under
/// [`OnBad::Error`] the first one in file order is the error, naming its line; under
/// [`OnBad::Skip`] it is listed.
pub fn read_items(
    task: &ChoiceTask,
    manifest: &Path,
    on_bad: OnBad,
) -> Result<(Vec<ChoiceItem>, Vec<SkippedLine>)> {
    task.validate()?;
    let read = ReadOptions {
        on_bad: OnBad::Skip,
        default_task: Some(Task::Custom(task.name.clone())),
    };
    let (samples, mut skipped) = read_manifest_with(manifest, &read)?;
    let mut good = Vec::with_capacity(samples.len());
    for s in samples {
        let reason = if !s.task.name().eq_ignore_ascii_case(&task.name) {
            Some(DataError::field(
                &s.source,
                "task",
                format!(
                    "task `{}`, but the evaluated task is `{}`",
                    s.task, task.name
                ),
            ))
        } else if task.class_of(&s.target).is_none() {
            Some(DataError::field(
                &s.source,
                "target",
                format!("`{}` is not a class of task `{}`", s.target, task.name),
            ))
        } else {
            None
        };
        match reason {
            None => good.push(s),
            Some(e) => skipped.push(data::Skipped {
                location: s.source.clone(),
                reason: e.to_string(),
            }),
        }
    }
    skipped.sort_by_key(|s| s.location.line);
    if let (OnBad::Error, Some(first)) = (on_bad, skipped.first()) {
        return Err(Error::Invalid(first.reason.clone()));
    }
    let items = task.items(&good)?;
    Ok((items, skipped.into_iter().map(SkippedLine::from).collect()))
}

/// Reads a manifest ([`read_items`]) and scores it ([`choice_items`]).
pub fn choice_manifest(
    model: &Model,
    task: &ChoiceTask,
    manifest: &Path,
    opts: &ChoiceOptions,
) -> Result<ChoiceReport> {
    let (items, skipped) = read_items(task, manifest, opts.on_bad)?;
    choice_items(
        model,
        task,
        &items,
        skipped,
        &manifest.display().to_string(),
        opts,
    )
}

/// The letters' logits at the answer's first position of each prompt, and the letters'
/// share of the whole vocabulary's probability there: one left-padded batch, one forward
/// pass, the last position of every row (a row's last position is its own last token
/// whatever its padding). `letters` are the letters' token ids
/// ([`processor::letter_tokens`]).
pub fn letter_logits(
    model: &Model,
    seqs: &[Sequence],
    letters: &[u32],
) -> Result<Vec<(Vec<f64>, f64)>> {
    if seqs.is_empty() {
        return Ok(vec![]);
    }
    if let Some(i) = seqs.iter().position(|s| s.ids.is_empty()) {
        return Err(Error::Invalid(format!("prompt {i} has no tokens")));
    }
    let last = model.last_logits(seqs)?; // [B, V] f32
    let ids = Tensor::from_vec(letters.to_vec(), letters.len(), model.device())?;
    let chosen: Vec<Vec<f32>> = last.index_select(&ids, 1)?.to_vec2()?;
    let logp = candle_nn::ops::log_softmax(&last, D::Minus1)?;
    let chosen_lp: Vec<Vec<f32>> = logp.index_select(&ids, 1)?.to_vec2()?;
    Ok(chosen
        .into_iter()
        .zip(chosen_lp)
        .map(|(l, lp)| {
            let lp: Vec<f64> = lp.into_iter().map(f64::from).collect();
            let mass = log_sum_exp(&lp).exp();
            (l.into_iter().map(f64::from).collect(), mass)
        })
        .collect())
}

fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// `softmax(logits / temperature)`, in f64.
pub fn softmax(logits: &[f64], temperature: f64) -> Vec<f64> {
    let scaled: Vec<f64> = logits.iter().map(|l| l / temperature).collect();
    let z = log_sum_exp(&scaled);
    scaled.iter().map(|s| (s - z).exp()).collect()
}

/// The index of the largest value (the first of ties).
pub fn argmax(x: &[f64]) -> usize {
    (1..x.len()).fold(0, |b, i| if x[i] > x[b] { i } else { b })
}

/// `answer` without a leading `answer:` / `answer is` / `the answer is` / `option`
/// (ASCII case ignored, at a word boundary).
fn strip_answer_prefix(answer: &str) -> &str {
    let mut a = answer.trim();
    for prefix in ["the answer is", "answer is", "answer", "option"] {
        let head = a.get(..prefix.len());
        if head.is_some_and(|h| h.eq_ignore_ascii_case(prefix))
            && !a[prefix.len()..].starts_with(|c: char| c.is_alphanumeric())
        {
            a = a[prefix.len()..].trim_start();
            a = a.strip_prefix(':').unwrap_or(a).trim_start();
            break;
        }
    }
    a
}

/// Where the words of `needle` occur first in `hay` as whole words (both normalised:
/// words separated by single spaces): the index of the first word.
fn find_word_run(hay: &[&str], needle: &[&str]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

/// Maps a generated answer to one of `letters` whose options are `options` (texts, in
/// letter order). In order: a letter in brackets or followed by the end or by `.`, `)`,
/// `]`, `:`, `,` (case ignored; `Answer:` / `Option` before it allowed); the answer equal to
/// an option's text ([`normalise`]d); an option's text as whole words in the answer (the
/// earliest; at one position the longest; then letter order); an uppercase letter followed
/// by a space (`B police car`); else unmatched.
pub fn map_letter(answer: &str, letters: &[String], options: &[&str]) -> LetterMatch {
    let a = strip_answer_prefix(answer);
    let hit = |letter, by| LetterMatch {
        letter: Some(letter),
        by,
    };
    let inner = a
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .or_else(|| a.strip_prefix('[').and_then(|r| r.split_once(']')))
        .map(|(x, _)| x);
    if let Some(k) = inner.and_then(|x| {
        letters
            .iter()
            .position(|l| x.trim().eq_ignore_ascii_case(l))
    }) {
        return hit(k, MatchedBy::Letter);
    }
    let mut spaced = None;
    for (k, l) in letters.iter().enumerate() {
        let Some(head) = a.get(..l.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(l) {
            continue;
        }
        let rest = &a[l.len()..];
        match rest.chars().next() {
            None | Some('.' | ')' | ']' | ':' | ',') => return hit(k, MatchedBy::Letter),
            Some(c) if c.is_whitespace() && head == l && spaced.is_none() => spaced = Some(k),
            _ => {}
        }
    }
    let norm = normalise(a);
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let forms: Vec<String> = options.iter().map(|o| normalise(o)).collect();
    if !norm.is_empty() {
        if let Some(k) = forms.iter().position(|f| *f == norm) {
            return hit(k, MatchedBy::Exact);
        }
    }
    // (first word, longer first, letter order)
    let best = forms
        .iter()
        .enumerate()
        .filter_map(|(k, f)| {
            let needle: Vec<&str> = f.split(' ').filter(|w| !w.is_empty()).collect();
            find_word_run(&words, &needle).map(|i| (i, usize::MAX - f.len(), k))
        })
        .min();
    if let Some((_, _, k)) = best {
        return hit(k, MatchedBy::Substring);
    }
    match spaced {
        Some(k) => hit(k, MatchedBy::Letter),
        None => LetterMatch {
            letter: None,
            by: MatchedBy::Unmatched,
        },
    }
}

/// Fails unless the model has the tower the condition needs (audio: an audio tower; visual:
/// a vision tower; both: checked per item against its media).
fn check_condition(model: &Model, condition: Condition) -> Result<()> {
    let has = match condition {
        Condition::Audio => model.audio_tower().map(|_| ()),
        Condition::Visual => model.visual_tower().map(|_| ()),
        Condition::Both => Ok(()),
    };
    has.map_err(|e| Error::option("condition", format!("`{}`: {e}", condition.name())))
}

/// Scores already built items under `opts.condition`. `skipped` and `source` go into the
/// summary. Errors of one item name its manifest line and id.
pub fn choice_items(
    model: &Model,
    task: &ChoiceTask,
    items: &[ChoiceItem],
    mut skipped: Vec<SkippedLine>,
    source: &str,
    opts: &ChoiceOptions,
) -> Result<ChoiceReport> {
    task.validate()?;
    if opts.batch_size == 0 {
        return Err(Error::option("batch_size", "must be at least 1"));
    }
    if !(opts.temperature.is_finite() && opts.temperature > 0.0) {
        return Err(Error::option(
            "temperature",
            format!("{}; must be a finite number > 0", opts.temperature),
        ));
    }
    if opts.scoring == Scoring::Generate && opts.max_new_tokens == 0 {
        return Err(Error::option("max_new_tokens", "must be at least 1"));
    }
    check_condition(model, opts.condition)?;
    let letters = task.letters();
    let letter_ids = match opts.scoring {
        Scoring::Likelihood => processor::letter_tokens(model, &letters)?,
        Scoring::Generate => vec![],
    };
    let prompts = Prompts::default();
    let mut records = Vec::with_capacity(items.len());
    let mut truncated = Vec::new();
    for (b, chunk) in items.chunks(opts.batch_size).enumerate() {
        let mut ready: Vec<(&ChoiceItem, Prepared)> = Vec::with_capacity(chunk.len());
        for it in chunk {
            let prepared = it
                .sample(task, opts.condition)
                .map_err(Error::from)
                .and_then(|s| prepare(model, &s, &prompts, opts.long_audio, &opts.video));
            match (prepared, opts.on_bad) {
                (Ok(p), _) => ready.push((it, p)),
                (Err(e), OnBad::Error) => return Err(e),
                (Err(e), OnBad::Skip) => skipped.push(SkippedLine {
                    location: it.sample.source.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        for (_, p) in &ready {
            truncated.extend(p.truncated.iter().map(|t| t.display().to_string()));
        }
        if !ready.is_empty() {
            let scored = match opts.scoring {
                Scoring::Likelihood => by_letters(model, task, &ready, &letter_ids, opts),
                Scoring::Generate => by_generation(model, task, &ready, opts),
            };
            records.extend(scored?);
        }
        let done = (b * opts.batch_size + chunk.len()).min(items.len());
        opts.progress
            .tick(&format!("choice {}", task.name), done, items.len());
    }
    if records.is_empty() {
        return Err(Error::Invalid(format!(
            "{source}: no item left to score ({} skipped)",
            skipped.len()
        )));
    }
    Ok(ChoiceReport {
        summary: summarise(task, &records, skipped, truncated, source, opts),
        records,
    })
}

fn record(task: &ChoiceTask, it: &ChoiceItem, predicted: Option<usize>) -> ChoiceRecord {
    let letters = task.letters();
    ChoiceRecord {
        id: it.sample.id.clone(),
        source: it.sample.source.to_string(),
        class: task.classes[it.class].clone(),
        options: it.option_names(task),
        answer: letters[it.answer].clone(),
        predicted: predicted.map(|k| letters[k].clone()),
        predicted_class: predicted.map(|k| task.classes[it.options[k]].clone()),
        correct: predicted == Some(it.answer),
        probs: None,
        logits: None,
        letter_mass: None,
        text: None,
        matched_by: None,
    }
}

fn by_letters(
    model: &Model,
    task: &ChoiceTask,
    ready: &[(&ChoiceItem, Prepared)],
    letter_ids: &[u32],
    opts: &ChoiceOptions,
) -> Result<Vec<ChoiceRecord>> {
    let seqs: Vec<Sequence> = ready.iter().map(|(_, p)| p.seq.clone()).collect();
    let scored = letter_logits(model, &seqs, letter_ids)
        .map_err(|e| batch_error(&samples(ready), "scoring", e))?;
    Ok(ready
        .iter()
        .zip(scored)
        .map(|((it, _), (logits, mass))| {
            let probs = softmax(&logits, opts.temperature);
            let mut r = record(task, it, Some(argmax(&probs)));
            r.probs = Some(probs);
            r.logits = Some(logits);
            r.letter_mass = Some(mass);
            r
        })
        .collect())
}

/// The samples of a batch of prepared items.
fn samples<'a>(ready: &'a [(&'a ChoiceItem, Prepared)]) -> Vec<&'a data::Sample> {
    ready.iter().map(|(it, _)| &it.sample).collect()
}

fn by_generation(
    model: &Model,
    task: &ChoiceTask,
    ready: &[(&ChoiceItem, Prepared)],
    opts: &ChoiceOptions,
) -> Result<Vec<ChoiceRecord>> {
    let seqs: Vec<Sequence> = ready.iter().map(|(_, p)| p.seq.clone()).collect();
    // Greedy, the model's own end ids.
    let gen = GenerateOptions {
        max_new_tokens: opts.max_new_tokens,
        ..Default::default()
    };
    let out = generate(model, &seqs, &gen)
        .map_err(|e| batch_error(&samples(ready), "generating", e.into()))?;
    let letters = task.letters();
    let mut records = Vec::with_capacity(ready.len());
    for ((it, _), ids) in ready.iter().zip(out) {
        let text = model.tokenizer.decode(&ids, true)?.trim().to_string();
        let options: Vec<&str> = it
            .options
            .iter()
            .map(|&c| task.classes[c].as_str())
            .collect();
        let m = map_letter(&text, &letters, &options);
        let mut r = record(task, it, m.letter);
        r.text = Some(text);
        r.matched_by = Some(m.by);
        records.push(r);
    }
    Ok(records)
}

fn mean(x: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = x.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// The summary of scored records: accuracy, per class, confusion, letter counts, unmatched
/// answers. Records whose class is not one of the task's are counted in no class (they
/// cannot occur in a run).
pub fn summarise(
    task: &ChoiceTask,
    records: &[ChoiceRecord],
    skipped: Vec<SkippedLine>,
    truncated_audio: Vec<String>,
    source: &str,
    opts: &ChoiceOptions,
) -> ChoiceSummary {
    let n = task.classes.len();
    let index = |c: &str| task.classes.iter().position(|x| x == c);
    let mut matrix = vec![vec![0usize; n + 1]; n];
    let mut per_class: Vec<ChoiceClass> = task
        .classes
        .iter()
        .map(|c| ChoiceClass {
            class: c.clone(),
            support: 0,
            correct: 0,
            accuracy: None,
            confidence: None,
            predicted: 0,
        })
        .collect();
    let mut conf_sum = vec![(0.0, 0usize); n];
    let letters = task.letters();
    let mut letter_counts: Vec<LetterCount> = letters
        .iter()
        .map(|l| LetterCount {
            letter: l.clone(),
            answer: 0,
            predicted: 0,
        })
        .collect();
    for r in records {
        let Some(t) = index(&r.class) else { continue };
        let p = r.predicted_class.as_deref().and_then(index);
        per_class[t].support += 1;
        per_class[t].correct += usize::from(r.correct);
        matrix[t][p.unwrap_or(n)] += 1;
        if let Some(p) = p {
            per_class[p].predicted += 1;
        }
        if let Some(q) = r.true_prob() {
            conf_sum[t].0 += q;
            conf_sum[t].1 += 1;
        }
        let slot = |l: &str| letters.iter().position(|x| x == l);
        if let Some(k) = slot(&r.answer) {
            letter_counts[k].answer += 1;
        }
        if let Some(k) = r.predicted.as_deref().and_then(slot) {
            letter_counts[k].predicted += 1;
        }
    }
    for (c, (s, k)) in per_class.iter_mut().zip(conf_sum) {
        c.accuracy = (c.support > 0).then(|| c.correct as f64 / c.support as f64);
        c.confidence = (k > 0).then(|| s / k as f64);
    }
    let correct = records.iter().filter(|r| r.correct).count();
    let mut columns = task.classes.clone();
    columns.push("unmatched".into());
    ChoiceSummary {
        model: opts.model_id.clone(),
        task: task.name.clone(),
        classes: task.classes.clone(),
        condition: opts.condition,
        scoring: opts.scoring,
        temperature: (opts.scoring == Scoring::Likelihood).then_some(opts.temperature),
        source: source.to_string(),
        letters,
        samples: records.len(),
        correct,
        accuracy: correct as f64 / records.len().max(1) as f64,
        chance: 1.0 / task.options as f64,
        confidence: mean(records.iter().filter_map(ChoiceRecord::true_prob)),
        letter_mass: mean(records.iter().filter_map(|r| r.letter_mass)),
        per_class,
        confusion: ChoiceConfusion {
            rows: task.classes.clone(),
            columns,
            matrix,
        },
        letter_counts,
        unmatched: records
            .iter()
            .filter(|r| r.matched_by == Some(MatchedBy::Unmatched))
            .map(|r| UnmatchedAnswer {
                id: r.id.clone(),
                source: r.source.clone(),
                text: r.text.clone().unwrap_or_default(),
            })
            .collect(),
        skipped,
        truncated_audio,
    }
}

/// A likelihood run as a teacher file: the model (and adapter) as the teacher, the
/// condition, the task as asked, and per item its id, class, options and the
/// temperature-1 distribution over the letters (recomputed from the recorded logits, so
/// the run's `temperature` does not leak into the file). Items skipped in the run are not
/// in the file (a student item without a signal is named by
/// [`TeacherFile::match_items`]).
pub fn teacher_file(report: &ChoiceReport, task: &ChoiceTask) -> Result<TeacherFile> {
    let s = &report.summary;
    if s.scoring != Scoring::Likelihood {
        return Err(Error::option(
            "teacher_out",
            "a teacher file needs the letters' distribution: use likelihood scoring",
        ));
    }
    if s.task != task.name || s.classes != task.classes {
        return Err(Error::option(
            "teacher_out",
            format!("the run is of task `{}`, not `{}`", s.task, task.name),
        ));
    }
    let items = report
        .records
        .iter()
        .map(|r| {
            let logits = r.logits.as_ref().ok_or_else(|| {
                Error::Invalid(format!("{} (id {}): no letter logits", r.source, r.id))
            })?;
            Ok(TeacherItem {
                id: r.id.clone(),
                class: r.class.clone(),
                options: r.options.clone(),
                probs: softmax(logits, 1.0),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TeacherFile {
        format: TEACHER_FORMAT,
        teacher: s
            .model
            .as_ref()
            .map_or_else(|| "unknown".to_string(), ModelId::to_string),
        condition: s.condition,
        task: task.clone(),
        letters: s.letters.clone(),
        items,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), pct)
}

/// A table cell: `|` escaped, line breaks as spaces.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `summary.md`: headline, per class, confusion, letters, unmatched answers, skipped lines.
pub fn choice_markdown(s: &ChoiceSummary) -> String {
    let mode = match s.scoring {
        Scoring::Likelihood => format!(
            "letter likelihood (softmax over the option letters, temperature {})",
            s.temperature.unwrap_or(1.0)
        ),
        Scoring::Generate => "generate, then map the answer to a letter".to_string(),
    };
    let mut md = format!(
        "# Multiple choice `{}` ({} condition): {}\n\n",
        s.task,
        s.condition.name(),
        s.source
    );
    if let Some(m) = &s.model {
        md.push_str(&format!("Model: {m}\n\n"));
    }
    md.push_str(&format!("Scoring: {mode}\n\n"));
    md.push_str(&format!(
        "| items | accuracy % | chance % | confidence % | letter mass % | unmatched | skipped |\n\
         |---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {} |\n\n",
        s.samples,
        pct(s.accuracy),
        pct(s.chance),
        opt_pct(s.confidence),
        opt_pct(s.letter_mass),
        s.unmatched.len(),
        s.skipped.len()
    ));
    md.push_str(
        "## Per class\n\n| class | items | correct | accuracy % | confidence % | predicted |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in &s.per_class {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&c.class),
            c.support,
            c.correct,
            opt_pct(c.accuracy),
            opt_pct(c.confidence),
            c.predicted
        ));
    }
    md.push_str("\n## Confusion (rows: true class, columns: predicted class)\n\n| |");
    for c in &s.confusion.columns {
        md.push_str(&format!(" {} |", cell(c)));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(s.confusion.columns.len()));
    md.push('\n');
    for (r, row) in s.confusion.rows.iter().zip(&s.confusion.matrix) {
        md.push_str(&format!("| {} |", cell(r)));
        for v in row {
            md.push_str(&format!(" {v} |"));
        }
        md.push('\n');
    }
    md.push_str("\n## Letters (correct answer vs prediction)\n\n| letter | answer | predicted |\n|---|---|---|\n");
    for l in &s.letter_counts {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            l.letter, l.answer, l.predicted
        ));
    }
    if !s.unmatched.is_empty() {
        md.push_str("\n## Unmatched answers\n\n");
        for u in &s.unmatched {
            md.push_str(&format!("- {} ({}): {:?}\n", u.source, u.id, u.text));
        }
    }
    if !s.skipped.is_empty() {
        md.push_str("\n## Skipped lines\n\n");
        for k in &s.skipped {
            md.push_str(&format!("- {}: {}\n", k.location, k.reason));
        }
    }
    md
}

/// Writes `predictions.jsonl`, `summary.json` and `summary.md` into `dir` (created if
/// needed), each atomically.
pub fn write_choice_outputs(dir: &Path, report: &ChoiceReport) -> Result<()> {
    write_jsonl(&dir.join("predictions.jsonl"), &report.records)?;
    write_json(&dir.join("summary.json"), &report.summary)?;
    write_atomic(
        &dir.join("summary.md"),
        choice_markdown(&report.summary).as_bytes(),
    )
}

/// Reads a run's `summary.json`.
pub fn read_summary(path: &Path) -> Result<ChoiceSummary> {
    read_json(path)
}

/// Reads a run's `predictions.jsonl`.
pub fn read_predictions(path: &Path) -> Result<Vec<ChoiceRecord>> {
    Ok(read_jsonl(path)?.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_a_distribution_and_tempers() {
        let p = softmax(&[1.0, 2.0, 3.0], 1.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[2] > p[1] && p[1] > p[0]);
        let flat = softmax(&[1.0, 2.0, 3.0], 100.0);
        assert!(flat[2] - flat[0] < p[2] - p[0]);
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
    }

    #[test]
    fn answer_prefixes_are_dropped() {
        assert_eq!(strip_answer_prefix("Answer: B"), "B");
        assert_eq!(strip_answer_prefix("The answer is (C)."), "(C).");
        assert_eq!(strip_answer_prefix("Optional"), "Optional");
    }
}
