//! The workspace's one atomic writer: files and directories are written under a temporary name
//! beside their destination, fsynced and renamed into place, so readers (and a crash or a full
//! disk) see the old version or the new one, never a partial one.
//!
//! * [`write_atomic`]: a file from bytes.
//! * [`write_with`]: a file written by a closure given a path (PNG, safetensors writers).
//! * [`write_dir_atomic`]: a directory filled by a closure (checkpoints, adapters, a world).
//! * [`remove_stale_temps`]: cleans up what a crash left in a directory.
//!
//! Temporary names (one scheme for all): `.tmp-<name>-<pid>-<n>` while being written (`n` a
//! process-wide counter, so two threads never collide), and `.old-<name>-<pid>` for a directory
//! being replaced ([`TMP_PREFIX`], [`OLD_PREFIX`]).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{BoxError, Error, Result};

/// The prefix of an entry being written (`.tmp-<name>-<pid>-<n>`).
pub const TMP_PREFIX: &str = ".tmp-";
/// The prefix of a directory being replaced (`.old-<name>-<pid>`).
pub const OLD_PREFIX: &str = ".old-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `.tmp-<name>-<pid>-<n>`, unique within this process and across processes.
fn tmp_name(name: &OsStr) -> OsString {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut s = OsString::from(TMP_PREFIX);
    s.push(name);
    s.push(format!("-{}-{n}", std::process::id()));
    s
}

/// `path` as (its directory, `.` when it has none; its file name).
fn split_file(path: &Path) -> Result<(PathBuf, &OsStr)> {
    let name = path.file_name().ok_or_else(|| Error::InvalidName {
        name: path.display().to_string(),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        action,
        source,
    }
}

/// A directory entry name [`write_dir_atomic`] accepts: a non-empty file name that does not
/// start with '.' (so it can never be taken for a temporary entry).
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name() == Some(OsStr::new(name));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_string(),
        })
    }
}

/// fsync a directory so that renames and new entries in it are durable (no-op off Unix).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(io(dir, "cannot open directory"))?;
        f.sync_all().map_err(io(dir, "cannot sync directory"))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// fsync every file under `dir` (recursively) and every directory, `dir` last.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(io(dir, "cannot list"))? {
        let entry = entry.map_err(io(dir, "cannot list"))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(io(&path, "cannot read the type of"))?;
        if ty.is_dir() {
            sync_tree(&path)?;
        } else if ty.is_file() {
            let f = File::open(&path).map_err(io(&path, "cannot open"))?;
            f.sync_all().map_err(io(&path, "cannot sync"))?;
        }
    }
    sync_dir(dir)
}

/// Removes a file, a link or a whole directory; a missing `path` is fine.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The common tail of [`write_atomic`] and [`write_with`]: `write` fills the temporary file,
/// which is then fsynced and renamed onto `path`, and the directory fsynced. The temporary
/// file is removed on any error.
fn replace_file<E, F>(path: &Path, keep_extension: bool, write: F) -> std::result::Result<(), E>
where
    F: FnOnce(&Path) -> std::result::Result<(), E>,
    E: From<Error>,
{
    let (dir, name) = split_file(path)?;
    let mut tmp = dir.join(tmp_name(name));
    if keep_extension {
        if let Some(ext) = path.extension() {
            let mut s = tmp.into_os_string();
            s.push(".");
            s.push(ext);
            tmp = PathBuf::from(s);
        }
    }
    let result = write(&tmp).and_then(|()| {
        let committed = File::open(&tmp)
            .map_err(io(&tmp, "cannot open"))
            .and_then(|f| f.sync_all().map_err(io(&tmp, "cannot sync")))
            .and_then(|()| {
                fs::rename(&tmp, path).map_err(io(path, "cannot rename temporary file onto"))
            });
        Ok(committed?)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    Ok(sync_dir(&dir)?)
}

/// Writes `bytes` to `path` atomically: a temporary file `.tmp-<name>-<pid>-<n>` beside it is
/// written, fsynced and renamed over `path`, then the directory is fsynced. Readers see the
/// old file or the new one, never a partial one. The parent directory is created if missing.
/// On error nothing is left behind and the error names the path and the operation.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io(dir, "cannot create directory"))?;
    }
    replace_file(path, false, |tmp| {
        let mut f = File::create(tmp).map_err(io(tmp, "cannot create"))?;
        f.write_all(bytes).map_err(io(tmp, "cannot write"))
    })
}

