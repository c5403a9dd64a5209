//! The Qwen2 decoder (transformers 4.57 models/qwen2/modeling_qwen2.py): token embeddings,
//! pre-RMSNorm layers with grouped-query attention (q/k/v with bias, o without), RoPE computed
//! in f32, SwiGLU MLP, final norm, and an LM head that may be tied to the embeddings.
//!
//! One forward serves training and generation: it takes embeddings, per-row positions, an
//! optional additive mask and an optional explicit [`KvCache`], and returns the hidden states of
//! every position. Logits are a separate step so a trainer can compute them only where there
//! are labels.

use std::sync::Arc;

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;

use crate::checkpointing::{checkpointed, LayerFn, SideGrads};

use crate::config::TextConfig;
use crate::lora::AdapterSource;
use crate::nn::{attention, repeat_kv, Linear, RmsNorm, Rotary};
use crate::Result;

/// Keys and values of every layer for the positions seen so far: [B, KVH, S, D] each.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn new(n_layers: usize) -> Self {
        Self {
            layers: vec![None; n_layers],
        }
    }

    /// Positions held (0 when empty).
    pub fn len(&self) -> usize {
        self.layers
            .first()
            .and_then(|l| l.as_ref())
            .map_or(0, |(k, _)| k.dim(2).unwrap_or(0))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the rows `rows` (in that order), e.g. to follow beams.
    pub fn select_rows(&mut self, rows: &Tensor) -> Result<()> {
        for (k, v) in self.layers.iter_mut().flatten() {
            *k = k.index_select(rows, 0)?;
            *v = v.index_select(rows, 0)?;
        }
        Ok(())
    }

    fn append(&mut self, layer: usize, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
        let kv = match self.layers[layer].take() {
            None => (k.contiguous()?, v.contiguous()?),
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
        };
        self.layers[layer] = Some(kv.clone());
        Ok(kv)
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn load(cfg: &TextConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        let (h, hd) = (cfg.hidden_size, cfg.head_dim());
        let (nh, nkv) = (cfg.num_attention_heads, cfg.num_kv_heads());
        Ok(Self {
            q: Linear::load(h, nh * hd, true, vb.pp("q_proj"), ad)?,
            k: Linear::load(h, nkv * hd, true, vb.pp("k_proj"), ad)?,
            v: Linear::load(h, nkv * hd, true, vb.pp("v_proj"), ad)?,
            o: Linear::load(nh * hd, h, false, vb.pp("o_proj"), ad)?,
            heads: nh,
            kv_heads: nkv,
            head_dim: hd,
        })
    }

    fn forward(&self, x: &Tensor, rope: &(Tensor, Tensor), step: &mut Step) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let split = |y: Tensor, n: usize| -> Result<Tensor> {
            Ok(y.reshape((b, t, n, self.head_dim))?.transpose(1, 2)?)
        };
        let q = split(self.q.forward(x)?, self.heads)?;
        let k = split(self.k.forward(x)?, self.kv_heads)?;
        let v = split(self.v.forward(x)?, self.kv_heads)?;
        let q = Rotary::apply(&q, &rope.0, &rope.1)?;
        let k = Rotary::apply(&k, &rope.0, &rope.1)?;
        let (k, v) = match step.cache.as_deref_mut() {
            Some(cache) => cache.append(step.layer, k, v)?,
            None => (k, v),
        };
        let n_rep = self.heads / self.kv_heads;
        let k = repeat_kv(&k, n_rep)?;
        let v = repeat_kv(&v, n_rep)?;
        let scale = (self.head_dim as f64).powf(-0.5);
        let a = attention(&q, &k, &v, step.mask, scale)?;
        let a = a
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.head_dim))?;
        self.o.forward(&a)
    }
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn load(cfg: &TextConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Self {
            gate: Linear::load(h, i, false, vb.pp("gate_proj"), ad)?,
            up: Linear::load(h, i, false, vb.pp("up_proj"), ad)?,
            down: Linear::load(i, h, false, vb.pp("down_proj"), ad)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let g = self.gate.forward(x)?.silu()?;
        self.down.forward(&(g * self.up.forward(x)?)?)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attn: Attention,
    mlp: Mlp,
    input_norm: RmsNorm,
    post_norm: RmsNorm,
}

impl Layer {
    fn forward(&self, x: &Tensor, rope: &(Tensor, Tensor), step: &mut Step) -> Result<Tensor> {
        let h = self
            .attn
            .forward(&self.input_norm.forward(x)?, rope, step)?;
        let x = (x + h)?;
        let h = self.mlp.forward(&self.post_norm.forward(&x)?)?;
        Ok((x + h)?)
    }

    /// The tensors of this layer that receive gradients (LoRA matrices, trained weights).
    fn trainable(&self) -> Vec<Tensor> {
        let a = &self.attn;
        let m = &self.mlp;
        let mut out: Vec<Tensor> = [&a.q, &a.k, &a.v, &a.o, &m.gate, &m.up, &m.down]
            .iter()
            .flat_map(|l| l.trainable())
            .collect();
        out.extend(self.input_norm.trainable());
        out.extend(self.post_norm.trainable());
        out
    }
}

/// Per-forward state threaded through the layers.
struct Step<'a> {
    layer: usize,
    mask: Option<&'a Tensor>,
    cache: Option<&'a mut KvCache>,
}

