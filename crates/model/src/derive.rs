//! A visual model from an audio one: a Qwen2-VL-shaped checkpoint whose language model
//! (decoder, LM head, tokenizer) is a Qwen2-Audio checkpoint's, with a new, randomly
//! initialised vision tower and merger — as Qwen2-VL and Qwen2-Audio share the Qwen2 language
//! model. The procedural world's visual base is made this way from its audio base, so both
//! modalities of the distillation experiment speak the same language.
//!
//! What changes: the audio tower and projector are dropped; the tokenizer gains
//! `<|vision_start|>`, `<|vision_end|>`, `<|image_pad|>`, `<|video_pad|>` (new ids after the
//! last), and the embedding (and an untied LM head) gains their rows, drawn like new weights;
//! `config.json` is `qwen2_vl` with M-RoPE sections covering half the head size (a quarter
//! temporal, the rest split between height and width, as Qwen2-VL's `[16, 24, 24]` for 128);
//! text-only prompts keep the source's logits on the shared vocabulary (M-RoPE with equal
//! axes is the source's RoPE; tested). Vision weights: linear and patch weights ~
//! N(0, `init_std`), biases 0, norms 1.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokenizers::AddedToken;

use crate::config::Qwen2AudioConfig;
use crate::{Error, Result};

/// The vision tokens a derived tokenizer gains, in id order.
pub const VISION_TOKENS: [&str; 4] = [
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
];

/// The new vision tower's shape and the image processor's pixel limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionSpec {
    pub depth: usize,
    pub embed_dim: usize,
    pub num_heads: usize,
    #[serde(default = "two")]
    pub mlp_ratio: usize,
    /// The image processor's least and most pixels per image or frame.
    #[serde(default = "min_pixels")]
    pub min_pixels: usize,
    #[serde(default = "max_pixels")]
    pub max_pixels: usize,
    #[serde(default = "std")]
    pub init_std: f64,
    #[serde(default)]
    pub seed: u64,
}

fn two() -> usize {
    2
}
fn min_pixels() -> usize {
    56 * 56
}
fn max_pixels() -> usize {
    28 * 28 * 64
}
fn std() -> f64 {
    0.02
}

/// Qwen2-VL's chat template (images and videos as vision placeholders; no numbering).
const CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// M-RoPE sections for a head of `head_dim`: a quarter of `head_dim / 2` temporal, the rest
/// split between height and width.
pub fn mrope_sections(head_dim: usize) -> Result<[usize; 3]> {
    let half = head_dim / 2;
    let t = half / 4;
    if !head_dim.is_multiple_of(2) || !(half - t).is_multiple_of(2) || t == 0 {
        return Err(Error::Shape(format!(
            "head_dim {head_dim} cannot be split into M-RoPE sections"
        )));
    }
    Ok([t, (half - t) / 2, (half - t) / 2])
}

