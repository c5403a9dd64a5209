//! The whole Qwen2-Audio network (`Qwen2AudioForConditionalGeneration`): audio encoder →
//! projector → audio features spliced into the token embeddings at `<|AUDIO|>` positions →
//! Qwen2 decoder.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::checkpoint::ModelFiles;
use crate::config::{GenerationConfig, Qwen2AudioConfig};
use crate::decoder::{causal_mask, Decoder, KvCache};
use crate::encoder::{output_lengths, AudioEncoder};
use crate::lora::AdapterSource;
use crate::nn::Linear;
use crate::prompt::{expand_audio, render_chat, Message};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// One clip, ready for the encoder.
pub type AudioInput = audio::ModelFeatures;

/// One prompt: token ids with every `<|AUDIO|>` expanded, and its clips in order.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub audio: Vec<AudioInput>,
}

/// Several prompts, left-padded to one length.
#[derive(Debug, Clone)]
pub struct Batch {
    /// [B, T] u32
    pub ids: Tensor,
    /// valid[b][t]: false at left padding.
    pub valid: Vec<Vec<bool>>,
    /// [B, T] u32: position of each token among its row's real tokens.
    pub positions: Tensor,
    /// Projected audio features of every clip, rows first: each [tokens, hidden].
    pub audio: Vec<Tensor>,
}

pub struct Qwen2AudioModel {
    pub config: Qwen2AudioConfig,
    pub generation: GenerationConfig,
    pub tokenizer: Tokenizer,
    pub encoder: AudioEncoder,
    pub projector: Linear,
    pub decoder: Decoder,
    device: Device,
    dtype: DType,
}

