//! `config.json` (Qwen2AudioConfig) and `generation_config.json`, with the reference defaults.
//!
//! Field names are the Hugging Face ones. `text_config` is sparse in real checkpoints: every key
//! that is missing takes the `Qwen2Config` default, as `transformers` does
//! (configuration_qwen2.py, `Qwen2Config.__init__`). Unknown keys are ignored on purpose: these
//! files are written by other tools and carry many keys that do not affect the network.

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// `audio_config`: the Whisper-style encoder (`Qwen2AudioEncoderConfig`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AudioEncoderConfig {
    pub num_mel_bins: usize,
    pub encoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub d_model: usize,
    pub max_source_positions: usize,
    pub activation_function: String,
    pub scale_embedding: bool,
}

impl Default for AudioEncoderConfig {
    /// The defaults `Qwen2AudioConfig` uses when `audio_config` is absent.
    fn default() -> Self {
        Self {
            num_mel_bins: 128,
            encoder_layers: 32,
            encoder_attention_heads: 20,
            encoder_ffn_dim: 5120,
            d_model: 1280,
            max_source_positions: 1500,
            activation_function: "gelu".into(),
            scale_embedding: false,
        }
    }
}

/// `text_config`: the Qwen2 decoder (`Qwen2Config`), defaults from transformers 4.57.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct TextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub tie_word_embeddings: bool,
    pub rope_theta: f64,
    pub rope_scaling: Option<serde_json::Value>,
    pub use_sliding_window: bool,
    pub sliding_window: Option<usize>,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 151_936,
            hidden_size: 4096,
            intermediate_size: 22_016,
            num_hidden_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: None,
            hidden_act: "silu".into(),
            max_position_embeddings: 32_768,
            rms_norm_eps: 1e-6,
            tie_word_embeddings: false,
            rope_theta: 10_000.0,
            rope_scaling: None,
            use_sliding_window: false,
            sliding_window: Some(4096),
        }
    }
}

impl TextConfig {
    /// Qwen2-VL's M-RoPE sections (`rope_scaling.mrope_section`, in frequency pairs), when the
    /// checkpoint has them: the hub's flat layout writes `type: "mrope"`, transformers 4.57's
    /// `save_pretrained` rewrites the type to `"default"` and keeps the sections; both count.
    pub fn mrope_section(&self) -> Option<Vec<usize>> {
        let s = self
            .rope_scaling
            .as_ref()?
            .get("mrope_section")?
            .as_array()?;
        s.iter().map(|v| v.as_u64().map(|x| x as usize)).collect()
    }

    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// `config.json` of a `Qwen2AudioForConditionalGeneration` checkpoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Qwen2AudioConfig {
    #[serde(default)]
    pub audio_config: AudioEncoderConfig,
    #[serde(default)]
    pub text_config: TextConfig,
    #[serde(default = "default_audio_token_index", alias = "audio_token_id")]
    pub audio_token_index: u32,
    /// Top-level tying flag; some exports put it here rather than in `text_config`.
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
}

fn default_audio_token_index() -> u32 {
    151_646
}

impl Qwen2AudioConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Error::Config {
            path: path.into(),
            msg,
        };
        let t = &self.text_config;
        let a = &self.audio_config;
        if t.hidden_act != "silu" {
            return Err(bad(format!(
                "text_config.hidden_act {:?} is not supported (only \"silu\")",
                t.hidden_act
            )));
        }
        if t.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(bad("text_config.rope_scaling is not supported".into()));
        }
        if t.use_sliding_window {
            return Err(bad(
                "text_config.use_sliding_window = true is not supported".into(),
            ));
        }
        if !t.hidden_size.is_multiple_of(t.num_attention_heads) {
            return Err(bad(format!(
                "text_config.hidden_size {} is not divisible by num_attention_heads {}",
                t.hidden_size, t.num_attention_heads
            )));
        }
        if !t.num_attention_heads.is_multiple_of(t.num_kv_heads()) {
            return Err(bad(format!(
                "text_config.num_attention_heads {} is not a multiple of num_key_value_heads {}",
                t.num_attention_heads,
                t.num_kv_heads()
            )));
        }
        if !a.d_model.is_multiple_of(a.encoder_attention_heads) {
            return Err(bad(format!(
                "audio_config.d_model {} is not divisible by encoder_attention_heads {}",
                a.d_model, a.encoder_attention_heads
            )));
        }
        if a.activation_function != "gelu" {
            return Err(bad(format!(
                "audio_config.activation_function {:?} is not supported (only \"gelu\")",
                a.activation_function
            )));
        }
        if a.scale_embedding {
            return Err(bad(
                "audio_config.scale_embedding = true is not supported".into()
            ));
        }
        Ok(())
    }

    /// Whether the LM head is the embedding matrix. A checkpoint without `lm_head` weights is
    /// always tied; otherwise the flag decides.
    pub fn tied_head(&self) -> bool {
        self.text_config.tie_word_embeddings || self.tie_word_embeddings.unwrap_or(false)
    }
}

/// The parts of `generation_config.json` that generation honours.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GenerationConfig {
    #[serde(deserialize_with = "one_or_many")]
    pub eos_token_id: Vec<u32>,
    pub pad_token_id: Option<u32>,
}

impl GenerationConfig {
    /// End-of-sequence ids: the file's, else `<|im_end|>` and `<|endoftext|>` (`special`).
    pub fn eos_or(&self, special: &crate::tokenizer::SpecialIds) -> Vec<u32> {
        if self.eos_token_id.is_empty() {
            vec![special.im_end, special.endoftext]
        } else {
            self.eos_token_id.clone()
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u32),
        Many(Vec<u32>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(v) => v,
        OneOrMany::Null(()) => vec![],
    })
}

impl GenerationConfig {
    /// Reads the file if present; a missing file gives the empty config.
    pub fn from_file_or_default(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_text_config_takes_qwen2_defaults() {
        let cfg: Qwen2AudioConfig = serde_json::from_str(
            r#"{"audio_config": {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 4,
                "encoder_ffn_dim": 128, "num_mel_bins": 80},
               "text_config": {"vocab_size": 500, "hidden_size": 64, "num_attention_heads": 4},
               "audio_token_index": 7, "model_type": "qwen2_audio"}"#,
        )
        .unwrap();
        assert_eq!(cfg.text_config.intermediate_size, 22_016);
        assert_eq!(cfg.text_config.num_kv_heads(), 4);
        assert_eq!(cfg.text_config.rope_theta, 10_000.0);
        assert_eq!(cfg.text_config.rms_norm_eps, 1e-6);
        assert_eq!(cfg.audio_config.max_source_positions, 1500);
        assert_eq!(cfg.audio_token_index, 7);
    }

    #[test]
    fn eos_ids_accept_one_or_many() {
        let g: GenerationConfig = serde_json::from_str(r#"{"eos_token_id": 5}"#).unwrap();
        assert_eq!(g.eos_token_id, vec![5]);
        let g: GenerationConfig = serde_json::from_str(r#"{"eos_token_id": [5, 6]}"#).unwrap();
        assert_eq!(g.eos_token_id, vec![5, 6]);
    }
}
