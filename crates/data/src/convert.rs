//! AudioCaps and Clotho caption CSVs to native AC manifest lines.
//!
//! * AudioCaps: `audiocap_id,youtube_id,start_time,caption`, one caption per row. The clip's
//!   file name comes from a pattern with `{audiocap_id}`, `{youtube_id}`, `{start_time}`
//!   (default [`AUDIOCAPS_DEFAULT_NAME`]).
//! * Clotho: `file_name,caption_1,...,caption_5`, one clip per row.
//!
//! [`Split::Train`] gives one line per caption (ids `<audiocap_id>` and `<file_name>#<k>`);
//! [`Split::Eval`] one line per clip, target = its first caption, `references` = the others
//! (ids: the clip's file name). AudioCaps rows are grouped into clips by the file name the
//! pattern gives, in order of first appearance. Columns are found by header name, so extra
//! columns and any column order are accepted. Errors name the file, the 1-based line and the
//! column.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::manifest::NativeLine;
use crate::task::Task;

/// The AudioCaps file name most download scripts use.
pub const AUDIOCAPS_DEFAULT_NAME: &str = "{youtube_id}_{start_time}.wav";
const AUDIOCAPS_FIELDS: [&str; 3] = ["audiocap_id", "youtube_id", "start_time"];

/// One line per caption (training) or one per clip with all captions (evaluation).
///
/// Read from command lines (clap); each variant's documentation is its help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// One line per caption (training).
    Train,
    /// One line per clip, all its captions as references (evaluation).
    Eval,
}

/// Options of the converters.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertOptions {
    pub split: Split,
    /// Prefix of every audio path as written in the manifest (usually relative to the
    /// manifest's directory, e.g. `audio/train`); empty for none.
    pub audio_dir: PathBuf,
    /// AudioCaps file-name pattern (ignored for Clotho).
    pub audio_name: String,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            split: Split::Train,
            audio_dir: PathBuf::new(),
            audio_name: AUDIOCAPS_DEFAULT_NAME.into(),
        }
    }
}

/// A parsed `{placeholder}` pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Field(usize),
}

fn parse_pattern(pattern: &str, fields: &[&str]) -> Result<Vec<Piece>> {
    let bad = |reason: String| Error::config("audio_name", format!("`{pattern}`: {reason}"));
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
        let idx = fields.iter().position(|f| *f == name).ok_or_else(|| {
            bad(format!(
                "unknown placeholder `{{{name}}}` (known: {})",
                fields.join(", ")
            ))
        })?;
        pieces.push(Piece::Field(idx));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Field(_))) {
        return Err(bad(
            "no placeholder: every clip would get the same file".into()
        ));
    }
    Ok(pieces)
}

fn render(pieces: &[Piece], values: &[&str]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.as_str(),
            Piece::Field(i) => values[*i],
        })
        .collect()
}

/// Rows of a CSV with named columns, each with its 1-based line.
struct Table {
    file: PathBuf,
    columns: Vec<usize>,
    names: Vec<String>,
    rows: Vec<(usize, csv::StringRecord)>,
}

impl Table {
    /// Reads all rows; `wanted` picks the column names from the header.
    fn read(
        reader: impl Read,
        file: &Path,
        wanted: impl FnOnce(&csv::StringRecord) -> Vec<String>,
    ) -> Result<Self> {
        let mut r = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            Error::Csv {
                location: Location::new(file, line),
                reason: e.to_string(),
            }
        };
        let header = r.headers().map_err(csv_err)?.clone();
        let wanted = wanted(&header);
        let columns = wanted
            .iter()
            .map(|w| {
                header.iter().position(|h| h.trim() == w).ok_or_else(|| {
                    Error::field(&Location::new(file, 1), w, "column missing from the header")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            rows.push((line, rec));
        }
        Ok(Self {
            file: file.to_path_buf(),
            columns,
            names: wanted,
            rows,
        })
    }

    /// Column `k` (in `wanted` order) of row `row`, trimmed; blank is an error.
    fn get<'a>(&self, row: &'a (usize, csv::StringRecord), k: usize) -> Result<&'a str> {
        let v = row.1.get(self.columns[k]).unwrap_or("").trim();
        if v.is_empty() {
            let loc = Location::new(&self.file, row.0);
            return Err(Error::field(&loc, &self.names[k], "empty"));
        }
        Ok(v)
    }
}

