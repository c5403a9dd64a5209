//! Tasks (AC, ACC, ADC, or a caller's own) and their prompts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The tag that marks where a clip goes in a prompt (ms-swift / LLaMA-Factory convention).
pub const AUDIO_TAG: &str = "<audio>";

/// What a sample trains or evaluates.
///
/// Serialised as a lowercase string: `"ac"`, `"acc"`, `"adc"`, or the custom name as written.
/// Parsing is case-insensitive for the three built-in names (`"ADC"` is [`Task::Adc`]); any
/// other non-empty string is [`Task::Custom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Task {
    /// Audio captioning: one clip, its caption.
    Ac,
    /// Audio commonality captioning: several clips, what they share.
    Acc,
    /// Audio difference captioning: two clips, how the second differs from the first.
    Adc,
    /// Any other task (classification, distillation, ...); its prompt comes from the line
    /// or from [`Prompts::custom`].
    Custom(String),
}

impl Task {
    /// `"ac"` → `Ac`, …; any other non-empty name → `Custom(name)`. Errors on an empty or
    /// all-whitespace name.
    pub fn from_name(name: &str) -> Result<Self, String> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err("task name is empty".into());
        }
        Ok(match trimmed.to_ascii_lowercase().as_str() {
            "ac" => Task::Ac,
            "acc" => Task::Acc,
            "adc" => Task::Adc,
            _ => Task::Custom(trimmed.to_string()),
        })
    }

    /// The name as serialised.
    pub fn name(&self) -> &str {
        match self {
            Task::Ac => "ac",
            Task::Acc => "acc",
            Task::Adc => "adc",
            Task::Custom(s) => s,
        }
    }

    /// The built-in prompt for `n_audio` clips ([`Prompts::default`]); `None` for custom tasks
    /// other than the built-in classification tasks.
    pub fn default_prompt(&self, n_audio: usize) -> Option<String> {
        Prompts::default().prompt(self, n_audio)
    }
}

impl TryFrom<String> for Task {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Task::from_name(&s)
    }
}

impl From<Task> for String {
    fn from(t: Task) -> String {
        t.name().to_string()
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The prompt of each task when a sample carries none.
///
/// Defaults: ACC and ADC are the paper's prompts (science.md, "Prompts (reported)"). The AC
/// prompt is **our choice**: the paper reports none. `acc_many` is used for ACC with a number
/// of clips other than two; `{n}` in it is replaced by that number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Prompts {
    pub ac: String,
    pub acc: String,
    pub acc_many: String,
    pub adc: String,
    /// Prompts of custom tasks, by task name.
    pub custom: BTreeMap<String, String>,
}

impl Default for Prompts {
    fn default() -> Self {
        Self {
            ac: "Describe the audio in a sentence.".into(),
            acc: "Tell me the similarities between the two audios.".into(),
            acc_many: "Tell me the similarities between the {n} audios.".into(),
            adc: "Tell me the difference between the second audio and the first one.".into(),
            custom: BTreeMap::new(),
        }
    }
}

impl Prompts {
    /// The prompt for `task` with `n_audio` clips. A custom task takes its entry in
    /// `custom`, else the built-in classification task's prompt of that name
    /// ([`crate::classify::ClassTask::builtin`]: vsc, ser, mic, mgc), so training and
    /// evaluation ask the same question; `None` for any other custom task.
    pub fn prompt(&self, task: &Task, n_audio: usize) -> Option<String> {
        match task {
            Task::Ac => Some(self.ac.clone()),
            Task::Acc if n_audio == 2 => Some(self.acc.clone()),
            Task::Acc => Some(self.acc_many.replace("{n}", &n_audio.to_string())),
            Task::Adc => Some(self.adc.clone()),
            Task::Custom(name) => {
                self.custom.get(name).cloned().or_else(|| {
                    crate::classify::ClassTask::builtin(name).map(|t| t.rendered_prompt())
                })
            }
        }
    }
}

/// One piece of a user turn: clip `i` of the sample (0-based), or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptPart {
    Audio(usize),
    Text(String),
}

