//! Leaf layers, all differentiable (no candle fused op without a backward is used here):
//! linear layers that may carry a LoRA adapter, layer norm, RMS norm, rotary embeddings and
//! attention.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::VarBuilder;

use crate::constop::{add_const, mul_const};
use crate::lora::{AdapterSource, LoraWeights};
use crate::Result;

/// `y = x Wᵀ + b (+ LoRA)`. The base weight is a plain tensor (never a `Var`): it is frozen.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
    lora: Option<LoraWeights>,
}

impl Linear {
    /// Loads `{prefix}.weight` [out, in] and, when `bias`, `{prefix}.bias`; asks `adapters`
    /// for a LoRA on this module path.
    pub fn load(
        in_dim: usize,
        out_dim: usize,
        bias: bool,
        vb: VarBuilder,
        adapters: &dyn AdapterSource,
    ) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = if bias {
            Some(vb.get(out_dim, "bias")?)
        } else {
            None
        };
        let lora = adapters.lora_for(&vb.prefix(), in_dim, out_dim, vb.dtype(), vb.device())?;
        Ok(Self { weight, bias, lora })
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
    pub fn lora(&self) -> Option<&LoraWeights> {
        self.lora.as_ref()
    }

    /// The tensors that receive gradients: the LoRA matrices, and the weight and bias when
    /// they are trained (full finetuning).
    pub fn trainable(&self) -> Vec<Tensor> {
        let lora = self.lora.iter().flat_map(|l| [&l.a, &l.b]);
        [&self.weight]
            .into_iter()
            .chain(&self.bias)
            .chain(lora)
            .filter(|t| t.track_op())
            .cloned()
            .collect()
    }

    /// x: [..., in] → [..., out].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = dims[dims.len() - 1];
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let x2 = x.reshape((rows, in_dim))?;
        // A trained weight (full finetuning: a Var, or a cast of one) takes candle's matmul and
        // its full backward; a frozen one only passes the gradient on to x.
        let mut y = if self.weight.track_op() {
            x2.matmul(&self.weight.t()?)?
        } else {
            crate::frozen::frozen_matmul(&x2, &self.weight)?
        };
        if let Some(b) = &self.bias {
            y = add_const(&y, b)?;
        }
        if let Some(l) = &self.lora {
            y = (y + l.delta(&x2)?)?;
        }
        let mut out = dims;
        let last = out.len() - 1;
        out[last] = self.weight.dim(0)?;
        Ok(y.reshape(out)?)
    }
}

/// Layer norm with weight and bias, computed in f32 (`torch.nn.LayerNorm`).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get(dim, "weight")?,
            bias: vb.get(dim, "bias")?,
            eps,
        })
    }

    /// The weight and bias when they are trained (tracked).
    pub fn trainable(&self) -> Vec<Tensor> {
        [&self.weight, &self.bias]
            .into_iter()
            .filter(|t| t.track_op())
            .cloned()
            .collect()
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        let x = x.to_dtype(DType::F32)?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let xn = xc.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        let w = self.weight.to_dtype(DType::F32)?;
        let b = self.bias.to_dtype(DType::F32)?;
        Ok(add_const(&mul_const(&xn, &w)?, &b)?.to_dtype(dtype)?)
    }
}

/// Qwen2 RMS norm: normalise in f32, cast back, then scale (`Qwen2RMSNorm`).
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn load(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get(dim, "weight")?,
            eps,
        })
    }

    /// The weight, when it is trained.
    pub fn trainable(&self) -> Option<Tensor> {
        self.weight.track_op().then(|| self.weight.clone())
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        let xf = x.to_dtype(DType::F32)?;
        let var = xf.sqr()?.mean_keepdim(D::Minus1)?;
        let xn = xf.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        mul_const(&xn.to_dtype(dtype)?, &self.weight)
    }
}

/// Rotary position embedding with positions given per row (left padding, KV cache).
#[derive(Debug, Clone)]
pub struct Rotary {
    /// [1, 1, head_dim/2] f32, `1 / theta^(2i/d)` computed in f32 as the reference does.
    inv_freq: Tensor,
}

impl Rotary {
    pub fn new(head_dim: usize, theta: f64, device: &candle_core::Device) -> Result<Self> {
        let inv: Vec<f32> = (0..head_dim / 2)
            .map(|i| 1.0f32 / (theta as f32).powf((2 * i) as f32 / head_dim as f32))
            .collect();
        Ok(Self {
            inv_freq: Tensor::from_vec(inv, (1, 1, head_dim / 2), device)?,
        })
    }

