//! Qwen2-VL (transformers 4.57 models/qwen2_vl/modeling_qwen2_vl.py): the vision tower
//! ([`crate::vision::VisionTower`]) feeding the project's one Qwen2 [`Decoder`], with the image
//! features spliced in at `<|image_pad|>` positions and multimodal RoPE (M-RoPE): text tokens
//! advance all three position axes together, a visual token's (temporal, height, width)
//! position is its place in the merged grid ([`rope_index`], the reference's
//! `get_rope_index`).
//!
//! Generation goes through `generate::generate` ([`Generative`]): the prefill here, every
//! later step the decoder's. Not yet here (see the vision issue): videos, prompts from samples
//! (`processor`), and the trainer/eval integration.

use candle_core::{DType, Device, IndexOp, Tensor};
use serde::Deserialize;

use crate::checkpoint::ModelFiles;
use crate::config::{GenerationConfig, TextConfig};
use crate::decoder::{causal_mask, Decoder, KvCache};
use crate::generate::{Generative, Prefilled};
use crate::lora::{AdapterSource, LoraWeights};
use crate::model::splice;
use crate::prompt::{expand, Media};
use crate::tokenizer::Tokenizer;
use crate::vision::{checkpoint_prefix, VisionConfig, VisionTower};
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
struct ModulePaths<'a>(&'a dyn AdapterSource);

