//! Sentence-BERT (a sentence-transformers directory such as `paraphrase-TinyBERT-L6-v2`):
//! BERT → pooling → L2 normalisation, and aac-metrics' `sbert_sim`.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::Deserialize;

use crate::bert::{l2_normalise, load_dir_weights, mean_pool, BertConfig, BertEncoder};
use crate::error::{read_json, Error, Result};
use crate::text::{length_batches, pad_batch, BertTokenizer};

/// How token states become one sentence vector (sentence-transformers' `Pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the non-padding tokens (what paraphrase-TinyBERT-L6-v2 uses).
    Mean,
    /// The first token's state.
    Cls,
    /// Element-wise max over the non-padding tokens.
    Max,
}

#[derive(Debug, Deserialize)]
struct ModuleEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
struct SbertConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

#[derive(Debug, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode: Option<String>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Debug, Deserialize)]
struct TokenizerLimits {
    #[serde(default)]
    model_max_length: Option<f64>,
}

/// A loaded sentence-BERT model.
pub struct SentenceBert {
    encoder: BertEncoder,
    tokenizer: BertTokenizer,
    pooling: Pooling,
    pad_id: u32,
    dir: PathBuf,
}

impl SentenceBert {
    /// Loads a sentence-transformers directory: `modules.json` (a `Transformer` module and a
    /// `Pooling` module; a `Normalize` module is accepted, the embeddings are normalised
    /// anyway), `sentence_bert_config.json`, the pooling config, the BERT `config.json`,
    /// weights (`model.safetensors` or `pytorch_model.bin`) and tokenizer. A directory without
    /// `modules.json` is a plain BERT with mean pooling, as sentence-transformers treats it.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::NotAvailable {
                reason: format!("sentence-BERT directory {} does not exist", dir.display()),
            });
        }
        let (model_dir, pooling) = read_modules(dir)?;
        let config = BertConfig::from_file(&model_dir.join("config.json"))?;
        let sb_path = model_dir.join("sentence_bert_config.json");
        let sb: SbertConfig = if sb_path.is_file() {
            read_json(&sb_path)?
        } else {
            SbertConfig::default()
        };
        let max_len = match sb.max_seq_length {
            Some(n) => n,
            None => {
                // sentence-transformers: the tokenizer's model_max_length, capped at the
                // model's max_position_embeddings.
                let tc = model_dir.join("tokenizer_config.json");
                let limit = if tc.is_file() {
                    read_json::<TokenizerLimits>(&tc)?.model_max_length
                } else {
                    None
                };
                limit
                    .filter(|v| *v >= 1.0 && *v < 1e12)
                    .map_or(config.max_position_embeddings, |v| {
                        (v as usize).min(config.max_position_embeddings)
                    })
            }
        };
        let mut tokenizer = BertTokenizer::from_dir(&model_dir, max_len)?;
        if sb.do_lower_case {
            tokenizer.force_lowercase()?;
        }
        let (tensors, source) = load_dir_weights(&model_dir)?;
        let encoder = BertEncoder::from_tensors(config, tensors, "", device, &source)?;
        Ok(Self {
            encoder,
            tokenizer,
            pooling,
            pad_id: 0,
            dir: dir.to_path_buf(),
        })
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pooling the model uses.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// L2-normalised sentence embeddings, one row per text, in `batch_size` batches (sorted
    /// by length, as sentence-transformers' `encode(normalize_embeddings=True)`).
    pub fn encode(&self, texts: &[&str], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let ids = self.tokenizer.encode(texts)?;
        let lens: Vec<usize> = ids.iter().map(Vec::len).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for batch in length_batches(&lens, batch_size) {
            let rows: Vec<&Vec<u32>> = batch.iter().map(|&i| &ids[i]).collect();
            let (input, mask) = pad_batch(&rows, self.pad_id, self.encoder.device())?;
            let hidden = self.encoder.forward(&input, &mask)?;
            let pooled = self.pool(&hidden, &mask)?;
            let emb = l2_normalise(&pooled)?
                .to_device(&Device::Cpu)?
                .to_vec2::<f32>()?;
            for (&i, row) in batch.iter().zip(emb) {
                out[i] = row;
            }
        }
        Ok(out)
    }

    fn pool(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match self.pooling {
            Pooling::Mean => mean_pool(hidden, mask),
            Pooling::Cls => Ok(hidden.narrow(1, 0, 1)?.squeeze(1)?),
            Pooling::Max => {
                let m = mask
                    .to_dtype(candle_core::DType::F32)?
                    .unsqueeze(candle_core::D::Minus1)?;
                // Padded positions → -inf before the max.
                let neg = ((m.ones_like()? - &m)? * -1e30f64)?;
                Ok(hidden.broadcast_add(&neg)?.max(1)?)
            }
        }
    }

    /// The token ids the model sees for each text (diagnostics, tests).
    pub fn token_ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        self.tokenizer.encode(texts)
    }

    /// aac-metrics' `sbert_sim` per candidate: the mean over its references of the cosine
    /// similarity of the normalised embeddings.
    pub fn similarity<S: AsRef<str>, R: AsRef<str>>(
        &self,
        candidates: &[S],
        references: &[Vec<R>],
        batch_size: usize,
    ) -> Result<Vec<f64>> {
        crate::check_inputs(candidates.len(), references)?;
        let cands: Vec<&str> = candidates.iter().map(AsRef::as_ref).collect();
        let refs: Vec<&str> = references
            .iter()
            .flat_map(|r| r.iter().map(AsRef::as_ref))
            .collect();
        let ce = self.encode(&cands, batch_size)?;
        let re = self.encode(&refs, batch_size)?;
        let mut start = 0;
        let mut sims = Vec::with_capacity(ce.len());
        for (c, r) in ce.iter().zip(references) {
            let rows = &re[start..start + r.len()];
            start += r.len();
            let total: f64 = rows.iter().map(|row| dot(c, row)).sum();
            sims.push(total / r.len() as f64);
        }
        Ok(sims)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// The Transformer module's directory and the pooling, from `modules.json`.
fn read_modules(dir: &Path) -> Result<(PathBuf, Pooling)> {
    let path = dir.join("modules.json");
    if !path.is_file() {
        return Ok((dir.to_path_buf(), Pooling::Mean));
    }
    let modules: Vec<ModuleEntry> = read_json(&path)?;
    let mut model_dir = None;
    let mut pooling = None;
    for m in &modules {
        let kind = m.kind.rsplit('.').next().unwrap_or(&m.kind);
        let sub = dir.join(&m.path);
        match kind {
            "Transformer" => model_dir = Some(sub),
            "Pooling" => pooling = Some(read_pooling(&sub.join("config.json"))?),
            "Normalize" => {}
            other => {
                return Err(Error::config(
                    &path,
                    format!(
                        "module type {other:?} is not supported (Transformer, Pooling, Normalize)"
                    ),
                ))
            }
        }
    }
    let model_dir =
        model_dir.ok_or_else(|| Error::config(&path, "no Transformer module listed"))?;
    let pooling = pooling.ok_or_else(|| Error::config(&path, "no Pooling module listed"))?;
    Ok((model_dir, pooling))
}

fn read_pooling(path: &Path) -> Result<Pooling> {
    let c: PoolingConfig = read_json(path)?;
    let mut modes: Vec<&str> = Vec::new();
    if let Some(m) = &c.pooling_mode {
        modes.push(m.as_str());
    }
    for (on, name) in [
        (c.pooling_mode_cls_token, "cls"),
        (c.pooling_mode_mean_tokens, "mean"),
        (c.pooling_mode_max_tokens, "max"),
        (c.pooling_mode_mean_sqrt_len_tokens, "mean_sqrt_len_tokens"),
        (c.pooling_mode_weightedmean_tokens, "weightedmean"),
        (c.pooling_mode_lasttoken, "lasttoken"),
    ] {
        if on && !modes.contains(&name) {
            modes.push(name);
        }
    }
    match modes.as_slice() {
        ["mean"] => Ok(Pooling::Mean),
        ["cls"] => Ok(Pooling::Cls),
        ["max"] => Ok(Pooling::Max),
        other => Err(Error::config(
            path,
            format!("pooling {other:?} is not supported (one of mean, cls, max)"),
        )),
    }
}
