//! Writing result files atomically (a temporary file beside the target, then a rename) and
//! reading JSONL files line by line with their line numbers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path beside `path`, unique within this process and across processes.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create directory", e))
}

/// Writes `bytes` to `path` atomically, creating the parent directory if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create", e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&tmp, "cannot write", e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot rename temporary file onto", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `value` as pretty JSON with a final newline, written atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::file(path, format!("cannot serialise: {e}")))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// One compact JSON line per item, written atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<()> {
    let mut text = String::new();
    for item in items {
        let line = serde_json::to_string(item)
            .map_err(|e| Error::file(path, format!("cannot serialise: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads a whole text file.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))
}

/// Reads a JSON file into `T`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::Line {
        path: path.to_path_buf(),
        line: e.line(),
        reason: format!("invalid JSON: {e}"),
    })
}

/// Every non-blank line of a JSONL file parsed as `T`, with its 1-based line number. A line
/// that does not parse is an [`Error::Line`] naming it.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<(usize, T)>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(line).map_err(|e| Error::Line {
            path: path.to_path_buf(),
            line: i + 1,
            reason: format!("invalid line: {e}"),
        })?;
        out.push((i + 1, item));
    }
    Ok(out)
}
