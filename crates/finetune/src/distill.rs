//! Cross-modal distillation on multiple-choice items (the second seed, arXiv 2505.06803): a
//! teacher's distribution over an item's option letters — another model, of another modality,
//! on the same clip — is added to the student's training objective on the items of the
//! classes selected as hard for the student.
//!
//! **The design is ours** (the paper does not publish its loss, its heuristic model or its
//! hyperparameters); every choice is a `[distill]` setting:
//!
//! * the signal: the teacher's probabilities over the letters (`data::choice::TeacherFile`,
//!   written once by `eval choice --teacher-out`), matched to the student's items by id and
//!   checked to be the same question (same options in the same order);
//! * the student's distribution: its logits at the answer's first position (the one that
//!   predicts the letter), restricted to the letter tokens (`processor::letter_tokens`);
//! * the term, added to the cross-entropy on the ground truth, per distilled item:
//!   `weight · T² · D(teacher_T, student_T)` with both distributions softened by the
//!   temperature `T` (`softmax(log p / T)`), `D` one of [`DistillLoss`]; or, for the
//!   label-only baseline, `weight · CE(student, teacher's letter)` over the whole vocabulary;
//! * normalisation: the terms are summed and divided by the step's answer tokens, like the
//!   cross-entropy ([`crate::step::ExtraLoss`]);
//! * which items: those of the selected classes (`classes`, `classes_file` from the
//!   difficulty model, or all).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor, D};
use data::choice::{
    ChoiceItem, ChoiceTask, Condition, DifficultyFile, TeacherFile, TeacherItem, TEACHER_FORMAT,
};
use model::Model;
use processor::{Example, Target, IGNORE};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::step::ExtraLoss;

/// The divergence between the teacher's and the student's distributions over the letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistillLoss {
    /// `KL(teacher ‖ student)` (forward KL, Hinton-style knowledge distillation).
    #[default]
    Kl,
    /// `KL(student ‖ teacher)` (mode-seeking).
    ReverseKl,
    /// Jensen–Shannon divergence: `½ KL(t ‖ m) + ½ KL(s ‖ m)`, `m = (t + s) / 2`.
    Jsd,
    /// Label-only distillation (the baseline): cross-entropy on the teacher's letter over
    /// the whole vocabulary, as if it were the target; no temperature.
    Label,
}

/// `[distill]` of the training config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillSection {
    /// The `[[data.train]]` set (by `task`) whose items are distilled; it must have `choice`.
    pub task: String,
    /// The teacher file (`eval choice --teacher-out`: a teacher run once, offline). With
    /// `teacher_model`: where the in-process teacher's answers are recorded (default
    /// `<output.dir>/teacher.json`).
    #[serde(default)]
    pub teacher: Option<PathBuf>,
    /// An in-process teacher: any checkpoint this framework loads (hub id or directory), run
    /// once before training, without gradients, on every item of the set under
    /// `teacher_condition` (its answers are fixed, so once is the same as every step). `"base"`
    /// is the forgetting guard: the student's own base model (the student before its first
    /// step, so no second copy of the weights), keeping its answers on the set (e.g. probe
    /// questions) close to the base's while the rest of the mixture trains.
    #[serde(default)]
    pub teacher_model: Option<String>,
    /// A PEFT adapter for `teacher_model`.
    #[serde(default)]
    pub teacher_adapter: Option<PathBuf>,
    /// Which of an item's media the in-process teacher is given.
    #[serde(default = "visual")]
    pub teacher_condition: Condition,
    #[serde(default)]
    pub loss: DistillLoss,
    /// The term's weight beside the cross-entropy.
    #[serde(default = "one")]
    pub weight: f64,
    /// Softening temperature of both distributions (the term is scaled by `T²`).
    #[serde(default = "one")]
    pub temperature: f64,
    /// The classes whose items are distilled (names); absent with no `classes_file`: all.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// The difficulty model's output (`eval difficulty`): its `selected` classes.
    #[serde(default)]
    pub classes_file: Option<PathBuf>,
}

/// `teacher_model` value naming the student's own base model (the forgetting guard).
pub const BASE_TEACHER: &str = "base";

fn one() -> f64 {
    1.0
}
fn visual() -> Condition {
    Condition::Visual
}

impl DistillSection {
    /// Checks the values that need no files.
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        if !(self.weight >= 0.0 && self.weight.is_finite()) {
            return Err(("distill.weight".into(), format!("{} (≥ 0)", self.weight)));
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err((
                "distill.temperature".into(),
                format!("{} (> 0)", self.temperature),
            ));
        }
        if self.teacher.is_none() && self.teacher_model.is_none() {
            return Err((
                "distill.teacher".into(),
                "give a teacher file (teacher) or an in-process teacher (teacher_model)".into(),
            ));
        }
        if self.classes.is_some() && self.classes_file.is_some() {
            return Err((
                "distill.classes".into(),
                "give classes or classes_file, not both".into(),
            ));
        }
        Ok(())
    }
}