fn in_memory_path(module: &str) -> Option<String> {
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

/// The Qwen2-VL network: vision tower + the one decoder, its tokenizer and generation config.
pub struct Qwen2VLModel {
    pub config: Qwen2VLConfig,
    pub generation: GenerationConfig,
    pub tokenizer: Tokenizer,
    pub visual: VisionTower,
    pub decoder: Decoder,
    device: Device,
}

impl Qwen2VLModel {
    /// A local directory or hub id, and optionally a PEFT adapter directory (every tensor of
    /// the adapter must be used).
    pub fn from_source(
        source: &str,
        device: &Device,
        dtype: DType,
        adapter: Option<&std::path::Path>,
    ) -> Result<Self> {
        let files = crate::checkpoint::resolve(source)?;
        crate::lora::with_peft(adapter, |ad| Self::load(&files, device, dtype, ad))
    }

    /// Loads a checkpoint (memory-mapped safetensors, cast to `dtype`) with optional adapters.
    pub fn load(
        files: &ModelFiles,
        device: &Device,
        dtype: DType,
        adapters: &dyn AdapterSource,
    ) -> Result<Self> {
        let adapters = &ModulePaths(adapters);
        let vb = files.var_builder(dtype, device)?;
        let config = Qwen2VLConfig::from_file(&files.config)?;
        let tokenizer = Tokenizer::from_file(&files.tokenizer)?;
        let generation = match &files.generation_config {
            Some(p) => GenerationConfig::from_file_or_default(p)?,
            None => GenerationConfig::default(),
        };
        for (tok, id) in [
            ("<|image_pad|>", config.image_token_id),
            ("<|video_pad|>", config.video_token_id),
            ("<|vision_start|>", config.vision_start_token_id),
        ] {
            if tokenizer.token_to_id(tok) != Some(id) {
                return Err(Error::Config {
                    path: files.config.clone(),
                    msg: format!("the tokenizer's {tok} is not the config's id {id}"),
                });
            }
        }
        let ctx = |e| files.checkpoint_error(e);
        let prefix = checkpoint_prefix(&vb).ok_or_else(|| Error::Checkpoint {
            path: files.dir.clone(),
            msg: "no vision tower (visual.patch_embed.proj.weight)".into(),
        })?;
        let visual = VisionTower::load(&config.vision, vb.pp(prefix), adapters).map_err(ctx)?;
        let decoder =
            Decoder::load(&config.text, config.tie_word_embeddings, vb, adapters).map_err(ctx)?;
        Ok(Self {
            config,
            generation,
            tokenizer,
            visual,
            decoder,
            device: device.clone(),
        })
    }

    /// The ids of a chat-templated prompt (`model::prompt::render_chat` with `Part::Image`s)
    /// whose images have the patch grids `images`, in order: each `<|image_pad|>` expanded to
    /// the image's `t·h·w / merge²` tokens. A count mismatch is an error.
    pub fn prompt_ids(&self, templated: &str, images: &[[usize; 3]]) -> Result<Vec<u32>> {
        let ids = self.tokenizer.encode(templated)?;
        let counts: Vec<usize> = images
            .iter()
            .map(|&g| self.config.vision.tokens(g))
            .collect();
        expand(&ids, self.config.image_token_id, &Media::IMAGE, &counts)
    }

    /// Final hidden states [B, T, H] of the left-padded `prompts` (each with its images),
    /// their validity, and each row's next position (one past the largest M-RoPE position it
    /// used); fills `cache` if given.
    pub fn forward_hidden(
        &self,
        prompts: &[VisualPrompt],
        cache: Option<&mut KvCache>,
    ) -> Result<(Tensor, Vec<Vec<bool>>, Vec<u32>)> {
        let t = prompts.iter().map(|p| p.ids.len()).max().unwrap_or(0);
        let b = prompts.len();
        let pad = self.tokenizer.special.endoftext;
        let merge = self.config.vision.spatial_merge_size;
        let (mut ids, mut axes) = (Vec::with_capacity(b * t), [vec![], vec![], vec![]]);
        let (mut valid, mut next_pos, mut features) = (Vec::new(), Vec::new(), Vec::new());
        for p in prompts {
            let n_pad = t - p.ids.len();
            let pos = rope_index(&p.ids, &p.grids, &[], merge, &self.config)?;
            ids.extend(std::iter::repeat_n(pad, n_pad).chain(p.ids.iter().copied()));
            for (axis, row) in axes.iter_mut().zip(&pos) {
                // The reference gives padded positions 1; they are masked out anyway.
                axis.extend(std::iter::repeat_n(1, n_pad).chain(row.iter().copied()));
            }
            next_pos.push(pos.iter().flatten().copied().max().map_or(0, |m| m + 1));
            valid.push(
                std::iter::repeat_n(false, n_pad)
                    .chain(std::iter::repeat_n(true, p.ids.len()))
                    .collect(),
            );
            if let Some(px) = &p.pixel_values {
                features.push(self.visual.forward(px, &p.grids)?);
            }
        }
        let ids = Tensor::from_vec(ids, (b, t), &self.device)?;
        let embeds = splice(
            &self.decoder,
            &ids,
            self.config.image_token_id,
            ("<|image_pad|>", "image"),
            &features,
        )?;
        let positions = Tensor::from_vec(axes.concat(), (3, b, t), &self.device)?;
        let mask = causal_mask(&valid, 0, t, &self.device)?;
        let hidden = self
            .decoder
            .forward(&embeds, &positions, Some(&mask), cache)?;
        Ok((hidden, valid, next_pos))
    }

    /// Logits at every position [T, V] (f32) of one prompt whose images are `pixel_values`
    /// (the preprocessor's rows, every image's in prompt order) with patch grids `grids`.
    pub fn prompt_logits(
        &self,
        ids: &[u32],
        pixel_values: Option<&Tensor>,
        grids: &[[usize; 3]],
    ) -> Result<Tensor> {
        let prompt = VisualPrompt {
            ids: ids.to_vec(),
            pixel_values: pixel_values.cloned(),
            grids: grids.to_vec(),
        };
        let (hidden, _, _) = self.forward_hidden(std::slice::from_ref(&prompt), None)?;
        self.decoder.logits(&hidden.squeeze(0)?)
    }

    /// End-of-sequence ids: `generation_config.json`'s, else `<|im_end|>` and `<|endoftext|>`.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.generation.eos_or(&self.tokenizer.special)
    }
}

/// One prompt for [`Qwen2VLModel`]: ids with every `<|image_pad|>` expanded
/// ([`Qwen2VLModel::prompt_ids`]), its images' patch rows in prompt order and their grids.
#[derive(Debug, Clone)]
pub struct VisualPrompt {
    pub ids: Vec<u32>,
    pub pixel_values: Option<Tensor>,
    pub grids: Vec<[usize; 3]>,
}

impl Generative for Qwen2VLModel {
    type Prompt = VisualPrompt;
    fn decoder(&self) -> &Decoder {
        &self.decoder
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn eos_ids(&self) -> Vec<u32> {
        Qwen2VLModel::eos_ids(self)
    }
    fn prefill(&self, prompts: &[VisualPrompt], cache: &mut KvCache) -> Result<Prefilled> {
        let (hidden, valid, next_pos) = self.forward_hidden(prompts, Some(cache))?;
        let t = hidden.dim(1)?;
        Ok(Prefilled {
            logits: self.decoder.logits(&hidden.i((.., t - 1, ..))?)?,
            valid,
            next_pos,
        })
    }
    fn prompt_len(prompt: &VisualPrompt) -> usize {
        prompt.ids.len()
    }
}
