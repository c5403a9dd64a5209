//! A BERT encoder for inference (transformers' `BertModel` without the pooler): embeddings
//! (word + absolute position + token type, LayerNorm), post-LN layers (self-attention with an
//! additive padding mask, GELU feed-forward), last hidden states out.
//!
//! Weights are read from a name → tensor map in transformers' naming (`embeddings.*`,
//! `encoder.layer.{i}.*`), from safetensors, a `pytorch_model.bin` or the echecker's `.ckpt`.
//! Older names (`bert.` prefix, LayerNorm `gamma`/`beta`) are accepted as transformers accepts
//! them. Device-generic; activations in f32.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The fields of a BERT `config.json` the encoder needs (transformers' `BertConfig` defaults
/// where a field is absent).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_pos_type")]
    pub position_embedding_type: String,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_pos_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let cfg: BertConfig = crate::error::read_json(path)?;
        cfg.check(path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<()> {
        if let Some(t) = &self.model_type {
            if t != "bert" {
                return Err(Error::config(
                    path,
                    format!("model_type {t:?} is not \"bert\""),
                ));
            }
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(Error::config(
                path,
                format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(Error::config(
                path,
                format!(
                    "position_embedding_type {:?} is not supported (only \"absolute\")",
                    self.position_embedding_type
                ),
            ));
        }
        Activation::parse(&self.hidden_act).map_err(|m| Error::config(path, m))?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    /// transformers' "gelu": the exact erf form.
    Gelu,
    /// "gelu_new" / "gelu_pytorch_tanh" / "gelu_fast": the tanh approximation.
    GeluTanh,
    Relu,
}

impl Activation {
    fn parse(name: &str) -> std::result::Result<Self, String> {
        match name {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(format!("hidden_act {other:?} is not supported")),
        }
    }

    fn forward(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Gelu => x.gelu_erf(),
            Activation::GeluTanh => x.gelu(),
            Activation::Relu => x.relu(),
        }
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The BERT encoder (no pooler: FENSE uses the last hidden states only).
pub struct BertEncoder {
    config: BertConfig,
    word: Embedding,
    position: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    act: Activation,
    device: Device,
}

fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    let w = vb.get(size, "weight")?;
    let b = vb.get(size, "bias")?;
    Ok(LayerNorm::new(w, b, eps))
}

impl BertEncoder {
    /// Builds the encoder from `tensors` whose names are transformers' `BertModel` names after
    /// removing `prefix` (e.g. `"encoder."` for the echecker's state dict, `""` for a plain
    /// BertModel checkpoint). `source` names the file in errors.
    pub fn from_tensors(
        config: BertConfig,
        tensors: HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
        source: &Path,
    ) -> Result<Self> {
        let tensors = normalise_names(tensors, prefix);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::build(config, vb).map_err(|e| Error::checkpoint(source, e))
    }

    fn build(config: BertConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let emb = vb.pp("embeddings");
        let word = Embedding::new(
            emb.get((config.vocab_size, h), "word_embeddings.weight")?,
            h,
        );
        let position = emb.get(
            (config.max_position_embeddings, h),
            "position_embeddings.weight",
        )?;
        let token_type = emb.get((config.type_vocab_size, h), "token_type_embeddings.weight")?;
        let emb_norm = layer_norm(h, eps, emb.pp("LayerNorm"))?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let att = l.pp("attention");
            let inter = config.intermediate_size;
            layers.push(Layer {
                query: candle_nn::linear(h, h, att.pp("self.query"))?,
                key: candle_nn::linear(h, h, att.pp("self.key"))?,
                value: candle_nn::linear(h, h, att.pp("self.value"))?,
                attn_out: candle_nn::linear(h, h, att.pp("output.dense"))?,
                attn_norm: layer_norm(h, eps, att.pp("output.LayerNorm"))?,
                intermediate: candle_nn::linear(h, inter, l.pp("intermediate.dense"))?,
                output: candle_nn::linear(inter, h, l.pp("output.dense"))?,
                out_norm: layer_norm(h, eps, l.pp("output.LayerNorm"))?,
            });
        }
        let act = Activation::parse(&config.hidden_act).map_err(candle_core::Error::Msg)?;
        Ok(Self {
            word,
            position,
            token_type,
            emb_norm,
            layers,
            act,
            device: vb.device().clone(),
            config,
        })
    }

    /// The configuration the encoder was built with.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Last hidden states `[B, T, H]` (f32) for right-padded `input_ids` `[B, T]` (u32) with
    /// `mask` `[B, T]` (1 = token, 0 = padding). Token type ids are all 0 (single sentences).
    pub fn forward(&self, input_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, t) = input_ids.dims2()?;
        if t > self.config.max_position_embeddings {
            return Err(Error::Candle(candle_core::Error::Msg(format!(
                "{t} tokens exceed max_position_embeddings {}",
                self.config.max_position_embeddings
            ))));
        }
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let hd = h / heads;
        let pos = self.position.narrow(0, 0, t)?;
        let tt = self.token_type.narrow(0, 0, 1)?;
        let x = self
            .word
            .forward(input_ids)?
            .broadcast_add(&(pos.broadcast_add(&tt))?)?;
        let mut x = self.emb_norm.forward(&x)?;
        // Additive mask on the keys: 0 where attended, a large negative where padded.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e30)?.reshape((b, 1, 1, t))?;
        let scale = 1.0 / (hd as f64).sqrt();
        for layer in &self.layers {
            let split = |y: Tensor| -> candle_core::Result<Tensor> {
                y.reshape((b, t, heads, hd))?.transpose(1, 2)?.contiguous()
            };
            let q = split((layer.query.forward(&x)? * scale)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, t, h))?;
            let a = layer
                .attn_norm
                .forward(&(layer.attn_out.forward(&ctx)? + &x)?)?;
            let f = self.act.forward(&layer.intermediate.forward(&a)?)?;
            x = layer.out_norm.forward(&(layer.output.forward(&f)? + &a)?)?;
        }
        Ok(x)
    }
}