/// What a run distils: per item of the distilled set, the teacher's probabilities when its
/// class is selected. Fixed for the run; its fingerprint is part of the run's state.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per item (in the set's order): the teacher's probabilities, or `None` (not selected).
    pub signals: Vec<Option<Vec<f32>>>,
    /// The selected classes, by name, in the task's order.
    pub selected: Vec<String>,
    /// The letters' token ids in the student's tokenizer.
    pub letters: Vec<u32>,
    /// A hash of the teacher file's bytes and the selection (checked on resume).
    pub fingerprint: String,
}

impl Plan {
    /// Reads the teacher file `teacher_path` and the selection, matches them to the set's
    /// items and the student's tokenizer. Every error names the file.
    pub fn build(
        cfg: &DistillSection,
        teacher_path: &Path,
        task: &ChoiceTask,
        items: &[ChoiceItem],
        student: &Model,
    ) -> Result<Self> {
        let teacher = TeacherFile::load(teacher_path)?;
        let matched = teacher.match_items(teacher_path, task, items)?;
        let selected: BTreeSet<usize> = match (&cfg.classes, &cfg.classes_file) {
            (Some(names), _) => names
                .iter()
                .map(|n| {
                    task.class_of(n).ok_or_else(|| {
                        Error::Data(format!(
                            "distill.classes: `{n}` is not a class of task `{}`",
                            task.name
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            (None, Some(path)) => DifficultyFile::load(path)?
                .selected_classes(path, task)?
                .into_iter()
                .collect(),
            (None, None) => (0..task.classes.len()).collect(),
        };
        let letters = processor::letter_tokens(student, &teacher.letters)
            .map_err(|e| Error::Data(format!("{}: {e}", teacher_path.display())))?;
        let signals = items
            .iter()
            .zip(&matched)
            .map(|(it, t)| {
                selected
                    .contains(&it.class)
                    .then(|| t.probs.iter().map(|&p| p as f32).collect())
            })
            .collect();
        let bytes = std::fs::read(teacher_path).map_err(Error::io("reading", teacher_path))?;
        let selected: Vec<String> = selected.iter().map(|&c| task.classes[c].clone()).collect();
        let fingerprint = fingerprint(&bytes, &selected);
        Ok(Self {
            signals,
            selected,
            letters,
            fingerprint,
        })
    }
}

fn fingerprint(bytes: &[u8], selected: &[String]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes.iter().copied().chain(selected.join("\n").bytes()) {
        h = rng::mix64(h ^ b as u64);
    }
    format!("{h:016x}")
}

/// Runs an in-process teacher once over `items` under `condition` (no gradients: its
/// weights are not trained and nothing is tracked) and returns its answers as a teacher file:
/// the softmax of its letter logits at each question's answer position. `processor` is the
/// teacher's (its model, the run's prompts and media settings). Batches of `batch` prompts.
pub fn run_teacher(
    processor: &processor::Processor,
    name: &str,
    condition: Condition,
    task: &ChoiceTask,
    items: &[ChoiceItem],
    batch: usize,
) -> Result<TeacherFile> {
    let model = processor.model;
    let letters = task.letters();
    let ids = processor::letter_tokens(model, &letters)
        .map_err(|e| Error::Data(format!("the teacher {name}: {e}")))?;
    let ids_t = Tensor::from_vec(ids.clone(), ids.len(), model.device())?;
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(batch.max(1)) {
        let mut seqs = Vec::with_capacity(chunk.len());
        for it in chunk {
            let sample = it.sample(task, condition)?;
            let p = processor.prompt(&sample).map_err(|cause| Error::Sample {
                location: sample.source.to_string(),
                cause: Box::new(cause),
            })?;
            seqs.push(p.seq);
        }
        let logits = model.last_logits(&seqs)?.index_select(&ids_t, 1)?; // [b, K]
        let probs: Vec<Vec<f32>> = candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2()?;
        for (it, p) in chunk.iter().zip(probs) {
            let sum: f64 = p.iter().map(|&x| x as f64).sum();
            let probs = p.iter().map(|&x| x as f64 / sum).collect();
            out.push(TeacherItem::new(task, it, probs));
        }
    }
    Ok(TeacherFile {
        format: TEACHER_FORMAT,
        teacher: name.to_string(),
        condition,
        task: task.clone(),
        letters,
        items: out,
    })
}

/// The distillation term over a micro-batch ([`ExtraLoss`]): examples whose target is
/// [`Target::Distill`] contribute; others add nothing.
pub struct Distill {
    pub loss: DistillLoss,
    pub weight: f64,
    pub temperature: f64,
}

impl Distill {
    pub fn new(cfg: &DistillSection) -> Self {
        Self {
            loss: cfg.loss,
            weight: cfg.weight,
            temperature: cfg.temperature,
        }
    }
}

impl ExtraLoss for Distill {
    fn micro_loss(
        &self,
        model: &Model,
        hidden: &Tensor,
        examples: &[&Example],
    ) -> Result<Option<Tensor>> {
        let (b, t, h) = hidden.dims3()?;
        let (mut rows, mut letters, mut teacher) = (Vec::new(), Vec::new(), Vec::new());
        for (r, e) in examples.iter().enumerate() {
            let Target::Distill {
                letters: ids,
                teacher: probs,
            } = &e.target
            else {
                continue;
            };
            // The position predicting the answer's first token (the letter).
            let first = e.labels.iter().position(|&l| l != IGNORE).ok_or_else(|| {
                Error::Data(format!("{}: no answer token to distil at", e.source))
            })?;
            // The answer must start with one of the letters (the distribution is over them).
            let answer = e.labels[first] as u32;
            if !ids.contains(&answer) {
                return Err(Error::Data(format!(
                    "{}: the answer's first token {answer} is not one of the option letters' \
                     tokens {ids:?}",
                    e.source
                )));
            }
            let pad = t - e.ids.len();
            rows.push((r * t + pad + first - 1) as u32);
            if letters.is_empty() {
                letters = ids.clone();
            } else if &letters != ids {
                return Err(Error::Data(
                    "distilled items of one micro-batch have different letters".into(),
                ));
            }
            teacher.extend_from_slice(probs);
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let (n, k) = (rows.len(), letters.len());
        let dev = hidden.device();
        let picked = hidden
            .reshape((b * t, h))?
            .index_select(&Tensor::from_vec(rows, n, dev)?, 0)?;
        let logits = model.decoder.logits(&picked)?; // [n, V] f32
        let teacher = Tensor::from_vec(teacher, (n, k), dev)?;
        let term = distill_term(
            &logits,
            &letters,
            &teacher,
            self.loss,
            self.temperature,
            self.weight,
        )?;
        Ok(Some(term))
    }
}

/// The summed distillation term of `n` items: student logits `[n, V]` (f32), the letters'
/// token ids, the teacher's probabilities `[n, K]` over those letters. Differentiable in the
/// logits. See the module doc for the formula.
pub fn distill_term(
    logits: &Tensor,
    letters: &[u32],
    teacher: &Tensor,
    loss: DistillLoss,
    temperature: f64,
    weight: f64,
) -> Result<Tensor> {
    let dev = logits.device();
    let ids = Tensor::from_vec(letters.to_vec(), letters.len(), dev)?;
    if loss == DistillLoss::Label {
        // CE over the vocabulary on the teacher's letter.
        let answer = teacher.argmax_keepdim(D::Minus1)?.squeeze(1)?; // [n] u32 in 0..K
        let tokens = ids.index_select(&answer, 0)?.unsqueeze(1)?; // [n, 1]
        let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let nll = logp.gather(&tokens, 1)?.neg()?.sum_all()?;
        return Ok((nll * weight)?);
    }
    let z = (logits.index_select(&ids, 1)? / temperature)?; // [n, K]
    let log_s = candle_nn::ops::log_softmax(&z, D::Minus1)?;
    // The teacher softened the same way: softmax(log p / T), with p clamped away from 0.
    let log_t = candle_nn::ops::log_softmax(
        &(teacher.clamp(1e-12, 1.0)?.log()? / temperature)?,
        D::Minus1,
    )?
    .detach();
    let t = log_t.exp()?;
    let div = match loss {
        DistillLoss::Kl => (&t * (&log_t - &log_s)?)?.sum_all()?,
        DistillLoss::ReverseKl => (log_s.exp()? * (&log_s - &log_t)?)?.sum_all()?,
        DistillLoss::Jsd => {
            let s = log_s.exp()?;
            let log_m = ((&t + &s)? * 0.5)?.log()?;
            let a = (&t * (&log_t - &log_m)?)?.sum_all()?;
            let b = (&s * (&log_s - &log_m)?)?.sum_all()?;
            ((a + b)? * 0.5)?
        }
        DistillLoss::Label => unreachable!("handled above"),
    };
    Ok((div.to_dtype(DType::F32)? * (weight * temperature * temperature))?)
}

/// Where a run's distillation plan is recorded for resume: the fingerprint must match.
pub fn check_resume(saved: Option<&str>, plan: Option<&Plan>, dir: &Path) -> Result<()> {
    let now = plan.map(|p| p.fingerprint.as_str());
    if saved != now {
        return Err(Error::checkpoint(
            dir,
            format!(
                "the checkpoint was made with another distillation plan (teacher file or selected \
                 classes: {} vs {}); restore them or start a new run",
                saved.unwrap_or("none"),
                now.unwrap_or("none")
            ),
        ));
    }
    Ok(())
}