    /// positions: [B, T] u32 → (cos, sin), each [B, 1, T, head_dim] in `dtype`.
    pub fn cos_sin(&self, positions: &Tensor, dtype: DType) -> Result<(Tensor, Tensor)> {
        let pos = positions.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?; // [B, T, 1]
        let freqs = pos.broadcast_mul(&self.inv_freq)?; // [B, T, d/2]
        let emb = Tensor::cat(&[&freqs, &freqs], D::Minus1)?.unsqueeze(1)?;
        Ok((emb.cos()?.to_dtype(dtype)?, emb.sin()?.to_dtype(dtype)?))
    }

    /// Multimodal RoPE (Qwen2-VL's M-RoPE, transformers 4.57 `apply_multimodal_rotary_pos_emb`):
    /// positions [3, B, T] u32 (temporal, height, width) → (cos, sin), each [B, 1, T, head_dim].
    /// The `head_dim/2` frequencies are split into `sections` (summing to head_dim/2); section
    /// i takes its angle from position axis i mod 3. With the three axes equal (text) this is
    /// [`Self::cos_sin`] exactly.
    pub fn cos_sin_mrope(
        &self,
        positions: &Tensor,
        sections: &[usize],
        dtype: DType,
    ) -> Result<(Tensor, Tensor)> {
        let (axes, _, _) = positions.dims3()?;
        let half = self.inv_freq.dim(D::Minus1)?;
        if axes != 3 || sections.iter().sum::<usize>() != half {
            return Err(crate::Error::Shape(format!(
                "M-RoPE needs positions [3, B, T] and sections summing to {half}, got {:?} and {sections:?}",
                positions.dims()
            )));
        }
        let pos = positions.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?; // [3, B, T, 1]
        let freqs = pos.broadcast_mul(&self.inv_freq.unsqueeze(0)?)?; // [3, B, T, d/2]
        let mut parts = Vec::with_capacity(sections.len());
        let mut start = 0;
        for (i, &len) in sections.iter().enumerate() {
            parts.push(freqs.get(i % 3)?.narrow(D::Minus1, start, len)?);
            start += len;
        }
        let freqs = Tensor::cat(&parts, D::Minus1)?; // [B, T, d/2]
        let emb = Tensor::cat(&[&freqs, &freqs], D::Minus1)?.unsqueeze(1)?;
        Ok((emb.cos()?.to_dtype(dtype)?, emb.sin()?.to_dtype(dtype)?))
    }

    /// x: [B, H, T, D] → x·cos + rotate_half(x)·sin.
    pub fn apply(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        let d = x.dim(D::Minus1)?;
        let x1 = x.narrow(D::Minus1, 0, d / 2)?;
        let x2 = x.narrow(D::Minus1, d / 2, d - d / 2)?;
        let rot = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
        Ok((mul_const(x, cos)? + mul_const(&rot, sin)?)?)
    }
}

/// Scaled dot-product attention, softmax in f32 (the reference's eager path).
/// q: [B, H, T, D], k/v: [B, H, S, D] (already repeated for GQA), mask: additive f32
/// [B, 1, T, S] or None. `scale` multiplies the scores.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    scale: f64,
) -> Result<Tensor> {
    let dtype = q.dtype();
    let scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
    let mut scores = scores.to_dtype(DType::F32)?;
    if let Some(m) = mask {
        scores = add_const(&scores, m)?;
    }
    let probs = candle_nn::ops::softmax(&scores, D::Minus1)?.to_dtype(dtype)?;
    Ok(probs.matmul(&v.contiguous()?)?)
}

/// [B, KVH, S, D] → [B, KVH·n_rep, S, D] (each KV head serves n_rep query heads).
pub fn repeat_kv(x: &Tensor, n_rep: usize) -> Result<Tensor> {
    if n_rep == 1 {
        return Ok(x.clone());
    }
    let (b, h, s, d) = x.dims4()?;
    Ok(x.unsqueeze(2)?
        .expand((b, h, n_rep, s, d))?
        .reshape((b, h * n_rep, s, d))?)
}

/// A 1-D convolution loaded from `{prefix}.weight` [out, in, k] and `{prefix}.bias`.
#[derive(Debug, Clone)]
pub struct Conv1d {
    inner: candle_nn::Conv1d,
}

impl Conv1d {
    pub fn load(
        in_c: usize,
        out_c: usize,
        k: usize,
        stride: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let cfg = candle_nn::Conv1dConfig {
            padding: 1,
            stride,
            ..Default::default()
        };
        Ok(Self {
            inner: candle_nn::conv1d(in_c, out_c, k, cfg, vb)?,
        })
    }

    /// x: [B, C_in, L] → [B, C_out, L'].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.inner.forward(x)?)
    }
}
