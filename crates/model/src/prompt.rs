//! Prompts as the reference builds them: the Qwen2 chat template of the Instruct checkpoints,
//! and the expansion of each media placeholder into as many copies as the clip / image has
//! tokens (`Qwen2AudioProcessor.__call__`, `Qwen2VLProcessor.__call__`).
//!
//! Template (the checkpoint's `chat_template`): a default system turn when the first message
//! is not a system one; each turn `<|im_start|>{role}\n…<|im_end|>\n`; each audio item renders
//! as `Audio {k}: <|audio_bos|><|AUDIO|><|audio_eos|>\n` with k counting across the whole
//! conversation (Qwen2-Audio); each image as `<|vision_start|><|image_pad|><|vision_end|>` and
//! each video as `<|vision_start|><|video_pad|><|vision_end|>` (Qwen2-VL, `add_vision_id`
//! off, its default); the generation prompt is `<|im_start|>assistant\n`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const DEFAULT_SYSTEM: &str = "You are a helpful assistant.";
pub const AUDIO_PLACEHOLDER: &str = "<|audio_bos|><|AUDIO|><|audio_eos|>";
pub const IMAGE_PLACEHOLDER: &str = "<|vision_start|><|image_pad|><|vision_end|>";
pub const VIDEO_PLACEHOLDER: &str = "<|vision_start|><|video_pad|><|vision_end|>";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One item of a message: text, or the next audio clip, image or video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Text(String),
    Audio,
    Image,
    Video,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

impl Message {
    /// A user turn: every clip first, then the text, as in the reference's examples.
    pub fn user_with_audio(n_audio: usize, text: &str) -> Self {
        let mut parts = vec![Part::Audio; n_audio];
        parts.push(Part::Text(text.into()));
        Self {
            role: Role::User,
            parts,
        }
    }
}

/// Renders a conversation with the Qwen2-Audio-Instruct template.
pub fn render_chat(messages: &[Message], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    let mut audio_k = 0;
    for (i, m) in messages.iter().enumerate() {
        if i == 0 && m.role != Role::System {
            out.push_str(&format!("<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n"));
        }
        out.push_str(&format!("<|im_start|>{}\n", m.role.as_str()));
        for p in &m.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Audio => {
                    audio_k += 1;
                    out.push_str(&format!("Audio {audio_k}: {AUDIO_PLACEHOLDER}\n"));
                }
                Part::Image => out.push_str(IMAGE_PLACEHOLDER),
                Part::Video => out.push_str(VIDEO_PLACEHOLDER),
            }
        }
        out.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

/// Replaces the k-th `audio_id` in `ids` by `counts[k]` copies. The number of placeholders must
/// equal the number of clips: a mismatch is an error, never a silent cut.
pub fn expand_audio(ids: &[u32], audio_id: u32, counts: &[usize]) -> Result<Vec<u32>> {
    expand(ids, audio_id, &Media::AUDIO, counts)
}

/// What a placeholder stands for, in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Media {
    /// The placeholder token (`<|AUDIO|>`).
    pub token: &'static str,
    /// What is counted (`audio clip`).
    pub item: &'static str,
}

impl Media {
    pub const AUDIO: Media = Media {
        token: "<|AUDIO|>",
        item: "audio clip",
    };
    pub const IMAGE: Media = Media {
        token: "<|image_pad|>",
        item: "image",
    };
    pub const VIDEO: Media = Media {
        token: "<|video_pad|>",
        item: "video",
    };
}

/// Replaces the k-th `placeholder` in `ids` by `counts[k]` copies (any modality). The number
/// of placeholders must equal the number of items: a mismatch is an error, never a silent cut.
pub fn expand(ids: &[u32], placeholder: u32, media: &Media, counts: &[usize]) -> Result<Vec<u32>> {
    let found = ids.iter().filter(|&&t| t == placeholder).count();
    if found != counts.len() {
        return Err(Error::Prompt(format!(
            "the prompt has {found} {} placeholder(s) but {} {}(s) were given",
            media.token,
            counts.len(),
            media.item
        )));
    }
    if let Some(k) = counts.iter().position(|&c| c == 0) {
        return Err(Error::Prompt(format!(
            "{} {} is too short to give any token",
            media.item,
            k + 1
        )));
    }
    let mut out = Vec::with_capacity(ids.len() + counts.iter().sum::<usize>());
    let mut k = 0;
    for &t in ids {
        if t == placeholder {
            out.extend(std::iter::repeat_n(placeholder, counts[k]));
            k += 1;
        } else {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matches_the_reference_layout() {
        let s = render_chat(&[Message::user_with_audio(2, "Same?")], true);
        assert_eq!(
            s,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\
             Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nAudio 2: <|audio_bos|><|AUDIO|><|audio_eos|>\n\
             Same?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn expansion_checks_counts() {
        assert_eq!(
            expand_audio(&[1, 9, 2, 9], 9, &[2, 1]).unwrap(),
            vec![1, 9, 9, 2, 9]
        );
        assert!(expand_audio(&[1, 9, 2], 9, &[2, 1]).is_err());
        assert!(expand_audio(&[1, 9, 9], 9, &[2]).is_err());
        assert!(expand_audio(&[9], 9, &[0]).is_err());
    }
}
