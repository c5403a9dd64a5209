//! A manifest sample → the model's input, built the same way for training and evaluation
//! (the role of a Hugging Face *processor*): so that "training and evaluation ask the same
//! question" holds by construction, not by two copies kept equal.
//!
//! ```text
//! Sample ──conversation()──▶ [system?, user: media + prompt]          (chat messages)
//!        ──inputs()─────────▶ Whisper features per clip (decoded, or from the feature cache),
//!                             patches per image and video (the checkpoint's preprocessor
//!                             settings; video frames sampled as qwen_vl_utils does)
//!        ──prompt()─────────▶ Prepared: templated prompt + ids, placeholders expanded    (eval)
//!        ──example()────────▶ Example: prompt + answer ids, labels on the answer        (training)
//! ```
//!
//! A sample's media must have a tower in the model (audio for Qwen2-Audio, images for
//! Qwen2-VL); otherwise the model's error names what is missing.
//!
//! The answer convention (pinned by tests/fixtures/train and tests/fixtures/eval, generated
//! with transformers 4.57): an answer is `target + "<|im_end|>"` straight after the
//! chat-templated prompt ([`answer_text`]); a training example ends with a newline after it.

mod error;
pub mod example;

use std::path::PathBuf;

use audio::LongAudio;
use data::cache::FeatureCache;
use data::task::{PromptPart, Prompts};
use data::Sample;
use model::prompt::{render_chat, Message, Part, Role};
use model::{Inputs, Model, Sequence};

pub use error::{Error, Result};
pub use example::{Example, Target, IGNORE};

/// The text of an answer as the model must produce it: the answer, then the end of the turn.
pub fn answer_text(answer: &str) -> String {
    format!("{answer}<|im_end|>")
}

/// The token of each option letter of a multiple-choice answer (`A`, `B`, …), as the answer
/// starts right after the generation prompt: the letter must be one token of `model`'s
/// tokenizer, else an error naming it (a distribution over letters needs the letters to be
/// tokens of both teacher and student). Used to read a model's distribution over the options
/// (evaluation, teacher files) and to train towards a teacher's (distillation).
pub fn letter_tokens(model: &Model, letters: &[String]) -> Result<Vec<u32>> {
    letters
        .iter()
        .map(|l| {
            let ids = model.tokenizer.encode(&answer_text(l))?;
            match ids.as_slice() {
                [t, end] if *end == model.tokenizer.special.im_end => Ok(*t),
                _ => Err(Error::Model(model::Error::Prompt(format!(
                    "option letter `{l}` is {} tokens of this tokenizer, not one",
                    ids.len().saturating_sub(1)
                )))),
            }
        })
        .collect()
}

/// The conversation of a sample: its system turn if it has one, then the user turn with the
/// media where the prompt's `<audio>` / `<image>` / `<video>` tags are (else first) and the
/// prompt text.
pub fn conversation(sample: &Sample, prompts: &Prompts) -> Result<Vec<Message>> {
    let mut out = Vec::with_capacity(2);
    if let Some(sys) = &sample.system {
        out.push(Message {
            role: Role::System,
            parts: vec![Part::Text(sys.clone())],
        });
    }
    let parts = sample
        .user_parts(prompts)?
        .into_iter()
        .map(|p| match p {
            PromptPart::Audio(_) => Part::Audio,
            PromptPart::Image(_) => Part::Image,
            PromptPart::Video(_) => Part::Video,
            PromptPart::Text(t) => Part::Text(t),
        })
        .collect();
    out.push(Message {
        role: Role::User,
        parts,
    });
    Ok(out)
}

/// A sample's media as the towers' inputs.
#[derive(Debug, Clone)]
pub struct Media {
    pub inputs: Inputs,
    /// Clips longer than 30 s whose first 30 s only were used.
    pub truncated: Vec<PathBuf>,
}

/// A sample ready for generation or scoring.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Prompt ids (every placeholder expanded) and the media's inputs.
    pub seq: Sequence,
    /// The chat-templated prompt text, ending with the generation prompt.
    pub templated: String,
    /// Clips longer than 30 s whose first 30 s only were used.
    pub truncated: Vec<PathBuf>,
}

/// Turns samples into model inputs for one model.
pub struct Processor<'a> {
    pub model: &'a Model,
    /// The prompt table (per task) for samples without a prompt of their own.
    pub prompts: &'a Prompts,
    /// Clips over 30 s: refused, or their first 30 s kept.
    pub long_audio: LongAudio,
    /// Mel features computed once and reused across epochs (training).
    pub cache: Option<&'a FeatureCache>,
    /// How frames are sampled from a video (`qwen_vl_utils`' settings).
    pub video: &'a vision::VideoOptions,
}

impl Processor<'_> {
    /// Decodes (or reads from the cache) every clip of `sample` and computes its features,
    /// and preprocesses every image and video. Errors name the field (`audio[i]`,
    /// `images[i]`, `videos[i]`).
    pub fn inputs(&self, sample: &Sample) -> Result<Media> {
        let mut features = Vec::with_capacity(sample.audio.len());
        let mut truncated = Vec::new();
        let n_mels = match sample.audio.is_empty() {
            true => 0,
            false => self.model.n_mels()?,
        };
        for (index, path) in sample.audio.iter().enumerate() {
            let clip = match self.cache {
                Some(c) => c.get_or_compute(path, n_mels, self.long_audio),
                None => audio::load_mono_16k(path)
                    .and_then(|x| audio::model_features(&x, n_mels, self.long_audio))
                    .map_err(Into::into),
            }
            .map_err(|cause| Error::Clip { index, cause })?;
            if clip.truncated_from.is_some() {
                truncated.push(path.clone());
            }
            features.push(clip);
        }
        let mut images = Vec::with_capacity(sample.images.len());
        for (index, path) in sample.images.iter().enumerate() {
            images.push(self.model.image(path).map_err(|cause| Error::Visual {
                field: "images",
                index,
                cause,
            })?);
        }
        let mut videos = Vec::with_capacity(sample.videos.len());
        for (index, path) in sample.videos.iter().enumerate() {
            let video = self.model.video(path, self.video);
            videos.push(video.map_err(|cause| Error::Visual {
                field: "videos",
                index,
                cause,
            })?);
        }
        let inputs = Inputs {
            audio: features,
            images,
            videos,
        };
        Ok(Media { inputs, truncated })
    }

    /// The sample's prompt, ready for generation: clips, templated text, ids.
    pub fn prompt(&self, sample: &Sample) -> Result<Prepared> {
        let media = self.inputs(sample)?;
        let templated = render_chat(&conversation(sample, self.prompts)?, true);
        let seq = self.model.sequence(&templated, media.inputs)?;
        Ok(Prepared {
            seq,
            templated,
            truncated: media.truncated,
        })
    }

    /// The sample as a training example: prompt + target, labels on the answer. Errors name
    /// the field (`audio[i]`, `images[i]`, `prompt` or `target`); `source` of the example is
    /// `file:line (id)`.
    pub fn example(&self, sample: &Sample, max_tokens: usize) -> Result<Example> {
        let media = self.inputs(sample)?;
        let messages = conversation(sample, self.prompts)?;
        let mut e = example::build(
            self.model,
            &messages,
            &sample.target,
            media.inputs,
            max_tokens,
        )
        .map_err(Error::Target)?;
        e.source = format!("{} ({})", sample.source, sample.id);
        e.task = sample.task.to_string();
        Ok(e)
    }
}
