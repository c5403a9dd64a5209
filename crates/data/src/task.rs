//! Tasks (AC, ACC, ADC, or a caller's own) and their prompts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The tag that marks where a clip goes in a prompt (ms-swift / LLaMA-Factory convention).
pub const AUDIO_TAG: &str = "<audio>";
/// The tag that marks where an image goes in a prompt (ms-swift / LLaMA-Factory convention).
pub const IMAGE_TAG: &str = "<image>";
/// The tag that marks where a video goes in a prompt (ms-swift / LLaMA-Factory convention).
pub const VIDEO_TAG: &str = "<video>";

/// A kind of media input of a sample. [`MediaKind::ALL`] is the order in which inputs of
/// kinds without tags in the prompt are placed before the text (see [`split_prompt_media`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Image,
    Video,
}

impl MediaKind {
    /// Every kind, in placement order: audio, images, videos.
    pub const ALL: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Image, MediaKind::Video];

    /// The prompt tag of this kind: [`AUDIO_TAG`], [`IMAGE_TAG`] or [`VIDEO_TAG`].
    pub fn tag(self) -> &'static str {
        match self {
            MediaKind::Audio => AUDIO_TAG,
            MediaKind::Image => IMAGE_TAG,
            MediaKind::Video => VIDEO_TAG,
        }
    }

    /// The singular noun used in messages: `"audio"`, `"image"`, `"video"`.
    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }

    /// The native manifest key of this kind's files (also [`crate::manifest::missing_media`]'s
    /// field names): `"audio"`, `"images"`, `"videos"`.
    pub fn native_key(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "images",
            MediaKind::Video => "videos",
        }
    }

    /// The ms-swift / LLaMA-Factory key of this kind's files: `"audios"`, `"images"`,
    /// `"videos"`.
    pub fn chat_key(self) -> &'static str {
        match self {
            MediaKind::Audio => "audios",
            MediaKind::Image => "images",
            MediaKind::Video => "videos",
        }
    }

    /// Input `index` (0-based, within this kind) as a prompt part.
    pub fn part(self, index: usize) -> PromptPart {
        match self {
            MediaKind::Audio => PromptPart::Audio(index),
            MediaKind::Image => PromptPart::Image(index),
            MediaKind::Video => PromptPart::Video(index),
        }
    }
}

/// How many inputs of each kind a sample has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MediaCounts {
    pub audio: usize,
    pub images: usize,
    pub videos: usize,
}

impl MediaCounts {
    /// Audio clips only.
    pub fn audio(n: usize) -> Self {
        Self {
            audio: n,
            ..Self::default()
        }
    }

    /// The count of `kind`.
    pub fn get(&self, kind: MediaKind) -> usize {
        match kind {
            MediaKind::Audio => self.audio,
            MediaKind::Image => self.images,
            MediaKind::Video => self.videos,
        }
    }

    /// All inputs together.
    pub fn total(&self) -> usize {
        self.audio + self.images + self.videos
    }
}

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

/// One piece of a user turn: clip, image or video `i` of the sample (0-based within its
/// kind), or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptPart {
    Audio(usize),
    Image(usize),
    Video(usize),
    Text(String),
}

/// The number of `kind`'s tags ([`MediaKind::tag`]) in `text`.
pub fn count_tags(text: &str, kind: MediaKind) -> usize {
    text.matches(kind.tag()).count()
}

/// The number of [`AUDIO_TAG`]s in `text`.
pub fn count_audio_tags(text: &str) -> usize {
    count_tags(text, MediaKind::Audio)
}

/// The number of tags of each kind in `text`.
pub fn count_media_tags(text: &str) -> MediaCounts {
    MediaCounts {
        audio: count_tags(text, MediaKind::Audio),
        images: count_tags(text, MediaKind::Image),
        videos: count_tags(text, MediaKind::Video),
    }
}

/// Splits a prompt with audio clips only into the user turn's parts:
/// [`split_prompt_media`] with `n_audio` clips and no images or videos.
pub fn split_prompt(prompt: &str, n_audio: usize) -> Vec<PromptPart> {
    split_prompt_media(prompt, MediaCounts::audio(n_audio))
}

/// Splits a prompt into the user turn's parts.
///
/// * A kind with tags in the prompt (`<audio>`, `<image>`, `<video>`): its inputs go where
///   its tags are, in order. The caller has checked that the tag count equals the kind's
///   count (the manifest reader and [`crate::Sample::user_parts`] do); each tag is placed
///   whatever the count.
/// * A kind without tags: all its inputs come first, before the text, in the order audio,
///   images, videos (the layout of the reference processors' examples, which put the media
///   before the question, and of `model::prompt::Message::user_with_audio`).
///
/// Text pieces are trimmed of surrounding whitespace and empty pieces are dropped: the chat
/// template already ends each clip with a newline.
pub fn split_prompt_media(prompt: &str, counts: MediaCounts) -> Vec<PromptPart> {
    let mut parts = Vec::new();
    let push_text = |parts: &mut Vec<PromptPart>, t: &str| {
        let t = t.trim();
        if !t.is_empty() {
            parts.push(PromptPart::Text(t.to_string()));
        }
    };
    for kind in MediaKind::ALL {
        if count_tags(prompt, kind) == 0 {
            parts.extend((0..counts.get(kind)).map(|i| kind.part(i)));
        }
    }
    let mut next = [0usize; MediaKind::ALL.len()];
    let mut rest = prompt;
    loop {
        let first = MediaKind::ALL
            .iter()
            .filter_map(|&k| rest.find(k.tag()).map(|at| (at, k)))
            .min();
        let Some((at, kind)) = first else {
            push_text(&mut parts, rest);
            return parts;
        };
        push_text(&mut parts, &rest[..at]);
        let slot = &mut next[kind as usize];
        parts.push(kind.part(*slot));
        *slot += 1;
        rest = &rest[at + kind.tag().len()..];
    }
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

    #[test]
    fn split_prompt_places_every_kind() {
        use PromptPart::*;
        let counts = MediaCounts {
            audio: 1,
            images: 2,
            videos: 1,
        };
        // No tags: audio, images, videos, then the text.
        assert_eq!(
            split_prompt_media("What is shown?", counts),
            vec![
                Audio(0),
                Image(0),
                Image(1),
                Video(0),
                Text("What is shown?".into())
            ]
        );
        // Tags anywhere, kinds interleaved.
        assert_eq!(
            split_prompt_media("<image>A<video> B <audio>C<image>", counts),
            vec![
                Image(0),
                Text("A".into()),
                Video(0),
                Text("B".into()),
                Audio(0),
                Text("C".into()),
                Image(1)
            ]
        );
        // Untagged kinds come first, tagged ones where their tags are.
        assert_eq!(
            split_prompt_media("Compare <image> and <image>.", counts),
            vec![
                Audio(0),
                Video(0),
                Text("Compare".into()),
                Image(0),
                Text("and".into()),
                Image(1),
                Text(".".into())
            ]
        );
        // An empty prompt is the media alone.
        assert_eq!(
            split_prompt_media("", MediaCounts::audio(1)),
            vec![Audio(0)]
        );
        assert_eq!(count_media_tags("<image><audio><image>x<video>"), counts);
        assert_eq!(MediaCounts::audio(3).total(), 3);
    }
}
