//! Classification datasets in their usual layouts → native manifest lines
//! (`{"id", "task", "audio": [path], "target": label}`), one per clip.
//!
//! * [`vocalsound`]: a folder of VocalSound clips named `<speaker>_<n>_<label>.wav`
//!   (`f0003_0_cough.wav`, `m0112_2_throatclearing.wav`); task `vsc`. `throatclearing` →
//!   `throat clearing`.
//! * [`iemocap`]: the IEMOCAP root, `Session<k>/dialog/EmoEvaluation/*.txt` lines
//!   `[start - end]\t<turn>\t<emo>\t[v, a, d]`, audio `Session<k>/sentences/wav/<dialog>/<turn>.wav`;
//!   task `ser`. `neu` → neutral, `hap` and `exc` → happy (excitement merged into happiness, the
//!   common four-class practice), `sad` → sad, `ang` → angry; every other emotion (`fru`, `sur`,
//!   `fea`, `dis`, `oth`, `xxx`) is dropped and counted.
//! * [`nsynth`]: NSynth's `examples.json` (`{note_str: {"instrument_family_str": ...}}`), audio
//!   `audio/<note_str>.wav` beside it; task `mic`.
//! * [`gtzan`]: GTZAN's `genres/<genre>/<file>` folders; task `mgc`.
//!
//! Every converter returns its lines sorted by id, and what it left out ([`Dropped`]) with the
//! reason, so that a caller can print counts. Audio paths are written relative to `base` (the
//! directory the manifest will be written to) when the clip lies under it, else absolute.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ClassTask;
use crate::error::{Error, Location, Result};
use crate::manifest::NativeLine;
use crate::task::Task;

/// The classification dataset layouts this module reads (one closed list; the `trainer
/// convert` command tree offers exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// VocalSound's folder of `<speaker>_<n>_<label>.wav` clips (task `vsc`).
    Vocalsound,
    /// The IEMOCAP root with its `Session<k>` folders (task `ser`).
    Iemocap,
    /// NSynth's `examples.json` with `audio/` beside it (task `mic`).
    Nsynth,
    /// GTZAN's `genres/<genre>/` folders (task `mgc`).
    Gtzan,
}

/// Converts the dataset at `input` in `layout` (IEMOCAP: only `sessions`, all when empty)
/// and writes the manifest `out`, audio paths relative to its directory when under it.
/// Returns what was written and dropped. Errors when nothing is found.
pub fn convert_layout(
    layout: Layout,
    input: &Path,
    sessions: &[u32],
    out: &Path,
) -> Result<Converted> {
    let base = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let c = read_layout(layout, input, sessions, &base)?;
    crate::manifest::write_manifest(out, &c.lines)?;
    Ok(c)
}

/// [`convert_layout`] without writing: the lines, audio paths relative to `base`.
pub fn read_layout(
    layout: Layout,
    input: &Path,
    sessions: &[u32],
    base: &Path,
) -> Result<Converted> {
    if !sessions.is_empty() && layout != Layout::Iemocap {
        return Err(Error::Config {
            field: "--sessions".into(),
            reason: "is for the iemocap layout only".into(),
        });
    }
    let c = match layout {
        Layout::Vocalsound => vocalsound(input, base),
        Layout::Iemocap => iemocap(input, sessions, base),
        Layout::Nsynth => nsynth(input, base),
        Layout::Gtzan => gtzan(input, base),
    }?;
    if c.lines.is_empty() {
        return Err(Error::Dataset {
            path: input.to_path_buf(),
            reason: "no clip found".into(),
        });
    }
    Ok(c)
}

/// Audio file extensions the folder walkers pick up (lower-case, compared case-insensitively).
pub const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "au"];

/// Something a converter left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The file, or `file:line`, it came from.
    pub source: String,
    pub reason: String,
}

/// A converter's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    pub lines: Vec<NativeLine>,
    pub dropped: Vec<Dropped>,
}

impl Converted {
    fn finish(mut self) -> Self {
        self.lines.sort_by(|a, b| a.id.cmp(&b.id));
        self
    }