impl Qwen2AudioModel {
    /// Loads a checkpoint (memory-mapped safetensors, cast to `dtype`) with optional adapters.
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
        let config = Qwen2AudioConfig::from_file(&files.config)?;
        let generation = match &files.generation_config {
            Some(p) => GenerationConfig::from_file_or_default(p)?,
            None => GenerationConfig::default(),
        };
        let tokenizer = Tokenizer::from_file(&files.tokenizer)?;
        let audio_id = tokenizer.token_to_id("<|AUDIO|>");
        if audio_id != Some(config.audio_token_index) {
            return Err(Error::Config {
                path: files.config.clone(),
                msg: format!(
                    "audio_token_index {} differs from the tokenizer's <|AUDIO|> id {}",
                    config.audio_token_index,
                    audio_id.map_or("(none)".to_string(), |i| i.to_string())
                ),
            });
        }
        let (device, dtype) = (vb.device().clone(), vb.dtype());
        let ctx = |e| files.checkpoint_error(e);
        let encoder = AudioEncoder::load(&config.audio_config, vb.pp("audio_tower"), adapters)
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
        Ok(Self {
            config,
            generation,
            tokenizer,
            encoder,
            projector,
            decoder,
            device,
            dtype,
        })
    }

    /// A local directory or hub id, and optionally a PEFT adapter directory.
    pub fn from_source(
        source: &str,
        device: &Device,
        dtype: DType,
        adapter: Option<&Path>,
    ) -> Result<Self> {
        let files = crate::checkpoint::resolve(source)?;
        crate::lora::with_peft(adapter, |ad| Self::load(&files, device, dtype, ad))
    }

    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Mel features of a 16 kHz clip with this model's bin count.
    pub fn features(&self, samples: &[f32], long: audio::LongAudio) -> Result<AudioInput> {
        Ok(audio::model_features(
            samples,
            self.config.audio_config.num_mel_bins,
            long,
        )?)
    }

    /// The encoder's output for one clip: [tokens, d_model] (before the projector).
    pub fn encode(&self, clip: &AudioInput) -> Result<Tensor> {
        let mel = self
            .encoder
            .mel_tensor(&clip.mel, &self.device, self.dtype)?;
        self.encoder.forward(&mel, clip.valid_frames)
    }

    /// Encoder + projector for one clip: [tokens, hidden].
    pub fn audio_embeds(&self, clip: &AudioInput) -> Result<Tensor> {
        self.projector.forward(&self.encode(clip)?)
    }

    /// Audio tokens a clip gives.
    pub fn audio_tokens(clip: &AudioInput) -> usize {
        output_lengths(clip.valid_frames).1
    }

    /// Tokenises a text holding one `<|AUDIO|>` per clip and expands the placeholders.
    pub fn sequence(&self, text: &str, audio: Vec<AudioInput>) -> Result<Sequence> {
        let ids = self.tokenizer.encode(text)?;
        let counts: Vec<usize> = audio.iter().map(Self::audio_tokens).collect();
        let ids = expand_audio(&ids, self.config.audio_token_index, &counts)?;
        Ok(Sequence { ids, audio })
    }

    /// A chat conversation rendered with the Instruct template, then [`Self::sequence`].
    pub fn chat_sequence(&self, messages: &[Message], audio: Vec<AudioInput>) -> Result<Sequence> {
        self.sequence(&render_chat(messages, true), audio)
    }

    /// Left-pads `seqs` into one batch and computes every clip's projected features.
    pub fn batch(&self, seqs: &[Sequence]) -> Result<Batch> {
        let pad = self
            .generation
            .pad_token_id
            .unwrap_or(self.tokenizer.special.endoftext);
        let t = seqs.iter().map(|s| s.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * t);
        let mut pos = Vec::with_capacity(seqs.len() * t);
        let mut valid = Vec::with_capacity(seqs.len());
        let mut audio = Vec::new();
        for s in seqs {
            let n_pad = t - s.ids.len();
            ids.extend(std::iter::repeat_n(pad, n_pad).chain(s.ids.iter().copied()));
            pos.extend(std::iter::repeat_n(1u32, n_pad).chain(0..s.ids.len() as u32));
            valid.push((0..t).map(|j| j >= n_pad).collect());
            for clip in &s.audio {
                audio.push(self.audio_embeds(clip)?);
            }
        }
        let b = seqs.len();
        Ok(Batch {
            ids: Tensor::from_vec(ids, (b, t), &self.device)?,
            positions: Tensor::from_vec(pos, (b, t), &self.device)?,
            valid,
            audio,
        })
    }

    /// Token embeddings with audio features at the `<|AUDIO|>` positions, filled in row-major
    /// order as the reference's `masked_scatter` does: [B, T, H]. The counts must agree.
    pub fn embed(&self, ids: &Tensor, audio: &[Tensor]) -> Result<Tensor> {
        splice(
            &self.decoder,
            ids,
            self.config.audio_token_index,
            ("<|AUDIO|>", "audio"),
            audio,
        )
    }

    /// The prompt's full forward pass: final hidden states [B, T, H]; fills `cache` if given.
    pub fn forward_hidden(&self, batch: &Batch, cache: Option<&mut KvCache>) -> Result<Tensor> {
        let embeds = self.embed(&batch.ids, &batch.audio)?;
        let t = batch.ids.dim(1)?;
        let mask = causal_mask(&batch.valid, 0, t, &self.device)?;
        self.decoder
            .forward(&embeds, &batch.positions, Some(&mask), cache)
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

/// Token embeddings of `ids` [B, T] with the rows of `features` (in order) at every position
/// holding `placeholder` (`names`: the token's and the modality's, for errors), filled
/// row-major as the reference's
/// `masked_scatter` does: [B, T, H]. The number of placeholders must equal the number of
/// feature rows. Shared by every modality (audio clips, images, videos).
pub fn splice(
    decoder: &Decoder,
    ids: &Tensor,
    placeholder: u32,
    names: (&str, &str),
    features: &[Tensor],
) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    let text = decoder.embed(ids)?.reshape((b * t, ()))?;
    let flat: Vec<u32> = ids.flatten_all()?.to_vec1()?;
    let n_slots = flat.iter().filter(|&&x| x == placeholder).count();
    let n_feats: usize = features
        .iter()
        .map(|a| a.dim(0))
        .sum::<candle_core::Result<usize>>()?;
    if n_slots != n_feats {
        return Err(Error::Prompt(format!(
            "{n_slots} {} token(s) but {n_feats} {} feature row(s)",
            names.0, names.1
        )));
    }
    if n_slots == 0 {
        return Ok(text.reshape((b, t, ()))?);
    }
    let mut parts: Vec<Tensor> = vec![text];
    parts.extend(
        features
            .iter()
            .map(|a| a.to_dtype(decoder.dtype()))
            .collect::<candle_core::Result<Vec<_>>>()?,
    );
    let table = Tensor::cat(&parts, 0)?;
    let mut next = (b * t) as u32;
    let index: Vec<u32> = flat
        .iter()
        .enumerate()
        .map(|(p, &x)| {
            if x == placeholder {
                next += 1;
                next - 1
            } else {
                p as u32
            }
        })
        .collect();
    let index = Tensor::from_vec(index, b * t, ids.device())?;
    Ok(table.index_select(&index, 0)?.reshape((b, t, ()))?)
}
