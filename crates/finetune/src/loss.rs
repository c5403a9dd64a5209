//! Loss on the answer positions only: the LM head is applied to the hidden states of the
//! positions whose next token is labelled, never to the whole sequence and vocabulary.

use candle_core::{DType, Tensor, D};
use model::Model;

use processor::{Example, IGNORE};

/// Summed cross-entropy of a left-padded micro-batch and the per-row sums (host values, for
/// logging per task) and token counts.
pub struct LossSum {
    /// Scalar f32, differentiable: Σ over labelled tokens of −log p(label).
    pub sum: Tensor,
    pub per_row: Vec<f64>,
    pub tokens: Vec<usize>,
}

/// hidden [B, T, H] of the batch built from `examples` (left-padded to T) → summed CE.
pub fn label_loss(
    model: &Model,
    hidden: &Tensor,
    examples: &[&Example],
) -> candle_core::Result<LossSum> {
    let (b, t, h) = hidden.dims3()?;
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut owner = Vec::new();
    for (r, ex) in examples.iter().enumerate() {
        let pad = t - ex.ids.len();
        // Position p predicts token p+1.
        for p in 0..ex.ids.len().saturating_sub(1) {
            let l = ex.labels[p + 1];
            if l != IGNORE {
                rows.push((r * t + pad + p) as u32);
                targets.push(l as u32);
                owner.push(r);
            }
        }
    }
    let dev = hidden.device();
    let n = rows.len();
    if n == 0 {
        return Ok(LossSum {
            sum: Tensor::zeros((), DType::F32, dev)?,
            per_row: vec![0.0; b],
            tokens: vec![0; b],
        });
    }
    let picked = hidden
        .reshape((b * t, h))?
        .index_select(&Tensor::from_vec(rows, n, dev)?, 0)?;
    let logits = model
        .decoder
        .logits(&picked)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let targets = Tensor::from_vec(targets, (n, 1), dev)?;
    let nll = logp.gather(&targets, 1)?.squeeze(1)?.neg()?; // [N]
    let values: Vec<f32> = nll.to_vec1()?;
    let mut per_row = vec![0.0; b];
    let mut tokens = vec![0; b];
    for (v, r) in values.iter().zip(&owner) {
        per_row[*r] += *v as f64;
        tokens[*r] += 1;
    }
    Ok(LossSum {
        sum: nll.sum_all()?,
        per_row,
        tokens,
    })
}
