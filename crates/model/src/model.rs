//! The one network of the Qwen2 multimodal family: a tokenizer, the one Qwen2 [`Decoder`], and
//! the towers the checkpoint has — the Whisper-style audio encoder + projector of Qwen2-Audio
//! (`Qwen2AudioForConditionalGeneration`), the vision tower + merger of Qwen2-VL
//! (`Qwen2VLForConditionalGeneration`). Each modality's features are spliced into the token
//! embeddings at its placeholder (`<|AUDIO|>`, `<|image_pad|>`, `<|video_pad|>`), row-major as
//! the reference's `masked_scatter` does; positions are 1-D for Qwen2-Audio and 3-D M-RoPE for
//! Qwen2-VL ([`crate::qwen2_vl::rope_index`]).
//!
//! ```text
//! mel ──▶ AudioEncoder ──▶ projector ──┐
//! patches ──▶ VisionTower (+ merger) ──┼──▶ splice into embeddings ──▶ Decoder ──▶ logits
//! ids ──▶ embed_tokens ────────────────┘
//! ```
//!
//! A prompt with an input whose tower the model lacks is a clear error.

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;

use crate::checkpoint::ModelFiles;
use crate::config::{AudioEncoderConfig, GenerationConfig, Qwen2AudioConfig, TextConfig};
use crate::decoder::{causal_mask, Decoder, KvCache};
use crate::encoder::{output_lengths, AudioEncoder};
use crate::generate::{Generative, Prefilled};
use crate::lora::AdapterSource;
use crate::nn::Linear;
use crate::prompt::{expand, render_chat, Media, Message};
use crate::qwen2_vl::{rope_index, ModulePaths, Qwen2VLConfig};
use crate::tokenizer::Tokenizer;
use crate::vision::{checkpoint_prefix, VisionTower};
use crate::{Error, Result};

/// One clip, ready for the encoder.
pub type AudioInput = audio::ModelFeatures;

/// Images (or videos) ready for the vision tower: their patch rows and one `[t, h, w]` grid
/// each, in order (usually one per input; several as one preprocessor call gives them).
pub type VisualInput = vision::PixelValues;

/// Which architecture a checkpoint is (`config.json`'s `model_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `qwen2_audio`: audio encoder + projector + Qwen2 decoder.
    Qwen2Audio,
    /// `qwen2_vl`: vision tower (with its merger) + Qwen2 decoder with M-RoPE.
    Qwen2VL,
}

impl Family {
    /// Reads `model_type` from `config.json`; a config without one is Qwen2-Audio when it has
    /// an `audio_config`, Qwen2-VL when it has a `vision_config`.
    pub fn of_config(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        match v.get("model_type").and_then(|t| t.as_str()) {
            Some("qwen2_audio") => Ok(Self::Qwen2Audio),
            Some("qwen2_vl") => Ok(Self::Qwen2VL),
            Some(other) => Err(Error::Config {
                path: path.into(),
                msg: format!("model_type {other:?} is not supported (qwen2_audio, qwen2_vl)"),
            }),
            None if v.get("audio_config").is_some() => Ok(Self::Qwen2Audio),
            None if v.get("vision_config").is_some() => Ok(Self::Qwen2VL),
            None => Err(Error::Config {
                path: path.into(),
                msg: "no model_type, audio_config or vision_config: not a Qwen2-Audio or \
                      Qwen2-VL checkpoint"
                    .into(),
            }),
        }
    }