    /// Dropped items counted by reason, most frequent first (ties by reason).
    pub fn dropped_counts(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for d in &self.dropped {
            *counts.entry(d.reason.as_str()).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// `path` as written in a manifest in `base`: relative when under `base`, else absolute.
fn manifest_path(path: &Path, base: &Path, loc: &Location) -> Result<String> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, "cannot make absolute", e))?;
    let base = std::path::absolute(base).map_err(|e| Error::io(base, "cannot make absolute", e))?;
    let p = abs.strip_prefix(&base).unwrap_or(&abs);
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::field(loc, "audio", "path is not valid UTF-8"))
}

fn line(id: String, task: &str, audio: String, label: &str) -> NativeLine {
    NativeLine {
        id: Some(id),
        task: Task::Custom(task.into()),
        audio: vec![audio],
        images: Vec::new(),
        videos: Vec::new(),
        prompt: None,
        system: None,
        target: label.into(),
        references: vec![],
    }
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list directory", e))? {
        out.push(
            entry
                .map_err(|e| Error::io(dir, "cannot list directory", e))?
                .path(),
        );
    }
    out.sort();
    Ok(out)
}

/// Audio files under `dir`, recursively, sorted.
fn audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in read_dir_sorted(dir)? {
        if p.is_dir() {
            out.extend(audio_files(&p)?);
        } else if is_audio(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// VocalSound: every audio file under `dir` (recursively) named `<speaker>_<n>_<label>.<ext>`.
/// A name whose last `_` part is not a VocalSound label is dropped and counted.
pub fn vocalsound(dir: &Path, base: &Path) -> Result<Converted> {
    let task = builtin("vsc");
    let mut out = Converted::default();
    for p in audio_files(dir)? {
        let s = stem(&p);
        let token = s.rsplit('_').next().unwrap_or_default();
        let label = match token {
            "throatclearing" => Some("throat clearing"),
            t => task
                .labels
                .iter()
                .find(|l| l.as_str() == t)
                .map(String::as_str),
        };
        match label {
            Some(label) if s.contains('_') => {
                let audio = manifest_path(&p, base, &Location::new(&p, 0))?;
                out.lines.push(line(s.clone(), "vsc", audio, label));
            }
            _ => out.dropped.push(Dropped {
                source: p.display().to_string(),
                reason: format!("file name has no VocalSound label (`<speaker>_<n>_<label>`), last part `{token}`"),
            }),
        }
    }
    Ok(out.finish())
}

/// IEMOCAP emotion code → four-class label (`exc` merged into happy).
pub fn iemocap_label(code: &str) -> Option<&'static str> {
    match code {
        "neu" => Some("neutral"),
        "hap" | "exc" => Some("happy"),
        "sad" => Some("sad"),
        "ang" => Some("angry"),
        _ => None,
    }
}

/// IEMOCAP: the sessions under `root` named `Session<k>` (all when `sessions` is empty, else
/// those whose k is listed). Utterances whose emotion is not kept, or whose wav is missing, are
/// dropped and counted. A malformed evaluation line is an error naming its file and line.
pub fn iemocap(root: &Path, sessions: &[u32], base: &Path) -> Result<Converted> {
    let mut out = Converted::default();
    let mut found = 0;
    for sess in read_dir_sorted(root)? {
        let name = sess
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(k) = name
            .strip_prefix("Session")
            .and_then(|k| k.parse::<u32>().ok())
        else {
            continue;
        };
        if !sess.is_dir() || !(sessions.is_empty() || sessions.contains(&k)) {
            continue;
        }
        found += 1;
        let eval_dir = sess.join("dialog").join("EmoEvaluation");
        for file in read_dir_sorted(&eval_dir)? {
            if file.extension().and_then(|e| e.to_str()) != Some("txt") || !file.is_file() {
                continue;
            }
            let text = fs::read_to_string(&file).map_err(|e| Error::io(&file, "cannot read", e))?;
            for (i, raw) in text.lines().enumerate() {
                let loc = Location::new(&file, i + 1);
                if !raw.starts_with('[') {
                    continue;
                }
                let fields: Vec<&str> = raw.split('\t').collect();
                if fields.len() < 3 || !fields[0].ends_with(']') {
                    return Err(Error::field(
                        &loc,
                        "utterance",
                        "expected `[start - end]<TAB>turn<TAB>emotion<TAB>[v, a, d]`",
                    ));
                }
                let (turn, code) = (fields[1].trim(), fields[2].trim());
                let Some((dialog, _)) = turn.rsplit_once('_') else {
                    return Err(Error::field(
                        &loc,
                        "turn",
                        format!("`{turn}` has no `_<n>` suffix"),
                    ));
                };
                let Some(label) = iemocap_label(code) else {
                    out.dropped.push(Dropped {
                        source: loc.to_string(),
                        reason: format!("emotion `{code}` is not kept (neu, hap, exc, sad, ang)"),
                    });
                    continue;
                };
                let wav = sess
                    .join("sentences")
                    .join("wav")
                    .join(dialog)
                    .join(format!("{turn}.wav"));
                if !wav.is_file() {
                    out.dropped.push(Dropped {
                        source: loc.to_string(),
                        reason: "audio file missing".into(),
                    });
                    continue;
                }
                let audio = manifest_path(&wav, base, &loc)?;
                out.lines.push(line(turn.to_string(), "ser", audio, label));
            }
        }
    }
    if found == 0 {
        return Err(Error::config(
            "sessions",
            format!(
                "no Session<k> folder under {} matches {sessions:?}",
                root.display()
            ),
        ));
    }
    Ok(out.finish())
}

/// The 1-based line where `"key"` first appears in `text` (for error messages), else 1.
fn line_of_key(text: &str, key: &str) -> usize {
    text.find(&format!("\"{key}\""))
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

/// NSynth: `examples.json` → one line per note, label `instrument_family_str`, audio
/// `audio/<note_str>.wav` beside the JSON. Notes whose wav is missing are dropped and counted.
pub fn nsynth(examples: &Path, base: &Path) -> Result<Converted> {
    let task = builtin("mic");
    let text = fs::read_to_string(examples).map_err(|e| Error::io(examples, "cannot read", e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
        location: Location::new(examples, e.line()),
        reason: e.to_string(),
    })?;
    let Value::Object(notes) = value else {
        return Err(Error::Json {
            location: Location::new(examples, 1),
            reason: "expected an object keyed by note_str".into(),
        });
    };
    let audio_dir = examples.parent().unwrap_or(Path::new(".")).join("audio");
    let mut out = Converted::default();
    for (key, note) in &notes {
        let loc = Location::new(examples, line_of_key(&text, key));
        let family = note
            .get("instrument_family_str")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::field(
                    &loc,
                    &format!("{key}.instrument_family_str"),
                    "missing or not a string",
                )
            })?;
        if !task.labels.iter().any(|l| l == family) {
            return Err(Error::field(
                &loc,
                &format!("{key}.instrument_family_str"),
                format!(
                    "`{family}` is not an NSynth family ({})",
                    task.labels.join(", ")
                ),
            ));
        }
        let wav = audio_dir.join(format!("{key}.wav"));
        if !wav.is_file() {
            out.dropped.push(Dropped {
                source: loc.to_string(),
                reason: "audio file missing".into(),
            });
            continue;
        }
        let audio = manifest_path(&wav, base, &loc)?;
        out.lines.push(line(key.clone(), "mic", audio, family));
    }
    Ok(out.finish())
}

/// GTZAN: `genres_dir/<genre>/<file>` for the ten genres. Audio in a folder that is not a
/// genre is dropped and counted; files outside genre folders are ignored.
pub fn gtzan(genres_dir: &Path, base: &Path) -> Result<Converted> {
    let task = builtin("mgc");
    let mut out = Converted::default();
    for dir in read_dir_sorted(genres_dir)? {
        if !dir.is_dir() {
            continue;
        }
        let genre = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let known = task.labels.contains(&genre);
        for p in audio_files(&dir)? {
            if !known {
                out.dropped.push(Dropped {
                    source: p.display().to_string(),
                    reason: format!("folder `{genre}` is not a GTZAN genre"),
                });
                continue;
            }
            let audio = manifest_path(&p, base, &Location::new(&p, 0))?;
            out.lines.push(line(stem(&p), "mgc", audio, &genre));
        }
    }
    Ok(out.finish())
}

fn builtin(name: &str) -> ClassTask {
    // The built-in names are fixed; `ClassTask::builtin` knows all four.
    ClassTask::builtin(name).unwrap_or_else(|| unreachable!("built-in task {name}"))
}
