//! Qwen2-VL (transformers 4.57 models/qwen2_vl/modeling_qwen2_vl.py): the vision tower
//! ([`crate::vision::VisionTower`]) feeding the project's one Qwen2 decoder, with the image
//! features spliced in at `<|image_pad|>` positions and multimodal RoPE (M-RoPE): text tokens
//! advance all three position axes together, a visual token's (temporal, height, width)
//! position is its place in the merged grid ([`rope_index`], the reference's
//! `get_rope_index`).
//!
//! The network itself is [`crate::model::Model`] (family `qwen2_vl`): this module holds what is
//! Qwen2-VL's own — its config, the 3-D positions, and its PEFT module paths.

use candle_core::{DType, Device};
use serde::Deserialize;

use crate::config::TextConfig;
use crate::lora::{AdapterSource, LoraWeights};
use crate::vision::VisionConfig;
use crate::{Error, Result};

/// `config.json` of a `Qwen2VLForConditionalGeneration` checkpoint, in either layout: the
/// hub's flat one (text fields at the top) or transformers 4.57's nested `text_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct Qwen2VLConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub image_token_id: u32,
    pub video_token_id: u32,
    pub vision_start_token_id: u32,
    pub vision_end_token_id: u32,
    pub tie_word_embeddings: bool,
}

#[derive(Deserialize)]
struct Ids {
    #[serde(default = "image_id")]
    image_token_id: u32,
    #[serde(default = "video_id")]
    video_token_id: u32,
    #[serde(default = "start_id")]
    vision_start_token_id: u32,
    #[serde(default = "end_id")]
    vision_end_token_id: u32,
}

// Qwen2-VL-2B/7B-Instruct's ids.
fn image_id() -> u32 {
    151_655
}
fn video_id() -> u32 {
    151_656
}
fn start_id() -> u32 {
    151_652
}
fn end_id() -> u32 {
    151_653
}

impl Qwen2VLConfig {
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        let json = |source| Error::Json {
            path: path.into(),
            source,
        };
        let text_cfg = v.get("text_config").unwrap_or(&v).clone();
        let text: TextConfig = serde_json::from_value(text_cfg).map_err(json)?;
        let vision: VisionConfig =
            serde_json::from_value(v.get("vision_config").cloned().unwrap_or_default())
                .map_err(json)?;
        let ids: Ids = serde_json::from_value(v.clone()).map_err(json)?;
        let tie = v
            .get("tie_word_embeddings")
            .and_then(|t| t.as_bool())
            .unwrap_or(text.tie_word_embeddings);
        let cfg = Self {
            text,
            vision,
            image_token_id: ids.image_token_id,
            video_token_id: ids.video_token_id,
            vision_start_token_id: ids.vision_start_token_id,
            vision_end_token_id: ids.vision_end_token_id,
            tie_word_embeddings: tie,
        };
        let sections = cfg.text.mrope_section().ok_or_else(|| Error::Config {
            path: path.into(),
            msg: "rope_scaling.mrope_section is missing (Qwen2-VL uses M-RoPE)".into(),
        })?;
        if sections.iter().sum::<usize>() * 2 != cfg.text.head_dim() {
            return Err(Error::Config {
                path: path.into(),
                msg: format!(
                    "rope_scaling.mrope_section {sections:?} does not cover head_dim {} / 2",
                    cfg.text.head_dim()
                ),
            });
        }
        Ok(cfg)
    }
}

/// Which visual input a run of placeholders stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visual {
    Image,
    Video,
}

/// The 3-D M-RoPE positions (temporal, height, width) of one sequence, as transformers'
/// `get_rope_index` computes them: text advances all three axes by one; each visual input
/// (a `<|vision_start|>` followed by its `t·(h/m)·(w/m)` placeholder tokens) takes its grid
/// coordinates offset by the position where it starts, and the text after it continues from
/// the largest position used + 1. `images` and `videos` are the inputs' `[t, h, w]` patch
/// grids in prompt order; `merge` is the vision config's `spatial_merge_size`.
pub fn rope_index(
    ids: &[u32],
    images: &[[usize; 3]],
    videos: &[[usize; 3]],
    merge: usize,
    cfg: &Qwen2VLConfig,
) -> Result<[Vec<u32>; 3]> {
    let mut kinds = Vec::new();
    for (i, &t) in ids.iter().enumerate() {
        if t == cfg.vision_start_token_id {
            match ids.get(i + 1) {
                Some(&x) if x == cfg.image_token_id => kinds.push((i + 1, Visual::Image)),
                Some(&x) if x == cfg.video_token_id => kinds.push((i + 1, Visual::Video)),
                _ => {}
            }
        }
    }
    let n_images = kinds.iter().filter(|k| k.1 == Visual::Image).count();
    if n_images != images.len() || kinds.len() - n_images != videos.len() {
        return Err(Error::Prompt(format!(
            "{n_images} image(s) and {} video(s) in the prompt, {} and {} given",
            kinds.len() - n_images,
            images.len(),
            videos.len()
        )));
    }
    let mut pos: [Vec<u32>; 3] = Default::default();
    let (mut next, mut st) = (0u32, 0usize);
    let (mut img, mut vid) = (images.iter(), videos.iter());
    for &(start, kind) in &kinds {
        let grid = match kind {
            Visual::Image => img.next(),
            Visual::Video => vid.next(),
        }
        .copied()
        .unwrap_or_default();
        let [gt, gh, gw] = [grid[0], grid[1] / merge, grid[2] / merge];
        for p in st..start {
            for axis in &mut pos {
                axis.push(next + (p - st) as u32);
            }
        }
        let base = next + (start - st) as u32;
        let n = gt * gh * gw;
        if start + n > ids.len() {
            return Err(Error::Prompt(format!(
                "a visual input at token {start} needs {n} placeholder tokens; the prompt ends first"
            )));
        }
        let mut max = base;
        for ti in 0..gt {
            for hi in 0..gh {
                for wi in 0..gw {
                    let p = [base + ti as u32, base + hi as u32, base + wi as u32];
                    for (axis, v) in pos.iter_mut().zip(p) {
                        axis.push(v);
                        max = max.max(v);
                    }
                }
            }
        }
        next = max + 1;
        st = start + n;
    }
    for p in st..ids.len() {
        for axis in &mut pos {
            axis.push(next + (p - st) as u32);
        }
    }
    Ok(pos)
}

/// Module paths of the checkpoint (`model.layers.N…`, `visual.…`, as on disk) and, second, of
/// transformers ≥ 4.52's in-memory modules (`model.language_model.layers.N…`,
/// `model.visual.…`), which PEFT adapters made with those versions use: an adapter of either
/// kind loads.
pub(crate) struct ModulePaths<'a>(pub(crate) &'a dyn AdapterSource);

pub(crate) fn in_memory_path(module: &str) -> Option<String> {
    if let Some(rest) = module.strip_prefix("model.") {
        return Some(format!("model.language_model.{rest}"));
    }
    module
        .starts_with("visual.")
        .then(|| format!("model.{module}"))
}

impl AdapterSource for ModulePaths<'_> {
    fn lora_for(
        &self,
        module: &str,
        in_dim: usize,
        out_dim: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Option<LoraWeights>> {
        if let Some(w) = self.0.lora_for(module, in_dim, out_dim, dtype, device)? {
            return Ok(Some(w));
        }
        match in_memory_path(module) {
            Some(alias) => self.0.lora_for(&alias, in_dim, out_dim, dtype, device),
            None => Ok(None),
        }
    }
}