fn audio_path(opts: &ConvertOptions, name: &str) -> String {
    opts.audio_dir.join(name).to_string_lossy().into_owned()
}

fn ac_line(id: String, audio: String, captions: Vec<String>) -> NativeLine {
    let mut captions = captions.into_iter();
    NativeLine {
        id: Some(id),
        task: Task::Ac,
        audio: vec![audio],
        images: Vec::new(),
        videos: Vec::new(),
        prompt: None,
        system: None,
        target: captions.next().unwrap_or_default(),
        references: captions.collect(),
    }
}

/// AudioCaps CSV (read from `reader`; `file` names it in errors) to AC lines.
pub fn audiocaps(reader: impl Read, file: &Path, opts: &ConvertOptions) -> Result<Vec<NativeLine>> {
    let pattern = parse_pattern(&opts.audio_name, &AUDIOCAPS_FIELDS)?;
    let wanted: Vec<String> = AUDIOCAPS_FIELDS
        .iter()
        .chain(&["caption"])
        .map(|s| s.to_string())
        .collect();
    let table = Table::read(reader, file, |_| wanted)?;
    let mut lines: Vec<NativeLine> = Vec::new();
    let mut by_clip: HashMap<String, usize> = HashMap::new();
    for row in &table.rows {
        let values = [table.get(row, 0)?, table.get(row, 1)?, table.get(row, 2)?];
        let caption = table.get(row, 3)?.to_string();
        let name = render(&pattern, &values);
        match opts.split {
            Split::Train => lines.push(ac_line(
                values[0].to_string(),
                audio_path(opts, &name),
                vec![caption],
            )),
            Split::Eval => match by_clip.get(&name) {
                Some(&i) => lines[i].references.push(caption),
                None => {
                    by_clip.insert(name.clone(), lines.len());
                    lines.push(ac_line(
                        name.clone(),
                        audio_path(opts, &name),
                        vec![caption],
                    ));
                }
            },
        }
    }
    Ok(lines)
}

/// Clotho captions CSV (read from `reader`; `file` names it in errors) to AC lines. Every
/// `caption_<k>` column present (k = 1, 2, ... without gaps; at least `caption_1`) is used.
pub fn clotho(reader: impl Read, file: &Path, opts: &ConvertOptions) -> Result<Vec<NativeLine>> {
    let table = Table::read(reader, file, |header| {
        let n = (1..)
            .take_while(|k| header.iter().any(|h| h.trim() == format!("caption_{k}")))
            .count()
            .max(1);
        std::iter::once("file_name".to_string())
            .chain((1..=n).map(|k| format!("caption_{k}")))
            .collect()
    })?;
    let n_captions = table.names.len() - 1;
    let mut lines = Vec::new();
    for row in &table.rows {
        let name = table.get(row, 0)?;
        let captions = (1..=n_captions)
            .map(|k| table.get(row, k).map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        let audio = audio_path(opts, name);
        match opts.split {
            Split::Train => {
                for (k, c) in captions.into_iter().enumerate() {
                    lines.push(ac_line(format!("{name}#{}", k + 1), audio.clone(), vec![c]));
                }
            }
            Split::Eval => lines.push(ac_line(name.to_string(), audio, captions)),
        }
    }
    Ok(lines)
}

/// [`audiocaps`] on a file.
pub fn audiocaps_file(path: &Path, opts: &ConvertOptions) -> Result<Vec<NativeLine>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open CSV", e))?;
    audiocaps(f, path, opts)
}

/// [`clotho`] on a file.
pub fn clotho_file(path: &Path, opts: &ConvertOptions) -> Result<Vec<NativeLine>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open CSV", e))?;
    clotho(f, path, opts)
}