    /// `config.json`'s `model_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Qwen2Audio => "qwen2_audio",
            Self::Qwen2VL => "qwen2_vl",
        }
    }

    /// Whether a checkpoint key or module path belongs to the language model (decoder and LM
    /// head).
    pub fn in_llm(self, key: &str) -> bool {
        match self {
            Self::Qwen2Audio => key.starts_with("language_model."),
            Self::Qwen2VL => {
                (key.starts_with("model.") && !key.starts_with("model.visual."))
                    || key.starts_with("lm_head")
            }
        }
    }

    /// Whether a key belongs to the modality encoder: the audio tower, or the vision tower
    /// without its merger.
    pub fn in_encoder(self, key: &str) -> bool {
        match self {
            Self::Qwen2Audio => key.starts_with("audio_tower."),
            Self::Qwen2VL => visual_rest(key).is_some_and(|r| !r.starts_with("merger.")),
        }
    }

    /// Whether a key belongs to the projector into the LLM's width: Qwen2-Audio's
    /// `multi_modal_projector`, Qwen2-VL's patch merger.
    pub fn in_projector(self, key: &str) -> bool {
        match self {
            Self::Qwen2Audio => key.starts_with("multi_modal_projector."),
            Self::Qwen2VL => visual_rest(key).is_some_and(|r| r.starts_with("merger.")),
        }
    }

    /// The module path PEFT uses for a checkpoint module path on the pinned transformers
    /// (4.57): unchanged for Qwen2-Audio; `model.X` → `model.language_model.X` and `visual.X`
    /// → `model.visual.X` for Qwen2-VL.
    pub fn peft_module(self, module: &str) -> String {
        match self {
            Self::Qwen2Audio => module.to_string(),
            Self::Qwen2VL => crate::qwen2_vl::in_memory_path(module).unwrap_or(module.into()),
        }
    }
}

/// The rest of a vision-tower key after its prefix (`visual.` on the hub, `model.visual.` in
/// transformers' in-memory layout).
fn visual_rest(key: &str) -> Option<&str> {
    key.strip_prefix("visual.")
        .or_else(|| key.strip_prefix("model.visual."))
}

/// Qwen2-Audio's audio side.
pub struct AudioTower {
    pub config: AudioEncoderConfig,
    /// `<|AUDIO|>`'s id.
    pub token_id: u32,
    pub encoder: AudioEncoder,
    pub projector: Linear,
}

/// Qwen2-VL's visual side: the tower (with its merger), the token ids, and the image and
/// video preprocessors (`preprocessor_config.json`, `video_preprocessor_config.json`).
pub struct VisualTower {
    pub config: Qwen2VLConfig,
    pub tower: VisionTower,
    pub images: vision::ImageProcessor,
    pub videos: vision::VideoProcessor,
}

/// The media of one prompt, each kind in prompt order.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub audio: Vec<AudioInput>,
    pub images: Vec<VisualInput>,
    pub videos: Vec<VisualInput>,
}

impl Inputs {
    pub fn images(images: Vec<VisualInput>) -> Self {
        Self {
            images,
            ..Self::default()
        }
    }
}

/// Clips alone (an audio prompt).
impl From<Vec<AudioInput>> for Inputs {
    fn from(audio: Vec<AudioInput>) -> Self {
        Self {
            audio,
            ..Self::default()
        }
    }
}

/// One prompt: token ids with every placeholder expanded, and its media.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub inputs: Inputs,
}

/// Several prompts, left-padded to one length.
#[derive(Debug, Clone)]
pub struct Batch {
    /// [B, T] u32
    pub ids: Tensor,
    /// valid[b][t]: false at left padding.
    pub valid: Vec<Vec<bool>>,
    /// [B, T] u32 (1-D positions), or [3, B, T] (M-RoPE: temporal, height, width); left
    /// padding gets 1, as in the reference (it is masked out).
    pub positions: Tensor,
    /// Per row, one past the largest position used (the first generated token's position).
    pub next_pos: Vec<u32>,
    /// Projected features of every clip, rows first: each [tokens, hidden].
    pub audio: Vec<Tensor>,
    /// The vision tower's output for every image of the batch, rows first: [tokens, hidden].
    pub images: Option<Tensor>,
    /// The same for videos.
    pub videos: Option<Tensor>,
}

