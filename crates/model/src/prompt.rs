//! Prompts as the reference builds them: the Qwen2-Audio-Instruct chat template, and the
//! expansion of each `<|AUDIO|>` placeholder into as many copies as the clip has audio tokens
//! (`Qwen2AudioProcessor.__call__`).
//!
//! Template (the checkpoint's `chat_template`): a default system turn when the first message
//! is not a system one; each turn `<|im_start|>{role}\n…<|im_end|>\n`; each audio item renders
//! as `Audio {k}: <|audio_bos|><|AUDIO|><|audio_eos|>\n` with k counting across the whole
//! conversation; the generation prompt is `<|im_start|>assistant\n`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const DEFAULT_SYSTEM: &str = "You are a helpful assistant.";
pub const AUDIO_PLACEHOLDER: &str = "<|audio_bos|><|AUDIO|><|audio_eos|>";

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

/// One item of a message: text, or the next audio clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Text(String),
    Audio,
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
    let found = ids.iter().filter(|&&t| t == audio_id).count();
    if found != counts.len() {
        return Err(Error::Prompt(format!(
            "the prompt has {found} <|AUDIO|> placeholder(s) but {} audio clip(s) were given",
            counts.len()
        )));
    }
    if let Some(k) = counts.iter().position(|&c| c == 0) {
        return Err(Error::Prompt(format!(
            "audio clip {} is too short to give any audio token",
            k + 1
        )));
    }
    let mut out = Vec::with_capacity(ids.len() + counts.iter().sum::<usize>());
    let mut k = 0;
    for &t in ids {
        if t == audio_id {
            out.extend(std::iter::repeat_n(audio_id, counts[k]));
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