/// Writes the file `path` atomically through `write`, for writers that need a path (PNG,
/// safetensors): `write` creates and fills the temporary file it is given (beside `path`,
/// named `.tmp-<name>-<pid>-<n>` plus `path`'s extension, so writers that pick a format by
/// extension see it); it is then fsynced and renamed over `path`, and the directory fsynced.
/// On any error (of `write`, returned unchanged, or of the commit) the temporary file is
/// removed. The parent directory must exist.
pub fn write_with<E, F>(path: &Path, write: F) -> std::result::Result<(), E>
where
    F: FnOnce(&Path) -> std::result::Result<(), E>,
    E: From<Error>,
{
    replace_file(path, true, write)
}

/// Writes a directory `parent/name` atomically.
///
/// `fill` writes files into a fresh temporary directory `parent/.tmp-<name>-<pid>-<n>`; then
/// every file and the directory are fsynced and it is renamed to `parent/name`. An existing
/// `parent/name` is first moved aside to `parent/.old-<name>-<pid>` and deleted only after
/// the rename succeeded. `parent` is created if missing. On any error the temporary
/// directory is removed, an earlier `parent/name` is left (or put back) in place, and the
/// error names the path and the cause (a failing `fill` gives [`Error::Fill`], whose source
/// is `fill`'s error). `name` must be a plain file name not starting with '.'
/// ([`Error::InvalidName`]).
pub fn write_dir_atomic<F, E>(parent: &Path, name: &str, fill: F) -> Result<PathBuf>
where
    F: FnOnce(&Path) -> std::result::Result<(), E>,
    E: Into<BoxError>,
{
    check_name(name)?;
    fs::create_dir_all(parent).map_err(io(parent, "cannot create directory"))?;
    let tmp = parent.join(tmp_name(OsStr::new(name)));
    remove_any(&tmp).map_err(io(&tmp, "cannot remove stale"))?;
    fs::create_dir(&tmp).map_err(io(&tmp, "cannot create directory"))?;

    let staged = fill(&tmp)
        .map_err(|e| Error::Fill {
            path: tmp.clone(),
            source: e.into(),
        })
        .and_then(|()| sync_tree(&tmp));
    if let Err(e) = staged {
        // The original error is what matters; a failed cleanup leaves only a `.tmp-` entry
        // that `remove_stale_temps` deletes later.
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }

    let dest = parent.join(name);
    let aside = parent.join(format!("{OLD_PREFIX}{name}-{}", std::process::id()));
    let had_old = dest.exists();
    if had_old {
        let moved = remove_any(&aside)
            .map_err(io(&aside, "cannot remove stale"))
            .and_then(|()| fs::rename(&dest, &aside).map_err(io(&dest, "cannot move aside")));
        if let Err(e) = moved {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    }
    if let Err(source) = fs::rename(&tmp, &dest) {
        let _ = fs::remove_dir_all(&tmp);
        if had_old {
            let _ = fs::rename(&aside, &dest);
        }
        return Err(io(&dest, "cannot rename into place")(source));
    }
    sync_dir(parent)?;
    if had_old {
        fs::remove_dir_all(&aside).map_err(io(&aside, "cannot remove the replaced directory"))?;
    }
    Ok(dest)
}

/// Cleans up after a crash: removes `.tmp-*` entries of `dir`, and for each
/// `.old-<name>-<pid>` either deletes it (its successor `<name>` is in place) or renames it
/// back to `<name>` (the crash came between moving it aside and renaming its successor in).
/// Returns the paths removed or restored; a missing `dir` has none.
pub fn remove_stale_temps(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir, "cannot list")(e)),
    };
    let mut touched = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir, "cannot list"))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let path = entry.path();
        if name.starts_with(TMP_PREFIX) {
            remove_any(&path).map_err(io(&path, "cannot remove stale"))?;
            touched.push(path);
        } else if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
            let Some((orig, pid)) = rest.rsplit_once('-') else {
                continue;
            };
            if orig.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dest = dir.join(orig);
            if dest.exists() {
                remove_any(&path).map_err(io(&path, "cannot remove stale"))?;
            } else {
                fs::rename(&path, &dest).map_err(io(&path, "cannot restore"))?;
            }
            touched.push(path);
        }
    }
    if !touched.is_empty() {
        sync_dir(dir)?;
    }
    Ok(touched)
}