/// The network, its tokenizer and generation config.
pub struct Model {
    pub family: Family,
    pub generation: GenerationConfig,
    pub tokenizer: Tokenizer,
    pub audio: Option<AudioTower>,
    pub visual: Option<VisualTower>,
    pub decoder: Decoder,
    device: Device,
    dtype: DType,
}

impl Model {
    /// Loads a checkpoint (memory-mapped safetensors, cast to `dtype`) with optional adapters
    /// asked for by checkpoint module path.
    pub fn load(
        files: &ModelFiles,
        device: &Device,
        dtype: DType,
        adapters: &dyn AdapterSource,
    ) -> Result<Self> {
        let vb = files.var_builder(dtype, device)?;
        Self::build(files, vb, adapters)
    }

    /// Builds the network from `vb` (the checkpoint's key layout). A trainer passes a
    /// `VarBuilder` over `Var`s for full finetuning; inference passes the memory map.
    pub fn build(files: &ModelFiles, vb: VarBuilder, adapters: &dyn AdapterSource) -> Result<Self> {
        let family = Family::of_config(&files.config)?;
        let generation = match &files.generation_config {
            Some(p) => GenerationConfig::from_file_or_default(p)?,
            None => GenerationConfig::default(),
        };
        let tokenizer = Tokenizer::from_file(&files.tokenizer)?;
        let (device, dtype) = (vb.device().clone(), vb.dtype());
        let ctx = |e| files.checkpoint_error(e);
        let (audio, visual, decoder) = match family {
            Family::Qwen2Audio => {
                let config = Qwen2AudioConfig::from_file(&files.config)?;
                check_token(files, &tokenizer, "<|AUDIO|>", config.audio_token_index)?;
                let encoder =
                    AudioEncoder::load(&config.audio_config, vb.pp("audio_tower"), adapters)
                        .map_err(ctx)?;
                let projector = Linear::load(
                    config.audio_config.d_model,
                    config.text_config.hidden_size,
                    true,
                    vb.pp("multi_modal_projector").pp("linear"),
                    adapters,
                )
                .map_err(ctx)?;
                let decoder = Decoder::load(
                    &config.text_config,
                    config.tied_head(),
                    vb.pp("language_model"),
                    adapters,
                )
                .map_err(ctx)?;
                let tower = AudioTower {
                    config: config.audio_config.clone(),
                    token_id: config.audio_token_index,
                    encoder,
                    projector,
                };
                (Some(tower), None, decoder)
            }
            Family::Qwen2VL => {
                let config = Qwen2VLConfig::from_file(&files.config)?;
                for (tok, id) in [
                    ("<|image_pad|>", config.image_token_id),
                    ("<|video_pad|>", config.video_token_id),
                    ("<|vision_start|>", config.vision_start_token_id),
                ] {
                    check_token(files, &tokenizer, tok, id)?;
                }
                let prefix = checkpoint_prefix(&vb).ok_or_else(|| Error::Checkpoint {
                    path: files.dir.clone(),
                    msg: "no vision tower (visual.patch_embed.proj.weight)".into(),
                })?;
                let tower =
                    VisionTower::load(&config.vision, vb.pp(prefix), adapters).map_err(ctx)?;
                let decoder = Decoder::load(&config.text, config.tie_word_embeddings, vb, adapters)
                    .map_err(ctx)?;
                // The checkpoint's settings; the reference's class defaults without the file.
                let images = match files.dir.join("preprocessor_config.json").is_file() {
                    true => vision::ImageProcessor::from_model_dir(&files.dir)?,
                    false => vision::ImageProcessor::default(),
                };
                let videos = vision::VideoProcessor::from_model_dir(&files.dir)?;
                let visual = VisualTower {
                    config,
                    tower,
                    images,
                    videos,
                };
                (None, Some(visual), decoder)
            }
        };
        Ok(Self {
            family,
            generation,
            tokenizer,
            audio,
            visual,
            decoder,
            device,
            dtype,
        })
    }