/// Writes the derived visual checkpoint of the Qwen2-Audio checkpoint in `from` to `out`.
/// Returns the new vocabulary size.
pub fn derive_visual(from: &Path, spec: &VisionSpec, out: &Path) -> Result<usize> {
    let files = crate::checkpoint::local(from)?;
    let audio = Qwen2AudioConfig::from_file(&files.config)?;
    let text = &audio.text_config;
    let mut tok =
        tokenizers::Tokenizer::from_file(&files.tokenizer).map_err(|e| Error::Tokenizer {
            path: files.tokenizer.clone(),
            msg: e.to_string(),
        })?;
    let before = tok.get_vocab_size(true);
    tok.add_special_tokens(
        VISION_TOKENS
            .iter()
            .map(|t| AddedToken::from(*t, true))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| Error::Tokenizer {
        path: files.tokenizer.clone(),
        msg: e.to_string(),
    })?;
    let vocab = tok.get_vocab_size(true);
    let id = |t: &str| tok.token_to_id(t).unwrap_or(u32::MAX);
    if vocab != before + VISION_TOKENS.len() || VISION_TOKENS.iter().any(|t| id(t) < before as u32)
    {
        return Err(Error::Tokenizer {
            path: files.tokenizer.clone(),
            msg: "already has vision tokens".into(),
        });
    }
    let tied = audio.tied_head();
    let mut rng = Rng::new(spec.seed);
    let mut normal = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                let u1 = 1.0 - rng.next_f64();
                let u2 = rng.next_f64();
                ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * spec.init_std)
                    as f32
            })
            .collect()
    };

    // The language model, renamed; new vocabulary rows appended.
    let mut weights: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut dtype = DType::F32;
    for f in &files.weights {
        let tensors =
            candle_core::safetensors::load(f, &Device::Cpu).map_err(|e| Error::Checkpoint {
                path: f.clone(),
                msg: e.to_string(),
            })?;
        // Sorted, so that the new vocabulary rows are drawn in the same order on every run
        // (the loader's map has no order).
        let tensors: BTreeMap<String, Tensor> = tensors.into_iter().collect();
        for (k, t) in tensors {
            let new_key = if let Some(rest) = k.strip_prefix("language_model.model.") {
                format!("model.{rest}")
            } else if k == "language_model.lm_head.weight" {
                "lm_head.weight".into()
            } else {
                continue;
            };
            dtype = t.dtype();
            let t = if new_key == "model.embed_tokens.weight" || new_key == "lm_head.weight" {
                let (rows, h) = t.dims2()?;
                let extra =
                    Tensor::from_vec(normal((vocab - rows) * h), (vocab - rows, h), &Device::Cpu)?;
                Tensor::cat(&[t.to_dtype(DType::F32)?, extra], 0)?.to_dtype(dtype)?
            } else {
                t
            };
            weights.insert(new_key, t);
        }
    }
    if !weights.contains_key("model.embed_tokens.weight") {
        return Err(Error::Checkpoint {
            path: files.dir.clone(),
            msg: "no language_model.model.embed_tokens.weight".into(),
        });
    }

    // A new vision tower and merger.
    let (e, h) = (spec.embed_dim, text.hidden_size);
    let (c, tp, p, m) = (3usize, 2usize, 14usize, 2usize);
    let mlp = e * spec.mlp_ratio;
    let wide = e * m * m;
    let mut add = |k: String, shape: &[usize], fill: f32| -> Result<()> {
        let n: usize = shape.iter().product();
        let data = if fill.is_nan() {
            normal(n)
        } else {
            vec![fill; n]
        };
        let t = Tensor::from_vec(data, shape, &Device::Cpu)?.to_dtype(dtype)?;
        weights.insert(k, t);
        Ok(())
    };
    const RANDOM: f32 = f32::NAN;
    add(
        "visual.patch_embed.proj.weight".into(),
        &[e, c, tp, p, p],
        RANDOM,
    )?;
    for i in 0..spec.depth {
        let b = format!("visual.blocks.{i}");
        for n in ["norm1", "norm2"] {
            add(format!("{b}.{n}.weight"), &[e], 1.0)?;
            add(format!("{b}.{n}.bias"), &[e], 0.0)?;
        }
        for (name, out_dim, in_dim) in [
            ("attn.qkv", 3 * e, e),
            ("attn.proj", e, e),
            ("mlp.fc1", mlp, e),
            ("mlp.fc2", e, mlp),
        ] {
            add(format!("{b}.{name}.weight"), &[out_dim, in_dim], RANDOM)?;
            add(format!("{b}.{name}.bias"), &[out_dim], 0.0)?;
        }
    }
    add("visual.merger.ln_q.weight".into(), &[e], 1.0)?;
    add("visual.merger.ln_q.bias".into(), &[e], 0.0)?;
    add("visual.merger.mlp.0.weight".into(), &[wide, wide], RANDOM)?;
    add("visual.merger.mlp.0.bias".into(), &[wide], 0.0)?;
    add("visual.merger.mlp.2.weight".into(), &[h, wide], RANDOM)?;
    add("visual.merger.mlp.2.bias".into(), &[h], 0.0)?;

    let head_dim = h / text.num_attention_heads;
    let sections = mrope_sections(head_dim)?;
    let dtype_name = match dtype {
        DType::BF16 => "bfloat16",
        DType::F16 => "float16",
        _ => "float32",
    };
    let config = json!({
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        "dtype": dtype_name,
        "image_token_id": id("<|image_pad|>"),
        "video_token_id": id("<|video_pad|>"),
        "vision_start_token_id": id("<|vision_start|>"),
        "vision_end_token_id": id("<|vision_end|>"),
        "tie_word_embeddings": tied,
        "text_config": {
            "model_type": "qwen2_vl_text",
            "vocab_size": vocab, "hidden_size": h,
            "intermediate_size": text.intermediate_size,
            "num_hidden_layers": text.num_hidden_layers,
            "num_attention_heads": text.num_attention_heads,
            "num_key_value_heads": text.num_kv_heads(),
            "hidden_act": "silu", "rms_norm_eps": text.rms_norm_eps,
            "rope_theta": text.rope_theta,
            "max_position_embeddings": text.max_position_embeddings,
            "rope_scaling": {"type": "mrope", "mrope_section": sections},
            "tie_word_embeddings": tied, "use_sliding_window": false,
            "attention_dropout": 0.0,
        },
        "vision_config": {
            "model_type": "qwen2_vl", "depth": spec.depth, "embed_dim": e,
            "hidden_size": h, "hidden_act": "quick_gelu", "mlp_ratio": spec.mlp_ratio,
            "num_heads": spec.num_heads, "in_channels": c, "patch_size": p,
            "spatial_merge_size": m, "temporal_patch_size": tp,
            "initializer_range": spec.init_std,
        },
    });
    let processor = json!({
        "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "image_processor_type": "Qwen2VLImageProcessor",
        "min_pixels": spec.min_pixels, "max_pixels": spec.max_pixels,
        "size": {"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels},
        "merge_size": m, "patch_size": p, "temporal_patch_size": tp,
        "processor_class": "Qwen2VLProcessor", "resample": 3,
        "rescale_factor": 1.0 / 255.0,
    });
    let mut video = processor.clone();
    video["video_processor_type"] = json!("Qwen2VLVideoProcessor");
    if let Some(o) = video.as_object_mut() {
        o.remove("image_processor_type");
    }
    let specials: Vec<&str> = ["<|im_start|>", "<|im_end|>"]
        .into_iter()
        .chain(VISION_TOKENS)
        .collect();
    let (parent, name) = split(out)?;
    let write_all = |tmp: &Path| -> Result<()> {
        let pretty =
            |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
        let put = |name: &str, text: String| {
            let p = tmp.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(p, e))
        };
        put("config.json", pretty(&config))?;
        put("preprocessor_config.json", pretty(&processor))?;
        put("video_preprocessor_config.json", pretty(&video))?;
        put("chat_template.jinja", CHAT_TEMPLATE.into())?;
        if let Some(g) = &files.generation_config {
            std::fs::copy(g, tmp.join("generation_config.json")).map_err(|e| Error::io(g, e))?;
        }
        tok.save(tmp.join("tokenizer.json"), true)
            .map_err(|e| Error::Tokenizer {
                path: tmp.join("tokenizer.json"),
                msg: e.to_string(),
            })?;
        put(
            "tokenizer_config.json",
            pretty(&json!({
                "bos_token": null, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "processor_class": "Qwen2VLProcessor", "tokenizer_class": "Qwen2Tokenizer",
                "clean_up_tokenization_spaces": false, "split_special_tokens": false,
                "model_max_length": text.max_position_embeddings,
                "additional_special_tokens": specials,
            })),
        )?;
        crate::checkpoint::write_safetensors(&tmp.join("model.safetensors"), &weights)
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let tmp = parent.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    write_all(&tmp)?;
    let _ = std::fs::remove_dir_all(out);
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    Ok(vocab)
}

fn split(out: &Path) -> Result<(std::path::PathBuf, String)> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::io(out, std::io::Error::other("not a directory name")))?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((parent.to_path_buf(), name.to_string()))
}
