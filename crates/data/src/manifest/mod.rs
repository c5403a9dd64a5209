//! JSONL manifests: one sample per line, in our native form or in the ms-swift /
//! LLaMA-Factory `messages` form; and a writer for the native form.
//!
//! A sample carries media of three kinds: audio clips, images and videos. Each kind is
//! optional, but a sample needs at least one file in all.
//!
//! Native line:
//! ```json
//! {"id": "x1", "task": "adc", "audio": ["a.wav", "b.wav"], "prompt": "optional",
//!  "system": "optional", "target": "caption", "references": ["optional", "eval captions"]}
//! {"task": "vqa", "images": ["cat.png"], "videos": "clip.mp4",
//!  "prompt": "<image> What does the cat in <video> do next?", "target": "it jumps"}
//! ```
//! `audio`, `images` and `videos` may each be one string or a list. `task` may be left out
//! when the reader has a default task.
//!
//! ms-swift / LLaMA-Factory line:
//! ```json
//! {"messages": [{"role": "system", "content": "optional"},
//!               {"role": "user", "content": "<audio><audio>What differs?"},
//!               {"role": "assistant", "content": "the target"}],
//!  "audios": ["a.wav", "b.wav"], "task": "optional", "id": "optional"}
//! {"messages": [{"role": "user", "content": "<image><audio>Does the sound fit the picture?"},
//!               {"role": "assistant", "content": "yes"}],
//!  "audios": ["a.wav"], "images": ["b.jpg"], "videos": ["optional.mp4"]}
//! ```
//! The user turn must hold exactly one tag per file of each kind (`<audio>` per entry of
//! `audios`, `<image>` per entry of `images`, `<video>` per entry of `videos`); the prompt is
//! kept with its tags ([`Sample::user_parts`] places the media there). Multi-turn
//! conversations are refused, and so are tags in the system or assistant turn.
//!
//! Rules common to both: unknown keys are errors (a typo must not silently drop a field);
//! a media list, where given, must not be empty; relative media paths are resolved against
//! the manifest's directory; the target and the references are trimmed and must not be blank;
//! a native prompt may use tags too, per kind either one per file or none (then that kind's
//! inputs come first: audio, images, videos, then the text; see
//! [`crate::task::split_prompt_media`]); ids default to `<file stem>:<line>` and must be unique
//! within a file. Files are not opened here: see [`missing_media`].

mod parse;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::fsutil::write_atomic;
use crate::task::{split_prompt_media, MediaCounts, MediaKind, PromptPart, Prompts, Task};

/// One training or evaluation example.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub id: String,
    pub task: Task,
    /// Clips in order, resolved against the manifest's directory unless absolute.
    pub audio: Vec<PathBuf>,
    /// Images in order, resolved like `audio`.
    pub images: Vec<PathBuf>,
    /// Videos in order, resolved like `audio`.
    pub videos: Vec<PathBuf>,
    /// The line's own prompt, possibly with `<audio>`, `<image>` and `<video>` tags; `None` →
    /// the task's prompt.
    pub prompt: Option<String>,
    /// A system turn of the line's own (`None` → the template's default system turn).
    pub system: Option<String>,
    /// The caption to train on, trimmed, never blank.
    pub target: String,
    /// Further reference captions for evaluation (the target is not repeated here).
    pub references: Vec<String>,
    pub source: Location,
}

impl Sample {
    /// The prompt text: the line's own, else `prompts`' for the task and clip count. Errors
    /// (naming the line and field `prompt`) for a custom task with neither.
    pub fn resolved_prompt(&self, prompts: &Prompts) -> Result<String> {
        if let Some(p) = &self.prompt {
            return Ok(p.clone());
        }
        prompts.prompt(&self.task, self.audio.len()).ok_or_else(|| {
            Error::field(
                &self.source,
                "prompt",
                format!(
                    "no prompt in the line and none configured for task `{}`",
                    self.task
                ),
            )
        })
    }

    /// The files of one kind.
    pub fn media(&self, kind: MediaKind) -> &[PathBuf] {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Image => &self.images,
            MediaKind::Video => &self.videos,
        }
    }

    /// How many clips, images and videos the sample has.
    pub fn media_counts(&self) -> MediaCounts {
        MediaCounts {
            audio: self.audio.len(),
            images: self.images.len(),
            videos: self.videos.len(),
        }
    }

    /// Every media file as (kind, index within its kind, path): audio, then images, then
    /// videos.
    pub fn media_files(&self) -> impl Iterator<Item = (MediaKind, usize, &PathBuf)> + '_ {
        MediaKind::ALL.into_iter().flat_map(move |kind| {
            self.media(kind)
                .iter()
                .enumerate()
                .map(move |(i, p)| (kind, i, p))
        })
    }

    /// The user turn as media and text pieces ([`split_prompt_media`]): each kind placed at
    /// the prompt's tags of that kind or, without such tags, before the text (audio, images,
    /// videos in that order). Errors (naming the line and field `prompt`) when the resolved
    /// prompt has tags of a kind that do not match its file count (a configured prompt is not
    /// checked by the reader), or for a custom task with no prompt.
    pub fn user_parts(&self, prompts: &Prompts) -> Result<Vec<PromptPart>> {
        let prompt = self.resolved_prompt(prompts)?;
        let counts = self.media_counts();
        if let Some(reason) = parse::tag_mismatch(&prompt, counts, false) {
            return Err(Error::field(&self.source, "prompt", reason));
        }
        Ok(split_prompt_media(&prompt, counts))
    }

    /// Every reference caption for scoring: the target, then `references`.
    pub fn all_references(&self) -> Vec<&str> {
        std::iter::once(self.target.as_str())
            .chain(self.references.iter().map(String::as_str))
            .collect()
    }

    /// The native line for this sample, with media paths written relative to `dir` when they
    /// lie under it (pass the directory of the manifest it will be written to).
    pub fn to_native(&self, dir: &Path) -> Result<NativeLine> {
        let paths = |kind: MediaKind| -> Result<Vec<String>> {
            self.media(kind)
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let rel = p.strip_prefix(dir).unwrap_or(p);
                    rel.to_str().map(str::to_string).ok_or_else(|| {
                        Error::field(
                            &self.source,
                            &format!("{}[{i}]", kind.native_key()),
                            "path is not valid UTF-8",
                        )
                    })
                })
                .collect()
        };
        Ok(NativeLine {
            id: Some(self.id.clone()),
            task: self.task.clone(),
            audio: paths(MediaKind::Audio)?,
            images: paths(MediaKind::Image)?,
            videos: paths(MediaKind::Video)?,
            prompt: self.prompt.clone(),
            system: self.system.clone(),
            target: self.target.clone(),
            references: self.references.clone(),
        })
    }
}