/// The number of [`AUDIO_TAG`]s in `text`.
pub fn count_audio_tags(text: &str) -> usize {
    text.matches(AUDIO_TAG).count()
}

/// Splits a prompt into the user turn's parts.
///
/// * Without `<audio>` tags: every clip first, then the text (the layout of the reference's
///   examples and of `model::prompt::Message::user_with_audio`).
/// * With tags: clips go where the tags are, in order. The caller has checked that the tag
///   count equals `n_audio` (the manifest reader does).
///
/// Text pieces are trimmed of surrounding whitespace and empty pieces are dropped: the chat
/// template already ends each clip with a newline.
pub fn split_prompt(prompt: &str, n_audio: usize) -> Vec<PromptPart> {
    let mut parts = Vec::new();
    let push_text = |parts: &mut Vec<PromptPart>, t: &str| {
        let t = t.trim();
        if !t.is_empty() {
            parts.push(PromptPart::Text(t.to_string()));
        }
    };
    if count_audio_tags(prompt) == 0 {
        parts.extend((0..n_audio).map(PromptPart::Audio));
        push_text(&mut parts, prompt);
        return parts;
    }
    for (k, piece) in prompt.split(AUDIO_TAG).enumerate() {
        if k > 0 {
            parts.push(PromptPart::Audio(k - 1));
        }
        push_text(&mut parts, piece);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_roundtrip() {
        for (s, t) in [
            ("\"ac\"", Task::Ac),
            ("\"ACC\"", Task::Acc),
            ("\"adc\"", Task::Adc),
            ("\"vsc\"", Task::Custom("vsc".into())),
        ] {
            let parsed: Task = serde_json::from_str(s).unwrap();
            assert_eq!(parsed, t);
        }
        assert_eq!(serde_json::to_string(&Task::Acc).unwrap(), "\"acc\"");
        assert!(serde_json::from_str::<Task>("\"  \"").is_err());
    }

    #[test]
    fn default_prompts() {
        assert_eq!(
            Task::Acc.default_prompt(2).unwrap(),
            "Tell me the similarities between the two audios."
        );
        assert_eq!(
            Task::Acc.default_prompt(3).unwrap(),
            "Tell me the similarities between the 3 audios."
        );
        assert_eq!(
            Task::Adc.default_prompt(2).unwrap(),
            "Tell me the difference between the second audio and the first one."
        );
        assert_eq!(
            Task::Ac.default_prompt(1).unwrap(),
            "Describe the audio in a sentence."
        );
        assert_eq!(Task::Custom("x".into()).default_prompt(1), None);
        // Built-in classification tasks ask what the evaluation asks.
        assert_eq!(
            Task::Custom("vsc".into()).default_prompt(1).unwrap(),
            crate::classify::ClassTask::builtin("vsc")
                .unwrap()
                .rendered_prompt()
        );
        let p: Prompts =
            serde_json::from_str(r#"{"ac": "Caption it.", "custom": {"x": "Go"}}"#).unwrap();
        assert_eq!(p.prompt(&Task::Ac, 1).unwrap(), "Caption it.");
        assert_eq!(p.prompt(&Task::Custom("x".into()), 1).unwrap(), "Go");
        assert!(serde_json::from_str::<Prompts>(r#"{"acx": "typo"}"#).is_err());
    }

    #[test]
    fn split_prompt_places_audio() {
        use PromptPart::*;
        assert_eq!(
            split_prompt("What is common?", 2),
            vec![Audio(0), Audio(1), Text("What is common?".into())]
        );
        assert_eq!(
            split_prompt("<audio>\n<audio>\nWhat is common?", 2),
            vec![Audio(0), Audio(1), Text("What is common?".into())]
        );
        assert_eq!(
            split_prompt("First: <audio> then <audio> differ how?", 2),
            vec![
                Text("First:".into()),
                Audio(0),
                Text("then".into()),
                Audio(1),
                Text("differ how?".into())
            ]
        );
    }
}
