//! A new, randomly initialised Qwen2-Audio-shaped checkpoint in the Hugging Face layout:
//! `config.json`, `model.safetensors`, a byte-level BPE `tokenizer.json` trained on the
//! caller's texts with the Qwen special tokens, and the side files `transformers`'
//! `AutoProcessor` reads (tokenizer / processor / feature-extractor configs, chat template,
//! generation config). For small models trained from scratch (tests, the procedural world's
//! base model); a real checkpoint is loaded with [`crate::checkpoint`] instead.
//!
//! Initialisation: linear and conv weights and embeddings ~ N(0, `init_std`), biases 0,
//! norms 1 (as transformers' `Qwen2AudioPreTrainedModel._init_weights`, std 0.02), except the
//! encoder's `embed_positions`, which get Whisper's sinusoids (a better start for a model
//! trained from scratch than noise). Draws come from [`Rng`] in a fixed key order, so a seed
//! gives the same bytes on every platform.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, TokenizerBuilder};

use crate::prompt::{render_chat, Message, Part, Role};
use crate::{Error, Result};

/// The Qwen special tokens, in the order (and so the ids, after the BPE vocabulary) the
/// reference tokenizer has them.
pub const SPECIAL_TOKENS: [&str; 6] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
];

/// Qwen2's pre-tokenizer split (letters with an optional leading non-letter, single digits,
/// punctuation runs, newlines, spaces).
const QWEN_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The shape of a new model. Field names follow `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitSpec {
    pub audio: AudioSpec,
    pub text: TextSpec,
    /// BPE vocabulary size before the 6 special tokens.
    pub bpe_vocab: usize,
    #[serde(default = "default_std")]
    pub init_std: f64,
    #[serde(default)]
    pub seed: u64,
    /// How the weights are stored (training upcasts them to f32 trainable copies; a full
    /// finetuning run's merged export keeps this dtype).
    #[serde(default)]
    pub dtype: crate::device::DTypeSpec,
}

fn default_std() -> f64 {
    0.02
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioSpec {
    pub num_mel_bins: usize,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Pad the vocabulary (embedding and head rows) to this size, as real checkpoints are
    /// (Qwen2-Audio-7B: 156,032 rows, more than its tokenizer has); the tokenizer's size when
    /// absent or smaller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<usize>,
}

fn yes() -> bool {
    true
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> usize {
    8192
}

/// Trains a byte-level BPE of `bpe_vocab` tokens on `texts` (plus the chat template's own
/// words) and appends the Qwen special tokens. Same texts, same tokenizer.
pub fn train_tokenizer(texts: &[String], bpe_vocab: usize) -> Result<tokenizers::Tokenizer> {
    let err = |msg: String| Error::Tokenizer {
        path: "<new tokenizer>".into(),
        msg,
    };
    let split = Split::new(
        SplitPattern::Regex(QWEN_SPLIT.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| err(e.to_string()))?;
    let pre = PreSequence::new(vec![
        PreTokenizerWrapper::Split(split),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
    ]);
    let mut tok = TokenizerBuilder::new()
        .with_model(BPE::default())
        .with_normalizer(Some(NFC))
        .with_pre_tokenizer(Some(pre))
        .with_post_processor(Some(ByteLevel::new(false, false, false)))
        .with_decoder(Some(ByteLevel::default()))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(bpe_vocab)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    // The template's own text, so that every prompt tokenises compactly.
    let template = render_chat(
        &[Message {
            role: Role::User,
            parts: vec![Part::Audio, Part::Audio, Part::Text(String::new())],
        }],
        true,
    ) + "assistant user system";
    let corpus = texts.iter().map(String::as_str).chain([template.as_str()]);
    let mut tok: tokenizers::Tokenizer = {
        tok.train(&mut trainer, corpus)
            .map_err(|e| err(e.to_string()))?;
        tok.into()
    };
    let specials: Vec<AddedToken> = SPECIAL_TOKENS
        .iter()
        .map(|s| AddedToken::from(*s, true))
        .collect();
    tok.add_special_tokens(specials)
        .map_err(|e| err(e.to_string()))?;
    Ok(tok)
}

/// The `config.json` of a spec with a vocabulary of `vocab_size` and `audio_token_index`.
pub fn config_json(
    spec: &InitSpec,
    vocab_size: usize,
    audio_token_index: u32,
) -> serde_json::Value {
    let (a, t) = (&spec.audio, &spec.text);
    json!({
        "architectures": ["Qwen2AudioForConditionalGeneration"],
        "model_type": "qwen2_audio",
        "audio_token_index": audio_token_index,
        "dtype": match spec.dtype {
            crate::device::DTypeSpec::F32 => "float32",
            crate::device::DTypeSpec::Bf16 => "bfloat16",
            crate::device::DTypeSpec::F16 => "float16",
        },
        "audio_config": {
            "model_type": "qwen2_audio_encoder",
            "num_mel_bins": a.num_mel_bins, "d_model": a.d_model,
            "encoder_layers": a.encoder_layers, "num_hidden_layers": a.encoder_layers,
            "encoder_attention_heads": a.encoder_attention_heads,
            "encoder_ffn_dim": a.encoder_ffn_dim, "max_source_positions": 1500,
            "activation_function": "gelu", "scale_embedding": false,
            "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
            "encoder_layerdrop": 0.0, "initializer_range": spec.init_std,
        },
        "text_config": {
            "model_type": "qwen2",
            "vocab_size": vocab_size, "hidden_size": t.hidden_size,
            "intermediate_size": t.intermediate_size,
            "num_hidden_layers": t.num_hidden_layers,
            "num_attention_heads": t.num_attention_heads,
            "num_key_value_heads": t.num_key_value_heads,
            "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": t.rope_theta,
            "max_position_embeddings": t.max_position_embeddings,
            "tie_word_embeddings": t.tie_word_embeddings, "initializer_range": spec.init_std,
            "use_sliding_window": false,
        },
        "tie_word_embeddings": t.tie_word_embeddings,
    })
}

/// Whisper's sinusoidal positions [length, channels] (`whisper.model.sinusoids`).
pub fn sinusoids(length: usize, channels: usize) -> Vec<f32> {
    let half = channels / 2;
    let step = (10_000f64).ln() / (half.max(2) - 1) as f64;
    let mut out = vec![0f32; length * channels];
    for p in 0..length {
        for i in 0..half {
            let angle = p as f64 * (-step * i as f64).exp();
            out[p * channels + i] = angle.sin() as f32;
            out[p * channels + half + i] = angle.cos() as f32;
        }
    }
    out
}

/// Every weight of a new model, by checkpoint key, in f32 on the CPU.
pub fn init_weights(spec: &InitSpec, vocab_size: usize) -> Result<BTreeMap<String, Tensor>> {
    let (a, t) = (&spec.audio, &spec.text);
    let mut shapes: Vec<(String, Vec<usize>, Fill)> = Vec::new();
    let mut add = |k: String, s: &[usize], f: Fill| shapes.push((k, s.to_vec(), f));
    let d = a.d_model;
    let at = "audio_tower";
    add(
        format!("{at}.conv1.weight"),
        &[d, a.num_mel_bins, 3],
        Fill::Normal,
    );
    add(format!("{at}.conv1.bias"), &[d], Fill::Zero);
    add(format!("{at}.conv2.weight"), &[d, d, 3], Fill::Normal);
    add(format!("{at}.conv2.bias"), &[d], Fill::Zero);
    add(
        format!("{at}.embed_positions.weight"),
        &[1500, d],
        Fill::Sinusoids,
    );
    for i in 0..a.encoder_layers {
        let p = format!("{at}.layers.{i}");
        for (m, bias) in [
            ("q_proj", true),
            ("k_proj", false),
            ("v_proj", true),
            ("out_proj", true),
        ] {
            add(format!("{p}.self_attn.{m}.weight"), &[d, d], Fill::Normal);
            if bias {
                add(format!("{p}.self_attn.{m}.bias"), &[d], Fill::Zero);
            }
        }
        for n in ["self_attn_layer_norm", "final_layer_norm"] {
            add(format!("{p}.{n}.weight"), &[d], Fill::One);
            add(format!("{p}.{n}.bias"), &[d], Fill::Zero);
        }
        add(
            format!("{p}.fc1.weight"),
            &[a.encoder_ffn_dim, d],
            Fill::Normal,
        );
        add(format!("{p}.fc1.bias"), &[a.encoder_ffn_dim], Fill::Zero);
        add(
            format!("{p}.fc2.weight"),
            &[d, a.encoder_ffn_dim],
            Fill::Normal,
        );
        add(format!("{p}.fc2.bias"), &[d], Fill::Zero);
    }
    add(format!("{at}.layer_norm.weight"), &[d], Fill::One);
    add(format!("{at}.layer_norm.bias"), &[d], Fill::Zero);
    let h = t.hidden_size;
    add(
        "multi_modal_projector.linear.weight".into(),
        &[h, d],
        Fill::Normal,
    );
    add("multi_modal_projector.linear.bias".into(), &[h], Fill::Zero);
    let lm = "language_model.model";
    add(
        format!("{lm}.embed_tokens.weight"),
        &[vocab_size, h],
        Fill::Normal,
    );
    let kv = t.num_key_value_heads * (h / t.num_attention_heads);
    for i in 0..t.num_hidden_layers {
        let p = format!("{lm}.layers.{i}");
        for (m, out) in [("q_proj", h), ("k_proj", kv), ("v_proj", kv)] {
            add(format!("{p}.self_attn.{m}.weight"), &[out, h], Fill::Normal);
            add(format!("{p}.self_attn.{m}.bias"), &[out], Fill::Zero);
        }
        add(
            format!("{p}.self_attn.o_proj.weight"),
            &[h, h],
            Fill::Normal,
        );
        let ff = t.intermediate_size;
        add(format!("{p}.mlp.gate_proj.weight"), &[ff, h], Fill::Normal);
        add(format!("{p}.mlp.up_proj.weight"), &[ff, h], Fill::Normal);
        add(format!("{p}.mlp.down_proj.weight"), &[h, ff], Fill::Normal);
        add(format!("{p}.input_layernorm.weight"), &[h], Fill::One);
        add(
            format!("{p}.post_attention_layernorm.weight"),
            &[h],
            Fill::One,
        );
    }
    add(format!("{lm}.norm.weight"), &[h], Fill::One);
    if !t.tie_word_embeddings {
        add(
            "language_model.lm_head.weight".into(),
            &[vocab_size, h],
            Fill::Normal,
        );
    }

    let mut rng = Rng::new(spec.seed);
    let mut out = BTreeMap::new();
    for (key, shape, fill) in shapes {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match fill {
            Fill::Zero => vec![0.0; n],
            Fill::One => vec![1.0; n],
            Fill::Sinusoids => sinusoids(shape[0], shape[1]),
            Fill::Normal => (0..n)
                .map(|_| (normal(&mut rng) * spec.init_std) as f32)
                .collect(),
        };
        out.insert(key, Tensor::from_vec(data, shape, &Device::Cpu)?);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Fill {
    Zero,
    One,
    Normal,
    Sinusoids,
}

/// A standard normal draw (Box–Muller on two uniforms).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Writes a complete checkpoint directory for `spec`, its tokenizer trained on `texts`.
/// Returns the vocabulary size (BPE tokens + specials).
pub fn write_new_checkpoint(spec: &InitSpec, texts: &[String], dir: &Path) -> Result<usize> {
    write_checkpoint_files(spec, texts, dir, true)
}

/// [`write_new_checkpoint`], with the weights written (`weights`) or left out: a directory
/// without `model.safetensors` is for runs whose weights are drawn on the device at load
/// ([`random_var_builder`], the trainer's `model.weights = "random"`), such as a benchmark of
/// a 7B-shaped model that nobody wants to write to disk.
pub fn write_checkpoint_files(
    spec: &InitSpec,
    texts: &[String],
    dir: &Path,
    weights: bool,
) -> Result<usize> {
    let tok = train_tokenizer(texts, spec.bpe_vocab)?;
    let vocab = tok
        .get_vocab_size(true)
        .max(spec.text.vocab_size.unwrap_or(0));
    let id = |s: &str| {
        tok.token_to_id(s).ok_or_else(|| Error::Tokenizer {
            path: dir.join("tokenizer.json"),
            msg: format!("has no {s}"),
        })
    };
    let (eot, im_end, audio) = (id("<|endoftext|>")?, id("<|im_end|>")?, id("<|AUDIO|>")?);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| Error::io(p, e))
    };
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    tok.save(dir.join("tokenizer.json"), true)
        .map_err(|e| Error::Tokenizer {
            path: dir.join("tokenizer.json"),
            msg: e.to_string(),
        })?;
    write("config.json", pretty(config_json(spec, vocab, audio)))?;
    write(
        "generation_config.json",
        pretty(json!({"bos_token_id": eot, "eos_token_id": [im_end, eot], "pad_token_id": eot})),
    )?;
    write("chat_template.jinja", CHAT_TEMPLATE.into())?;
    let added: serde_json::Map<String, serde_json::Value> = SPECIAL_TOKENS
        .iter()
        .map(|s| {
            let content = json!({"content": s, "lstrip": false, "normalized": false,
                "rstrip": false, "single_word": false, "special": true});
            (id(s).map(|i| i.to_string()).unwrap_or_default(), content)
        })
        .collect();
    let extra: Vec<&str> = SPECIAL_TOKENS[1..].to_vec();
    write(
        "tokenizer_config.json",
        pretty(json!({
            "added_tokens_decoder": added, "additional_special_tokens": extra,
            "bos_token": null, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
            "clean_up_tokenization_spaces": false, "errors": "replace",
            "model_max_length": spec.text.max_position_embeddings,
            "processor_class": "Qwen2AudioProcessor", "split_special_tokens": false,
            "tokenizer_class": "Qwen2Tokenizer", "unk_token": null,
        })),
    )?;
    write(
        "special_tokens_map.json",
        pretty(
            json!({"additional_special_tokens": extra, "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>"}),
        ),
    )?;
    write(
        "processor_config.json",
        pretty(
            json!({"audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>",
            "audio_token": "<|AUDIO|>", "processor_class": "Qwen2AudioProcessor"}),
        ),
    )?;
    write(
        "preprocessor_config.json",
        pretty(json!({
            "chunk_length": 30, "dither": 0.0, "feature_extractor_type": "WhisperFeatureExtractor",
            "feature_size": spec.audio.num_mel_bins, "hop_length": 160, "n_fft": 400,
            "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right",
            "padding_value": 0.0, "processor_class": "Qwen2AudioProcessor",
            "return_attention_mask": false, "sampling_rate": 16000,
        })),
    )?;
    if weights {
        let dtype: candle_core::DType = spec.dtype.into();
        let weights = init_weights(spec, vocab)?
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_dtype(dtype)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        crate::checkpoint::write_safetensors(&dir.join("model.safetensors"), &weights)?;
    }
    Ok(vocab)
}

/// Weights drawn where they are asked for, on the device: every tensor a model's loader
/// requests is N(0, `std`) (matrices, convolutions, embeddings), zero (`….bias`) or one (other
/// vectors: the norms' scales), made directly on the requested device in the requested dtype.
/// No file is read, so a 7B-shaped model costs no disk and loads in seconds; the values come
/// from the device's generator (seeded with [`Device::set_seed`] where the backend allows), so
/// they are for measuring speed and memory, not for results.
struct RandomWeights {
    std: f64,
}

impl candle_nn::var_builder::SimpleBackend for RandomWeights {
    fn get(
        &self,
        s: candle_core::Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: candle_core::DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        if name.ends_with("bias") {
            Tensor::zeros(s, dtype, dev)
        } else if s.rank() == 1 {
            Tensor::ones(s, dtype, dev)
        } else {
            Tensor::randn(0f32, self.std as f32, s, dev)?.to_dtype(dtype)
        }
    }

    fn get_unchecked(
        &self,
        name: &str,
        _: candle_core::DType,
        _: &Device,
    ) -> candle_core::Result<Tensor> {
        candle_core::bail!("random weights need the shape of `{name}`")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// A `VarBuilder` whose every tensor is drawn on `device` ([`RandomWeights`]): N(0, `std`)
/// matrices, zero biases, unit norm scales. `seed` seeds the device's generator where the
/// backend supports it (CUDA); the CPU's is not seedable this way.
pub fn random_var_builder(
    std: f64,
    seed: u64,
    dtype: candle_core::DType,
    device: &Device,
) -> candle_nn::VarBuilder<'static> {
    // The CPU backend refuses `set_seed`; its draws are unseeded (benchmarks only).
    let _ = device.set_seed(seed);
    candle_nn::VarBuilder::from_backend(Box::new(RandomWeights { std }), dtype, device.clone())
}

/// Qwen2-Audio-Instruct's chat template (the format `transformers`' processor applies; our
/// [`render_chat`] renders the same text).
const CHAT_TEMPLATE: &str = "{% set audio_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if 'audio' in content or 'audio_url' in content or message['type'] == 'audio' or content['type'] == 'audio' %}{% set audio_count.value = audio_count.value + 1 %}Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