    /// A local directory or hub id, and optionally a PEFT adapter directory (every tensor of
    /// the adapter must be used). Qwen2-VL adapters may name modules by the checkpoint's
    /// paths or by transformers ≥ 4.52's in-memory ones.
    pub fn from_source(
        source: &str,
        device: &Device,
        dtype: DType,
        adapter: Option<&Path>,
    ) -> Result<Self> {
        let files = crate::checkpoint::resolve(source)?;
        let family = Family::of_config(&files.config)?;
        crate::lora::with_peft(adapter, |ad| match family {
            Family::Qwen2Audio => Self::load(&files, device, dtype, ad),
            Family::Qwen2VL => Self::load(&files, device, dtype, &ModulePaths(ad)),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// The decoder's configuration.
    pub fn text_config(&self) -> &TextConfig {
        self.decoder.config()
    }

    /// Activation checkpointing for training: every decoder layer and vision block with trained
    /// tensors keeps only its output and is recomputed in the backward pass (the gradients are
    /// the same). The returned store collects their gradients of `trainable` (the trainer's
    /// `Var` ids): merge it after every `backward()`.
    pub fn enable_checkpointing(
        &mut self,
        trainable: impl IntoIterator<Item = candle_core::TensorId>,
    ) -> std::sync::Arc<crate::checkpointing::SideGrads> {
        let store = self.decoder.enable_checkpointing(trainable);
        if let Some(v) = &mut self.visual {
            v.tower.enable_checkpointing(store.clone());
        }
        store
    }

    /// The audio side, or an error saying this model has none.
    pub fn audio_tower(&self) -> Result<&AudioTower> {
        self.audio.as_ref().ok_or_else(|| self.lacks("audio"))
    }

    /// The visual side, or an error saying this model has none.
    pub fn visual_tower(&self) -> Result<&VisualTower> {
        self.visual
            .as_ref()
            .ok_or_else(|| self.lacks("image or video"))
    }

    fn lacks(&self, what: &str) -> Error {
        Error::Prompt(format!(
            "a {} model has no tower for {what} input; use a checkpoint that has one",
            self.family.name()
        ))
    }

    /// Mel features of a 16 kHz clip with this model's bin count.
    pub fn features(&self, samples: &[f32], long: audio::LongAudio) -> Result<AudioInput> {
        Ok(audio::model_features(samples, self.n_mels()?, long)?)
    }

    /// The audio encoder's mel bins.
    pub fn n_mels(&self) -> Result<usize> {
        Ok(self.audio_tower()?.config.num_mel_bins)
    }

    /// An image file as the vision tower's input (`preprocessor_config.json`'s settings).
    pub fn image(&self, path: &Path) -> Result<VisualInput> {
        Ok(self.visual_tower()?.images.preprocess_files(&[path])?)
    }

    /// A video file (MP4/H.264) or a folder of frames as the vision tower's input: frames
    /// sampled as `qwen_vl_utils` does with `options`, then the checkpoint's video processor.
    pub fn video(&self, path: &Path, options: &vision::VideoOptions) -> Result<VisualInput> {
        Ok(self.visual_tower()?.videos.preprocess_file(path, options)?)
    }

    /// The encoder's output for one clip: [tokens, d_model] (before the projector).
    pub fn encode(&self, clip: &AudioInput) -> Result<Tensor> {
        let enc = &self.audio_tower()?.encoder;
        let mel = enc.mel_tensor(&clip.mel, &self.device, self.dtype)?;
        enc.forward(&mel, clip.valid_frames)
    }

    /// Encoder + projector for one clip: [tokens, hidden].
    pub fn audio_embeds(&self, clip: &AudioInput) -> Result<Tensor> {
        self.audio_tower()?.projector.forward(&self.encode(clip)?)
    }

    /// Audio tokens a clip gives.
    pub fn audio_tokens(clip: &AudioInput) -> usize {
        output_lengths(clip.valid_frames).1
    }

    /// Tokenises a text holding one placeholder per input (`<|AUDIO|>`, `<|image_pad|>`,
    /// `<|video_pad|>`) and expands each to the input's token count. An input kind the model
    /// has no tower for, or a count mismatch, is an error.
    pub fn sequence(&self, text: &str, inputs: impl Into<Inputs>) -> Result<Sequence> {
        let inputs = inputs.into();
        let ids = self.prompt_ids(text, &inputs)?;
        Ok(Sequence { ids, inputs })
    }

    /// The ids of `text` with every placeholder expanded for `inputs`.
    pub fn prompt_ids(&self, text: &str, inputs: &Inputs) -> Result<Vec<u32>> {
        self.expand_ids(self.tokenizer.encode(text)?, inputs)
    }

    /// Token ids with every placeholder expanded for `inputs` (see [`Self::sequence`]).
    pub fn expand_ids(&self, mut ids: Vec<u32>, inputs: &Inputs) -> Result<Vec<u32>> {
        match &self.audio {
            Some(a) => {
                let counts: Vec<usize> = inputs.audio.iter().map(Self::audio_tokens).collect();
                ids = expand(&ids, a.token_id, &Media::AUDIO, &counts)?;
            }
            None if !inputs.audio.is_empty() => return Err(self.lacks("audio")),
            None => {}
        }
        match &self.visual {
            Some(v) => {
                for (id, media, items) in [
                    (v.config.image_token_id, Media::IMAGE, &inputs.images),
                    (v.config.video_token_id, Media::VIDEO, &inputs.videos),
                ] {
                    let counts: Vec<usize> = grids(items)
                        .into_iter()
                        .map(|g| v.tower.tokens(g))
                        .collect();
                    ids = expand(&ids, id, &media, &counts)?;
                }
            }
            None if !(inputs.images.is_empty() && inputs.videos.is_empty()) => {
                return Err(self.lacks("image or video"))
            }
            None => {}
        }
        Ok(ids)
    }

    /// A chat conversation rendered with the Instruct template, then [`Self::sequence`].
    pub fn chat_sequence(
        &self,
        messages: &[Message],
        inputs: impl Into<Inputs>,
    ) -> Result<Sequence> {
        self.sequence(&render_chat(messages, true), inputs)
    }

    /// The 3-D M-RoPE positions of one prompt (Qwen2-VL), or `None` for a 1-D model.
    fn mrope_positions(&self, seq: &Sequence) -> Result<Option<[Vec<u32>; 3]>> {
        let Some(v) = &self.visual else {
            return Ok(None);
        };
        let pos = rope_index(
            &seq.ids,
            &grids(&seq.inputs.images),
            &grids(&seq.inputs.videos),
            v.config.vision.spatial_merge_size,
            &v.config,
        )?;
        Ok(Some(pos))
    }

    /// The vision tower over every input of `items` (rows of all, one call): [tokens, hidden].
    fn visual_embeds<'a>(
        &self,
        items: impl Iterator<Item = &'a VisualInput>,
    ) -> Result<Option<Tensor>> {
        let (mut data, mut grids, mut dim) = (Vec::new(), Vec::new(), 0);
        for x in items {
            grids.extend(x.grids.iter().map(|g| g.to_array()));
            data.extend_from_slice(&x.data);
            dim = x.patch_dim;
        }
        if grids.is_empty() {
            return Ok(None);
        }
        let v = self.visual_tower()?;
        let rows = data.len() / dim.max(1);
        let px = Tensor::from_vec(data, (rows, dim), &self.device)?;
        Ok(Some(v.tower.forward(&px, &grids)?))
    }

    /// Left-pads `seqs` into one batch and computes every input's features.
    pub fn batch(&self, seqs: &[Sequence]) -> Result<Batch> {
        let pad = self
            .generation
            .pad_token_id
            .unwrap_or(self.tokenizer.special.endoftext);
        let t = seqs.iter().map(|s| s.ids.len()).max().unwrap_or(0);
        let b = seqs.len();
        let mut ids = Vec::with_capacity(b * t);
        let mut axes: [Vec<u32>; 3] = Default::default();
        let mut flat_pos = Vec::new();
        let (mut valid, mut next_pos, mut audio) = (Vec::new(), Vec::new(), Vec::new());
        let mrope = self.visual.is_some();
        for s in seqs {
            let n_pad = t - s.ids.len();
            ids.extend(std::iter::repeat_n(pad, n_pad).chain(s.ids.iter().copied()));
            valid.push((0..t).map(|j| j >= n_pad).collect());
            match self.mrope_positions(s)? {
                Some(pos) => {
                    next_pos.push(pos.iter().flatten().copied().max().map_or(0, |m| m + 1));
                    for (axis, row) in axes.iter_mut().zip(&pos) {
                        axis.extend(std::iter::repeat_n(1, n_pad).chain(row.iter().copied()));
                    }
                }
                None => {
                    next_pos.push(s.ids.len() as u32);
                    flat_pos.extend(std::iter::repeat_n(1u32, n_pad).chain(0..s.ids.len() as u32));
                }
            }
            for clip in &s.inputs.audio {
                audio.push(self.audio_embeds(clip)?);
            }
        }
        let positions = if mrope {
            Tensor::from_vec(axes.concat(), (3, b, t), &self.device)?
        } else {
            Tensor::from_vec(flat_pos, (b, t), &self.device)?
        };
        Ok(Batch {
            ids: Tensor::from_vec(ids, (b, t), &self.device)?,
            valid,
            positions,
            next_pos,
            audio,
            images: self.visual_embeds(seqs.iter().flat_map(|s| &s.inputs.images))?,
            videos: self.visual_embeds(seqs.iter().flat_map(|s| &s.inputs.videos))?,
        })
    }

    /// Token embeddings with every input's features at its placeholder positions: [B, T, H].
    pub fn embed(&self, batch: &Batch) -> Result<Tensor> {
        let mut slots = Vec::new();
        if let Some(a) = &self.audio {
            slots.push(Slot {
                placeholder: a.token_id,
                media: Media::AUDIO,
                rows: batch.audio.clone(),
            });
        }
        if let Some(v) = &self.visual {
            for (id, media, rows) in [
                (v.config.image_token_id, Media::IMAGE, &batch.images),
                (v.config.video_token_id, Media::VIDEO, &batch.videos),
            ] {
                slots.push(Slot {
                    placeholder: id,
                    media,
                    rows: rows.iter().cloned().collect(),
                });
            }
        }
        splice(&self.decoder, &batch.ids, &slots)
    }

    /// The prompt's full forward pass: final hidden states [B, T, H]; fills `cache` if given.
    pub fn forward_hidden(&self, batch: &Batch, cache: Option<&mut KvCache>) -> Result<Tensor> {
        let embeds = self.embed(batch)?;
        let t = batch.ids.dim(1)?;
        let mask = causal_mask(&batch.valid, 0, t, &self.device)?;
        self.decoder
            .forward(&embeds, &batch.positions, Some(&mask), cache)
    }

    /// Each prompt's next-token logits (at its last position; one left-padded batch, one
    /// forward pass, no cache): [B, V] f32. A row's last position is its own last token
    /// whatever its padding.
    pub fn last_logits(&self, seqs: &[Sequence]) -> Result<Tensor> {
        let batch = self.batch(seqs)?;
        let hidden = self.forward_hidden(&batch, None)?;
        let t = hidden.dim(1)?;
        self.decoder
            .logits(&hidden.i((.., t - 1, ..))?.contiguous()?)
    }

    /// Logits of every position of one sequence: [T, V] f32.
    pub fn prompt_logits(&self, seq: &Sequence) -> Result<Tensor> {
        let batch = self.batch(std::slice::from_ref(seq))?;
        let hidden = self.forward_hidden(&batch, None)?;
        self.decoder.logits(&hidden.squeeze(0)?)
    }

    /// End-of-sequence ids: `generation_config.json`'s, else `<|im_end|>` and `<|endoftext|>`.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.generation.eos_or(&self.tokenizer.special)
    }
}

impl Generative for Model {
    type Prompt = Sequence;
    fn decoder(&self) -> &Decoder {
        &self.decoder
    }
    fn device(&self) -> &Device {
        Model::device(self)
    }
    fn eos_ids(&self) -> Vec<u32> {
        Model::eos_ids(self)
    }
    fn prefill(&self, seqs: &[Sequence], cache: &mut KvCache) -> Result<Prefilled> {
        let batch = self.batch(seqs)?;
        let hidden = self.forward_hidden(&batch, Some(cache))?;
        let t = hidden.dim(1)?;
        Ok(Prefilled {
            logits: self.decoder.logits(&hidden.i((.., t - 1, ..))?)?,
            valid: batch.valid,
            next_pos: batch.next_pos,
        })
    }
    fn prompt_len(prompt: &Sequence) -> usize {
        prompt.ids.len()
    }
}

/// Every `[t, h, w]` grid of `items`, in order.
fn grids(items: &[VisualInput]) -> Vec<[usize; 3]> {
    items
        .iter()
        .flat_map(|x| x.grids.iter().map(|g| g.to_array()))
        .collect()
}

fn check_token(files: &ModelFiles, tok: &Tokenizer, token: &str, id: u32) -> Result<()> {
    let found = tok.token_to_id(token);
    if found == Some(id) {
        return Ok(());
    }
    Err(Error::Config {
        path: files.config.clone(),
        msg: format!(
            "the config's {token} id {id} differs from the tokenizer's ({})",
            found.map_or("none".to_string(), |i| i.to_string())
        ),
    })
}

/// One modality's features for [`splice`]: its placeholder token and its feature rows in
/// order (each [rows, hidden]).
pub struct Slot {
    pub placeholder: u32,
    pub media: Media,
    pub rows: Vec<Tensor>,
}

/// Token embeddings of `ids` [B, T] with each slot's feature rows (in order) at the positions
/// holding its placeholder, filled row-major as the reference's `masked_scatter` does:
/// [B, T, H]. Per slot, the number of placeholders must equal the number of feature rows.
/// Shared by every modality (audio clips, images, videos).
pub fn splice(decoder: &Decoder, ids: &Tensor, slots: &[Slot]) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    let text = decoder.embed(ids)?.reshape((b * t, ()))?;
    let flat: Vec<u32> = ids.flatten_all()?.to_vec1()?;
    let mut index: Vec<u32> = (0..(b * t) as u32).collect();
    let mut parts: Vec<Tensor> = vec![text];
    let mut next = (b * t) as u32;
    for slot in slots {
        let n_rows: usize = slot
            .rows
            .iter()
            .map(|a| a.dim(0))
            .sum::<candle_core::Result<usize>>()?;
        let positions: Vec<usize> = (0..flat.len())
            .filter(|&p| flat[p] == slot.placeholder)
            .collect();
        if positions.len() != n_rows {
            return Err(Error::Prompt(format!(
                "{} {} token(s) but {n_rows} {} feature row(s)",
                positions.len(),
                slot.media.token,
                slot.media.item
            )));
        }
        for p in positions {
            index[p] = next;
            next += 1;
        }
        for r in &slot.rows {
            parts.push(r.to_dtype(decoder.dtype())?);
        }
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0).reshape((b, t, ()))?);
    }
    let table = Tensor::cat(&parts, 0)?;
    let index = Tensor::from_vec(index, b * t, ids.device())?;
    Ok(table.index_select(&index, 0)?.reshape((b, t, ()))?)
}