/// A native manifest line as written (paths as strings, relative to the manifest's directory
/// or absolute). Empty media lists are left out, so an audio-only line is written as before
/// images and videos existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub task: Task,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audio: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub target: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// What to do with a bad line.
///
/// Read from configs (serde: `"error"`, `"skip"`) and command lines (clap). The first
/// paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnBad {
    /// Stop at the first bad line, naming it.
    ///
    /// The reader returns that line's error (file, line, field).
    #[default]
    Error,
    /// Leave bad lines out and list them.
    ///
    /// The reader returns each as a [`Skipped`] entry.
    Skip,
}

/// Options of [`read_manifest_with`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    pub on_bad: OnBad,
    /// The task of lines that name none (typical for ms-swift files of one task).
    pub default_task: Option<Task>,
}

/// A line left out under [`OnBad::Skip`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub location: Location,
    /// The full error message (it names the file, line and field).
    pub reason: String,
}

/// Reads a manifest with no default task (every line must name its task).
pub fn read_manifest(path: &Path, on_bad: OnBad) -> Result<(Vec<Sample>, Vec<Skipped>)> {
    read_manifest_with(
        path,
        &ReadOptions {
            on_bad,
            default_task: None,
        },
    )
}

/// Reads a JSONL manifest. Blank lines are ignored. I/O errors are always errors; a bad line
/// is one under [`OnBad::Error`] and a [`Skipped`] entry under [`OnBad::Skip`].
pub fn read_manifest_with(path: &Path, opts: &ReadOptions) -> Result<(Vec<Sample>, Vec<Skipped>)> {
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open manifest", e))?;
    read_manifest_from(BufReader::new(file), path, opts)
}

/// Reads manifest lines from `reader`; `path` names them in errors and gives the directory
/// relative media paths are resolved against.
pub fn read_manifest_from(
    mut reader: impl BufRead,
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Vec<Sample>, Vec<Skipped>)> {
    let base = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, "cannot read manifest", e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let loc = Location::new(path, line_no);
        let parsed = std::str::from_utf8(&buf)
            .map_err(|e| Error::Json {
                location: loc.clone(),
                reason: format!("not valid UTF-8: {e}"),
            })
            .and_then(|text| {
                if text.trim().is_empty() {
                    return Ok(None);
                }
                let ctx = parse::LineCtx {
                    loc: &loc,
                    base: &base,
                    default_task: opts.default_task.as_ref(),
                };
                let sample = parse::parse_line(text, &ctx)?;
                if let Some(first) = seen.get(&sample.id) {
                    let reason = format!("duplicate id `{}` (first at line {first})", sample.id);
                    return Err(Error::field(&loc, "id", reason));
                }
                Ok(Some(sample))
            });
        match (parsed, opts.on_bad) {
            (Ok(Some(s)), _) => {
                seen.insert(s.id.clone(), line_no);
                samples.push(s);
            }
            (Ok(None), _) => {}
            (Err(e), OnBad::Error) => return Err(e),
            (Err(e), OnBad::Skip) => skipped.push(Skipped {
                location: loc,
                reason: e.to_string(),
            }),
        }
    }
    Ok((samples, skipped))
}

/// One line of JSON (no trailing newline) for `line`.
pub fn to_jsonl(line: &NativeLine) -> String {
    // Serialising a struct of strings and vectors of strings cannot fail.
    serde_json::to_string(line).unwrap_or_default()
}

/// Writes native lines to `path` atomically (temporary file, then rename).
pub fn write_manifest(path: &Path, lines: &[NativeLine]) -> Result<()> {
    let mut out = String::new();
    for l in lines {
        out.push_str(&to_jsonl(l));
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())
}

/// The (location, field, path) of every audio, image and video that does not exist: audio and
/// images must be files; a video is a file or a folder of frames. The field is named as in the
/// native form (`audio[0]`, `images[1]`, `videos[0]`), whichever form the line was written in.
pub fn missing_media(samples: &[Sample]) -> Vec<(Location, String, PathBuf)> {
    samples
        .iter()
        .flat_map(|s| s.media_files().map(move |m| (s, m)))
        .filter(|(_, (kind, _, p))| match kind {
            MediaKind::Video => !(p.is_file() || p.is_dir()),
            _ => !p.is_file(),
        })
        .map(|(s, (kind, i, p))| {
            let field = format!("{}[{i}]", kind.native_key());
            (s.source.clone(), field, p.clone())
        })
        .collect()
}