/// Strips `prefix` (and a `bert.` prefix a pre-training checkpoint may carry) and maps the
/// legacy LayerNorm names `gamma`/`beta` to `weight`/`bias`, as transformers does on load.
fn normalise_names(tensors: HashMap<String, Tensor>, prefix: &str) -> HashMap<String, Tensor> {
    tensors
        .into_iter()
        .filter_map(|(name, t)| {
            let name = name.strip_prefix(prefix)?;
            let name = name.strip_prefix("bert.").unwrap_or(name);
            let name = if let Some(stem) = name.strip_suffix(".gamma") {
                format!("{stem}.weight")
            } else if let Some(stem) = name.strip_suffix(".beta") {
                format!("{stem}.bias")
            } else {
                name.to_string()
            };
            Some((name, t))
        })
        .collect()
}

/// Every tensor of a BERT weight file in a model directory: `model.safetensors` if present,
/// else `pytorch_model.bin` (read with candle's pickle reader), on the CPU.
pub(crate) fn load_dir_weights(
    dir: &Path,
) -> Result<(HashMap<String, Tensor>, std::path::PathBuf)> {
    let st = dir.join("model.safetensors");
    if st.is_file() {
        let t = candle_core::safetensors::load(&st, &Device::Cpu)
            .map_err(|e| Error::checkpoint(&st, e))?;
        return Ok((t, st));
    }
    let bin = dir.join("pytorch_model.bin");
    if bin.is_file() {
        let t = candle_core::pickle::read_all(&bin).map_err(|e| Error::checkpoint(&bin, e))?;
        return Ok((t.into_iter().collect(), bin));
    }
    Err(Error::NotAvailable {
        reason: format!(
            "no model.safetensors or pytorch_model.bin in {}",
            dir.display()
        ),
    })
}

/// Mean of `hidden` `[B, T, H]` over the positions where `mask` `[B, T]` is 1, divided by
/// max(count, 1e-9): sentence-transformers' mean pooling.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    Ok(sum.broadcast_div(&count)?)
}

/// Rows divided by max(‖row‖₂, 1e-12): `torch.nn.functional.normalize(p=2, dim=1)`.
pub fn l2_normalise(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}
