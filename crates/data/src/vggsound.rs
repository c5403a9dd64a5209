//! VGGSound-style clip lists → native multiple-choice manifests over local files, one per
//! split, and the task file of their classes.
//!
//! Input: a CSV of `youtube_id,start_seconds,label,split` rows, as VGGSound publishes it
//! (`vggsound.csv`, no header; labels with commas are quoted). A file with a header row is
//! read too: its columns are then found by name (`youtube_id` / `ytid` / `# YouTube ID` / `id`,
//! `start_seconds` / `start` / `start_time`, `label` / `class`, `split` / `set`; case, spaces
//! and `#` ignored), in any order. The first row is a header when its start field is not a
//! whole number.
//!
//! Each row names a clip; its files are found by patterns under folders
//! ([`VggSoundOptions`]): `{id}` (the YouTube id), `{start}` (the start as written),
//! `{start:0N}` (zero-padded to N digits, e.g. `{id}_{start:06}.mp4`), `{label}`. Audio
//! must be a file; a video may be an MP4 file or a folder of frames. A row whose file is
//! missing is an error naming the CSV line, or (with [`OnBad::Skip`]) left out and listed.
//!
//! Output, in the output folder: `<split>.jsonl` per split, each line
//! `{"id": "<youtube_id>_<start>", "task": "vggsound", "audio": […], "videos": […],
//! "target": label}` (paths relative to the folder when under it, else absolute), and
//! `task.toml`, a [`ChoiceTask`] over every label of the CSV (sorted; 10 options, or fewer
//! with fewer classes; seed 0; the paper's prompt) ready for `eval choice --task`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::choice::{ChoiceTask, DEFAULT_PROMPT};
use crate::error::{Error, Location, Result};
use crate::manifest::{write_manifest, NativeLine, OnBad, Skipped};
use crate::task::Task;

/// The task name lines are written with by default.
pub const VGGSOUND_TASK: &str = "vggsound";
/// The default audio file name.
pub const DEFAULT_AUDIO_NAME: &str = "{id}_{start}.wav";
/// The default video file (or frame folder) name.
pub const DEFAULT_VIDEO_NAME: &str = "{id}_{start}.mp4";

/// One row of the clip list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VggRow {
    /// Where the row is (`file:line`).
    pub location: Location,
    pub youtube_id: String,
    /// The start second as written (a whole number).
    pub start: String,
    pub label: String,
    pub split: String,
}

/// Where a clip's files are and what to write.
#[derive(Debug, Clone, PartialEq)]
pub struct VggSoundOptions {
    /// The folder of the audio files (no audio in the manifest when absent).
    pub audio_dir: Option<PathBuf>,
    /// The audio file name pattern.
    pub audio_name: String,
    /// The folder of the videos or frame folders (no video when absent).
    pub video_dir: Option<PathBuf>,
    /// The video name pattern.
    pub video_name: String,
    /// The splits to write (all when empty).
    pub splits: Vec<String>,
    /// The lines' task name.
    pub task: String,
    /// A row with a missing file or a repeated clip: error, or leave out and list.
    pub on_bad: OnBad,
}

impl Default for VggSoundOptions {
    fn default() -> Self {
        Self {
            audio_dir: None,
            audio_name: DEFAULT_AUDIO_NAME.into(),
            video_dir: None,
            video_name: DEFAULT_VIDEO_NAME.into(),
            splits: vec![],
            task: VGGSOUND_TASK.into(),
            on_bad: OnBad::Error,
        }
    }
}

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq)]
pub struct VggSoundConverted {
    /// The lines of each split, in CSV order.
    pub splits: BTreeMap<String, Vec<NativeLine>>,
    /// The task over every label of the CSV (`None` with fewer than 2 labels).
    pub task: Option<ChoiceTask>,
    /// Rows left out, with the reason (missing files named).
    pub skipped: Vec<Skipped>,
    /// The files written (manifests, then `task.toml`), empty for [`plan_vggsound`].
    pub written: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Id,
    Start(Option<usize>),
    Label,
}

