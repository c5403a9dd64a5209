//! One optimizer step, and nothing else: micro-batches in; forward, answer-only loss (plus an
//! extra term), backward and token-weighted accumulation per micro-batch; the all-reduce
//! seam; clipping; the AdamW update; statistics out. The recipe ([`crate::recipe`]) calls it
//! once per step; the step-parity test calls it directly.
//!
//! Two seams ([`Seams`]) let what comes next plug in without touching the rest: an extra
//! loss term per micro-batch ([`ExtraLoss`], a teacher's, for distillation) and a gradient
//! all-reduce across devices ([`GradSync`], for data parallelism).

use std::collections::BTreeMap;

use candle_core::Tensor;
use model::Model;
use processor::Example;

use crate::adapters::set_dropout_seed;
use crate::error::{Error, Result};
use crate::loss::{label_loss, LossSum};
use crate::optim::{clip_grad_norm, AdamW};
use crate::params::Trainable;

/// An extra loss term added to the cross-entropy of each micro-batch (a teacher's, for
/// distillation). It returns the term *summed* over the micro-batch's answer positions (as
/// [`LossSum::sum`] is), differentiable, or `None` to add nothing; the step normalises it by
/// the step's answer tokens, like the cross-entropy.
pub trait ExtraLoss {
    fn micro_loss(
        &self,
        model: &Model,
        hidden: &Tensor,
        examples: &[&Example],
    ) -> Result<Option<Tensor>>;
}

/// Gradient synchronisation across devices (data parallelism): the step asks for the global
/// answer-token count before any backward pass (every device normalises by the same count),
/// and hands over the accumulated gradients before clipping, to be replaced by their sums.
pub trait GradSync {
    /// The step's answer tokens over all devices, given this device's.
    fn global_tokens(&mut self, local: usize) -> Result<usize>;
    /// Replaces every gradient (in [`AdamW::params`] order) by its sum over all devices.
    fn all_reduce(&mut self, grads: &mut [Tensor]) -> Result<()>;
    /// The index over all devices of this device's micro-batch `local` in the step; it seeds
    /// the micro-batch's dropout masks, so a device draws the masks one device running every
    /// micro-batch draws for it (see [`crate::parallel`]). One device: `local`.
    fn micro_batch_index(&self, local: usize) -> u64 {
        local as u64
    }
}

/// The step's seams; the default is one device and no extra term.
#[derive(Default)]
pub struct Seams<'a> {
    pub extra_loss: Option<&'a dyn ExtraLoss>,
    pub sync: Option<&'a mut dyn GradSync>,
}

/// What one step needs besides the batch.
#[derive(Debug, Clone, Copy)]
pub struct StepSettings {
    /// Optimizer steps done before this one (0-based; seeds the dropout masks).
    pub step: u64,
    /// The learning rate of this step (from the schedule).
    pub lr: f64,
    /// Global-norm clipping threshold; 0 disables clipping.
    pub max_grad_norm: f64,
    /// The run's seed (dropout masks are a pure function of seed, step and micro-batch).
    pub seed: u64,
}

/// What one step did.
#[derive(Debug, Clone)]
pub struct StepStats {
    /// Mean cross-entropy per answer token over the step.
    pub loss: f64,
    /// The extra term (see [`ExtraLoss`]), normalised like `loss`, when there is one.
    pub extra_loss: Option<f64>,
    pub lr: f64,
    /// Global gradient norm before clipping (NaN when clipping is off).
    pub grad_norm: f64,
    /// Answer tokens of the step (this device's).
    pub label_tokens: usize,
    /// All tokens of the step, prompts and audio included.
    pub tokens: usize,
    /// Per task: summed cross-entropy and answer tokens.
    pub tasks: BTreeMap<String, (f64, usize)>,
    /// Per example, in batch order: summed cross-entropy and answer tokens.
    pub examples: Vec<(f64, usize)>,
}