/// The Qwen2 language model.
#[derive(Debug, Clone)]
pub struct Decoder {
    embed: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    head: Option<Linear>,
    rotary: Rotary,
    /// M-RoPE sections (Qwen2-VL); `None`: plain 1-D RoPE (Qwen2, Qwen2-Audio).
    mrope: Option<Vec<usize>>,
    cfg: TextConfig,
    /// Set by a trainer: layers with trainable tensors run checkpointed.
    checkpoint: Option<Arc<SideGrads>>,
}

impl Decoder {
    /// `vb` points at `language_model`. `tied`: the head is the embedding matrix.
    pub fn load(
        cfg: &TextConfig,
        tied: bool,
        vb: VarBuilder,
        ad: &dyn AdapterSource,
    ) -> Result<Self> {
        let m = vb.pp("model");
        let embed = m
            .pp("embed_tokens")
            .get((cfg.vocab_size, cfg.hidden_size), "weight")?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let l = m.pp("layers").pp(i);
                Ok(Layer {
                    attn: Attention::load(cfg, l.pp("self_attn"), ad)?,
                    mlp: Mlp::load(cfg, l.pp("mlp"), ad)?,
                    input_norm: RmsNorm::load(
                        cfg.hidden_size,
                        cfg.rms_norm_eps,
                        l.pp("input_layernorm"),
                    )?,
                    post_norm: RmsNorm::load(
                        cfg.hidden_size,
                        cfg.rms_norm_eps,
                        l.pp("post_attention_layernorm"),
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let head_vb = vb.pp("lm_head");
        let head = if tied || !head_vb.contains_tensor("weight") {
            None
        } else {
            Some(Linear::load(
                cfg.hidden_size,
                cfg.vocab_size,
                false,
                head_vb,
                &crate::lora::NoAdapters,
            )?)
        };
        Ok(Self {
            embed,
            layers,
            norm: RmsNorm::load(cfg.hidden_size, cfg.rms_norm_eps, m.pp("norm"))?,
            head,
            rotary: Rotary::new(cfg.head_dim(), cfg.rope_theta, vb.device())?,
            mrope: cfg.mrope_section(),
            cfg: cfg.clone(),
            checkpoint: None,
        })
    }

    /// Turns on activation checkpointing for the training forward (no KV cache): each layer
    /// that has trainable tensors keeps only its output and is recomputed in the backward
    /// pass. The returned store collects those layers' gradients of the tensors `trainable`
    /// (the ids of the trainer's `Var`s): merge it into the `GradStore` after every
    /// `backward()` ([`SideGrads::drain_into`]).
    pub fn enable_checkpointing(
        &mut self,
        trainable: impl IntoIterator<Item = candle_core::TensorId>,
    ) -> Arc<SideGrads> {
        let store = Arc::new(SideGrads::new(trainable));
        self.checkpoint = Some(store.clone());
        store
    }

    pub fn config(&self) -> &TextConfig {
        &self.cfg
    }

    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn dtype(&self) -> DType {
        self.embed.dtype()
    }

    /// ids: [B, T] u32 → [B, T, H].
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let flat = self.embed.index_select(&ids.flatten_all()?, 0)?;
        Ok(flat.reshape((b, t, self.cfg.hidden_size))?)
    }

    /// embeds [B, T, H], positions [B, T] u32 (or [3, B, T] for a model with M-RoPE: temporal,
    /// height, width), mask additive f32 [B, 1, T, S] (S = cached + T) or None for plain
    /// causal-free single steps → final-normed hidden states [B, T, H].
    pub fn forward(
        &self,
        embeds: &Tensor,
        positions: &Tensor,
        mask: Option<&Tensor>,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let rope = match (&self.mrope, positions.rank()) {
            (Some(sections), 3) => {
                self.rotary
                    .cos_sin_mrope(positions, sections, embeds.dtype())?
            }
            (_, 2) => self.rotary.cos_sin(positions, embeds.dtype())?,
            _ => {
                return Err(crate::Error::Shape(format!(
                    "positions {:?}: [B, T], or [3, B, T] for a model with M-RoPE",
                    positions.dims()
                )))
            }
        };
        let mut x = embeds.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            if let (Some(store), None) = (&self.checkpoint, cache.as_ref()) {
                if let Some(anchor) = layer.trainable().first() {
                    let (l, rope, mask) = (layer.clone(), rope.clone(), mask.cloned());
                    let f: LayerFn = Arc::new(move |x: &Tensor| {
                        let mut step = Step {
                            layer: i,
                            mask: mask.as_ref(),
                            cache: None,
                        };
                        l.forward(x, &rope, &mut step)
                    });
                    x = checkpointed(f, &x, anchor, store)?;
                    continue;
                }
            }
            let mut step = Step {
                layer: i,
                mask,
                cache: cache.as_deref_mut(),
            };
            x = layer.forward(&x, &rope, &mut step)?;
        }
        self.norm.forward(&x)
    }

    /// hidden [..., H] → logits [..., V] in f32.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let y = match &self.head {
            Some(h) => h.forward(hidden)?,
            None => {
                let dims = hidden.dims().to_vec();
                let h2 = hidden.reshape(((), self.cfg.hidden_size))?;
                let mut out = dims;
                let last = out.len() - 1;
                out[last] = self.cfg.vocab_size;
                h2.matmul(&self.embed.t()?)?.reshape(out)?
            }
        };
        Ok(y.to_dtype(DType::F32)?)
    }
}

/// The additive attention mask for `t` new positions after `past` cached ones:
/// [B, 1, t, past + t] f32, 0 where row b's query may see the key, a large negative elsewhere.
/// `valid[b][j]` says whether key position j (over past + t) is a real token (false: padding).
pub fn causal_mask(
    valid: &[Vec<bool>],
    past: usize,
    t: usize,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let s = past + t;
    let b = valid.len();
    let mut data = vec![0f32; b * t * s];
    for (r, row) in valid.iter().enumerate() {
        for i in 0..t {
            for j in 0..s {
                let visible = j <= past + i && row.get(j).copied().unwrap_or(false);
                if !visible {
                    data[(r * t + i) * s + j] = -1e30;
                }
            }
        }
    }
    Ok(Tensor::from_vec(data, (b, 1, t, s), device)?)
}