fn parse_name(pattern: &str, field: &str) -> Result<Vec<Piece>> {
    let bad = |reason: String| Error::config(field, format!("`{pattern}`: {reason}"));
    let mut pieces = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(bad("`}` without `{`".into()));
        }
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| bad("`{` without `}`".into()))?;
        let name = &rest[open + 1..open + close];
        pieces.push(match name {
            "id" => Piece::Id,
            "start" => Piece::Start(None),
            "label" => Piece::Label,
            _ => match name.strip_prefix("start:0").map(str::parse::<usize>) {
                Some(Ok(n)) if (1..=12).contains(&n) => Piece::Start(Some(n)),
                _ => {
                    return Err(bad(format!(
                        "unknown placeholder `{{{name}}}` (known: {{id}}, {{start}}, \
                         {{start:0N}}, {{label}})"
                    )))
                }
            },
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    if !pieces.contains(&Piece::Id) {
        return Err(bad("no {id}: every clip would get the same file".into()));
    }
    Ok(pieces)
}

fn render(pieces: &[Piece], row: &VggRow) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Lit(s) => out.push_str(s),
            Piece::Id => out.push_str(&row.youtube_id),
            Piece::Start(None) => out.push_str(&row.start),
            Piece::Start(Some(n)) => {
                // The start was checked to be a whole number when the row was read.
                let v: u64 = row.start.parse().unwrap_or(0);
                out.push_str(&format!("{v:0n$}", n = *n));
            }
            Piece::Label => out.push_str(&row.label),
        }
    }
    out
}

/// `Youtube ID` → `youtube_id`: lower case, `#` dropped, spaces as `_`.
fn column_key(name: &str) -> String {
    name.replace('#', "")
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
}

const COLUMNS: [(&str, &[&str]); 4] = [
    ("youtube_id", &["youtube_id", "ytid", "id", "video_id"]),
    ("start_seconds", &["start_seconds", "start", "start_time"]),
    ("label", &["label", "class"]),
    ("split", &["split", "set"]),
];

/// Reads the clip list (with or without a header). Errors name the file, line and column.
pub fn read_rows(reader: impl Read, file: &Path) -> Result<Vec<VggRow>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let csv_err = |e: csv::Error| Error::Csv {
        location: Location::new(file, e.position().map_or(0, |p| p.line() as usize)),
        reason: e.to_string(),
    };
    let mut records = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        records.push((line, rec));
    }
    let is_header = records
        .first()
        .is_some_and(|(_, rec)| rec.get(1).is_none_or(|s| s.trim().parse::<u64>().is_err()));
    let mut columns = [0, 1, 2, 3];
    if is_header {
        let (line, header) = records.remove(0);
        let keys: Vec<String> = header.iter().map(column_key).collect();
        for (slot, (name, aliases)) in columns.iter_mut().zip(COLUMNS) {
            *slot = keys
                .iter()
                .position(|k| aliases.contains(&k.as_str()))
                .ok_or_else(|| {
                    Error::field(
                        &Location::new(file, line),
                        name,
                        format!(
                            "column missing from the header (accepted names: {})",
                            aliases.join(", ")
                        ),
                    )
                })?;
        }
    }
    let mut rows = Vec::with_capacity(records.len());
    for (line, rec) in records {
        let loc = Location::new(file, line);
        let mut values = Vec::with_capacity(4);
        for (&c, (name, _)) in columns.iter().zip(COLUMNS) {
            let v = rec.get(c).map(str::trim).unwrap_or("");
            if v.is_empty() {
                return Err(Error::field(&loc, name, "missing or empty"));
            }
            values.push(v.to_string());
        }
        if values[1].parse::<u64>().is_err() {
            return Err(Error::field(
                &loc,
                "start_seconds",
                format!("`{}` is not a whole number of seconds", values[1]),
            ));
        }
        let mut v = values.into_iter();
        rows.push(VggRow {
            location: loc,
            youtube_id: v.next().unwrap_or_default(),
            start: v.next().unwrap_or_default(),
            label: v.next().unwrap_or_default(),
            split: v.next().unwrap_or_default(),
        });
    }
    Ok(rows)
}