/// One optimizer step over `micro` (the micro-batches of gradient accumulation): forward,
/// answer-only loss (+ the extra term), backward and token-weighted accumulation per
/// micro-batch, the all-reduce seam, clipping and the AdamW update.
///
/// A NaN/inf loss or gradient norm is an error before the optimizer steps (the weights are
/// untouched); so is a trainable tensor that got no gradient.
pub fn train_step(
    tr: &Trainable,
    opt: &mut AdamW,
    micro: &[Vec<Example>],
    set: &StepSettings,
    seams: &mut Seams,
) -> Result<StepStats> {
    let local_tokens: usize = micro.iter().flatten().map(Example::label_tokens).sum();
    let group_tokens = match seams.sync.as_deref_mut() {
        Some(s) => s.global_tokens(local_tokens)?,
        None => local_tokens,
    };
    if group_tokens == 0 {
        return Err(Error::Data("no answer token in the batch".into()));
    }
    let dropout = tr.lora_source.as_ref().map(|l| l.dropout_seed());

    // Forward/backward per micro-batch; gradients of Σ CE / group_tokens accumulate.
    let vars = opt.params().to_vec();
    let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
    let mut stats = StepStats {
        loss: 0.0,
        extra_loss: None,
        lr: set.lr,
        grad_norm: f64::NAN,
        label_tokens: local_tokens,
        tokens: micro.iter().flatten().map(|e| e.ids.len()).sum(),
        tasks: BTreeMap::new(),
        examples: Vec::new(),
    };
    let mut loss_sum = 0.0;
    for (m, mb) in micro.iter().enumerate() {
        if let Some(d) = &dropout {
            let index = seams
                .sync
                .as_deref()
                .map_or(m as u64, |s| s.micro_batch_index(m));
            set_dropout_seed(d, set.seed, set.step, index);
        }
        let exs: Vec<&Example> = mb.iter().collect();
        let (l, hidden) = micro_loss(&tr.model, &exs)?;
        let mut objective = l.sum.clone();
        if let Some(extra) = seams.extra_loss {
            if let Some(term) = extra.micro_loss(&tr.model, &hidden, &exs)? {
                let value = term.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
                *stats.extra_loss.get_or_insert(0.0) += value / group_tokens as f64;
                objective = (objective + term)?;
            }
        }
        let scaled = (objective / group_tokens as f64)?;
        let mut g = scaled.backward()?;
        if let Some(side) = &tr.side_grads {
            side.drain_into(&mut g)?;
        }
        for (i, (_, v)) in vars.iter().enumerate() {
            if let Some(gi) = g.get(v.as_tensor()) {
                grads[i] = Some(match grads[i].take() {
                    None => gi.clone(),
                    Some(acc) => (acc + gi)?,
                });
            }
        }
        for (r, e) in mb.iter().enumerate() {
            let t = stats.tasks.entry(e.task.clone()).or_default();
            t.0 += l.per_row[r];
            t.1 += l.tokens[r];
            stats.examples.push((l.per_row[r], l.tokens[r]));
            loss_sum += l.per_row[r];
        }
    }
    stats.loss = loss_sum / group_tokens as f64;
    if !stats.loss.is_finite() {
        let samples: Vec<&str> = micro.iter().flatten().map(|e| e.source.as_str()).collect();
        return Err(Error::LossNotFinite {
            value: stats.loss,
            samples: samples.join(", "),
        });
    }
    let mut grads: Vec<Tensor> = grads
        .into_iter()
        .zip(&vars)
        .map(|(g, (name, _))| {
            g.ok_or_else(|| Error::NoGradient {
                tensor: name.clone(),
            })
        })
        .collect::<Result<_>>()?;
    if let Some(s) = seams.sync.as_deref_mut() {
        s.all_reduce(&mut grads)?;
    }
    if set.max_grad_norm > 0.0 {
        stats.grad_norm = clip_grad_norm(&mut grads, set.max_grad_norm)?;
        if !stats.grad_norm.is_finite() {
            return Err(Error::GradNormNotFinite {
                value: stats.grad_norm,
            });
        }
    }
    opt.step(&grads, set.lr)?;
    Ok(stats)
}

/// Forward + answer-only loss of one micro-batch: the summed loss (differentiable), host
/// per-row sums and token counts, and the hidden states (for an extra loss term).
pub(crate) fn micro_loss(model: &Model, exs: &[&Example]) -> Result<(LossSum, Tensor)> {
    let seqs: Vec<model::Sequence> = exs
        .iter()
        .map(|e| model::Sequence {
            ids: e.ids.clone(),
            inputs: e.inputs.clone(),
        })
        .collect();
    let batch = model.batch(&seqs)?;
    let hidden = model.forward_hidden(&batch, None)?;
    let loss = label_loss(model, &hidden, exs)?;
    Ok((loss, hidden))
}