/// The manifest lines of `rows` (paths written relative to `base` when under it), without
/// writing anything.
pub fn plan_vggsound(
    rows: &[VggRow],
    opts: &VggSoundOptions,
    base: &Path,
) -> Result<VggSoundConverted> {
    if opts.audio_dir.is_none() && opts.video_dir.is_none() {
        return Err(Error::config(
            "audio_dir",
            "neither an audio nor a video folder: the manifest would have no media",
        ));
    }
    let task = Task::from_name(&opts.task).map_err(|e| Error::config("task", e))?;
    let audio = parse_name(&opts.audio_name, "audio_name")?;
    let video = parse_name(&opts.video_name, "video_name")?;
    for s in &opts.splits {
        if !rows.iter().any(|r| &r.split == s) {
            let known: BTreeSet<&str> = rows.iter().map(|r| r.split.as_str()).collect();
            return Err(Error::config(
                "splits",
                format!(
                    "no row of split `{s}` (the list has: {})",
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let base_abs = absolute(base)?;
    let mut splits: BTreeMap<String, Vec<NativeLine>> = BTreeMap::new();
    for s in &opts.splits {
        splits.insert(s.clone(), vec![]);
    }
    let mut skipped = Vec::new();
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for row in rows {
        if !opts.splits.is_empty() && !opts.splits.contains(&row.split) {
            continue;
        }
        let id = format!("{}_{}", row.youtube_id, row.start);
        let checked = (|| -> Result<NativeLine> {
            if let Some(first) = seen.get(&id) {
                return Err(Error::field(
                    &row.location,
                    "youtube_id",
                    format!("clip `{id}` repeats line {}", first.line),
                ));
            }
            let media = |dir: &Option<PathBuf>,
                         pieces: &[Piece],
                         field: &str,
                         ok: fn(&Path) -> bool|
             -> Result<Vec<String>> {
                let Some(dir) = dir else { return Ok(vec![]) };
                let path = dir.join(render(pieces, row));
                if !ok(&path) {
                    return Err(Error::field(
                        &row.location,
                        field,
                        format!("{} not found", path.display()),
                    ));
                }
                Ok(vec![relative_to(&path, &base_abs, &row.location, field)?])
            };
            let audio = media(&opts.audio_dir, &audio, "audio", Path::is_file)?;
            let videos = media(&opts.video_dir, &video, "video", Path::exists)?;
            Ok(NativeLine {
                id: Some(id.clone()),
                task: task.clone(),
                audio,
                images: vec![],
                videos,
                prompt: None,
                system: None,
                target: row.label.clone(),
                references: vec![],
            })
        })();
        match (checked, opts.on_bad) {
            (Ok(line), _) => {
                seen.insert(id, row.location.clone());
                splits.entry(row.split.clone()).or_default().push(line);
            }
            (Err(e), OnBad::Error) => return Err(e),
            (Err(e), OnBad::Skip) => skipped.push(Skipped {
                location: row.location.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let classes: BTreeSet<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let task = (classes.len() >= 2).then(|| ChoiceTask {
        name: opts.task.trim().to_string(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
        options: classes.len().min(10),
        seed: 0,
        order: Default::default(),
        prompt: DEFAULT_PROMPT.into(),
    });
    Ok(VggSoundConverted {
        splits,
        task,
        skipped,
        written: vec![],
    })
}

/// Reads the clip list `csv` and writes `<out_dir>/<split>.jsonl` per split and
/// `<out_dir>/task.toml` (with at least two labels), each atomically.
pub fn convert_vggsound(
    csv: &Path,
    opts: &VggSoundOptions,
    out_dir: &Path,
) -> Result<VggSoundConverted> {
    let file = std::fs::File::open(csv).map_err(|e| Error::io(csv, "cannot open", e))?;
    let rows = read_rows(std::io::BufReader::new(file), csv)?;
    if rows.is_empty() {
        return Err(Error::Dataset {
            path: csv.to_path_buf(),
            reason: "no rows".into(),
        });
    }
    let mut c = plan_vggsound(&rows, opts, out_dir)?;
    for (split, lines) in &c.splits {
        let path = out_dir.join(format!("{split}.jsonl"));
        write_manifest(&path, lines)?;
        c.written.push(path);
    }
    if let Some(task) = &c.task {
        let text =
            toml::to_string(task).map_err(|e| Error::config("task", format!("as TOML: {e}")))?;
        let path = out_dir.join("task.toml");
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        c.written.push(path);
    }
    Ok(c)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, "cannot make absolute", e))
}

/// `path` as written in a manifest in `base`: relative when under it, else absolute.
fn relative_to(path: &Path, base: &Path, loc: &Location, field: &str) -> Result<String> {
    let abs = absolute(path)?;
    let shown = abs.strip_prefix(base).unwrap_or(&abs);
    shown
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::field(loc, field, "path is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_render_and_bad_ones_are_named() {
        let row = VggRow {
            location: Location::new("x.csv", 1),
            youtube_id: "abc".into(),
            start: "30".into(),
            label: "dog barking".into(),
            split: "test".into(),
        };
        let p = parse_name("{label}/{id}_{start:06}.mp4", "video_name").unwrap();
        assert_eq!(render(&p, &row), "dog barking/abc_000030.mp4");
        let p = parse_name(DEFAULT_AUDIO_NAME, "audio_name").unwrap();
        assert_eq!(render(&p, &row), "abc_30.wav");
        for bad in ["{start}.wav", "{id}_{end}.wav", "{id", "id}"] {
            let e = parse_name(bad, "audio_name").unwrap_err().to_string();
            assert!(e.contains("audio_name") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn header_columns_are_found_by_name() {
        assert_eq!(column_key("# YouTube ID"), "youtube_id");
        assert_eq!(column_key(" Start Seconds "), "start_seconds");
    }
}
