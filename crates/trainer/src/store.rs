//! Checkpoint storage and retention, kept apart from what a checkpoint contains
//! (burn's `Checkpointer` vs `CheckpointingStrategy`).
//!
//! Layout of a run directory:
//! ```text
//! run_dir/checkpoint-00000100/   one finished checkpoint per kept step
//! run_dir/.tmp-<name>-<pid>      being written (never read; removed by `remove_stale_temps`)
//! run_dir/.old-<name>-<pid>      a replaced directory, deleted once its successor is in place
//! ```
//! A directory is only ever renamed into its final name after every file in it and the
//! directory itself have been fsynced, so a crash or a full disk leaves earlier checkpoints
//! intact and never exposes a half-written one.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

const TMP_PREFIX: &str = ".tmp-";
const OLD_PREFIX: &str = ".old-";
const CHECKPOINT_PREFIX: &str = "checkpoint-";

/// Error boxed from a caller's `fill` closure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing into {}: {source}", path.display())]
    Fill {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    #[error("invalid entry name {0:?} (must be a non-empty file name not starting with '.')")]
    InvalidName(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { op, path, source }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name() == Some(OsStr::new(name));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_string()))
    }
}

/// The directory name of the checkpoint taken after optimizer step `step`.
pub fn checkpoint_name(step: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{step:08}")
}

/// The step of a `checkpoint-<digits>` name (any number of digits), else `None`.
pub fn parse_checkpoint_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(CHECKPOINT_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// fsync a directory so that renames and new entries in it are durable (no-op off Unix).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(io("opening directory", dir))?;
        f.sync_all().map_err(io("syncing directory", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// fsync every file under `dir` (recursively) and every directory, `dir` last.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(io("listing", dir))? {
        let entry = entry.map_err(io("listing", dir))?;
        let path = entry.path();
        let ty = entry.file_type().map_err(io("reading type of", &path))?;
        if ty.is_dir() {
            sync_tree(&path)?;
        } else if ty.is_file() {
            let f = File::open(&path).map_err(io("opening", &path))?;
            f.sync_all().map_err(io("syncing", &path))?;
        }
    }
    sync_dir(dir)
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes a directory `parent/name` atomically.
///
/// `fill` writes files into a fresh temporary directory `parent/.tmp-<name>-<pid>`; then
/// every file and the directory are fsynced and it is renamed to `parent/name`. An existing
/// `parent/name` is first moved aside to `parent/.old-<name>-<pid>` and deleted only after
/// the rename succeeded. `parent` is created if missing. On any error the temporary
/// directory is removed, an earlier `parent/name` is left (or put back) in place, and the
/// error names the path and the cause.
pub fn write_dir_atomic<F, E>(parent: &Path, name: &str, fill: F) -> Result<PathBuf>
where
    F: FnOnce(&Path) -> std::result::Result<(), E>,
    E: Into<BoxError>,
{
    check_name(name)?;
    fs::create_dir_all(parent).map_err(io("creating directory", parent))?;
    let pid = std::process::id();
    let tmp = parent.join(format!("{TMP_PREFIX}{name}-{pid}"));
    remove_any(&tmp).map_err(io("removing stale", &tmp))?;
    fs::create_dir(&tmp).map_err(io("creating directory", &tmp))?;

    let staged = fill(&tmp)
        .map_err(|e| StoreError::Fill {
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
    let aside = parent.join(format!("{OLD_PREFIX}{name}-{pid}"));
    let had_old = dest.exists();
    if had_old {
        let moved = remove_any(&aside)
            .map_err(io("removing stale", &aside))
            .and_then(|()| fs::rename(&dest, &aside).map_err(io("moving aside", &dest)));
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
        return Err(StoreError::Io {
            op: "renaming into place",
            path: dest,
            source,
        });
    }
    sync_dir(parent)?;
    if had_old {
        fs::remove_dir_all(&aside).map_err(io("removing replaced", &aside))?;
    }
    Ok(dest)
}

/// Writes `bytes` to `path` atomically: a temporary file `.tmp-<file name>-<pid>` beside
/// it is written, fsynced and renamed over `path`, then the directory is fsynced.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .and_then(OsStr::to_str)
        .ok_or_else(|| StoreError::InvalidName(path.display().to_string()))?;
    check_name(name)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp).map_err(io("creating", &tmp))?;
        f.write_all(bytes).map_err(io("writing", &tmp))?;
        f.sync_all().map_err(io("syncing", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io("renaming into place", path))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)
}

/// Finished checkpoints `run_dir/checkpoint-<step>` sorted by step. Temporary and other
/// entries are ignored; a missing `run_dir` has none.
pub fn list_checkpoints(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match fs::read_dir(run_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("listing", run_dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("listing", run_dir))?;
        let Some(step) = entry.file_name().to_str().and_then(parse_checkpoint_name) else {
            continue;
        };
        let path = entry.path();
        if entry
            .file_type()
            .map_err(io("reading type of", &path))?
            .is_dir()
        {
            out.push((step, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Retention policy (pure): the checkpoints to delete so that only the `keep_last` highest
/// steps remain. `keep_last == 0` keeps everything.
pub fn to_delete(existing: &[(u64, PathBuf)], keep_last: usize) -> Vec<PathBuf> {
    if keep_last == 0 || existing.len() <= keep_last {
        return Vec::new();
    }
    let mut sorted: Vec<&(u64, PathBuf)> = existing.iter().collect();
    sorted.sort();
    let n = sorted.len() - keep_last;
    sorted[..n].iter().map(|(_, p)| p.clone()).collect()
}

/// The finished checkpoint with the highest step, if any.
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<PathBuf>> {
    Ok(list_checkpoints(run_dir)?.pop().map(|(_, p)| p))
}

/// Deletes the checkpoints `to_delete` selects (call after a save succeeded).
pub fn prune_checkpoints(run_dir: &Path, keep_last: usize) -> Result<Vec<PathBuf>> {
    let doomed = to_delete(&list_checkpoints(run_dir)?, keep_last);
    for p in &doomed {
        fs::remove_dir_all(p).map_err(io("removing old checkpoint", p))?;
    }
    Ok(doomed)
}

/// Cleans up after a crash: removes `.tmp-*` entries, and for each `.old-<name>-<pid>`
/// either deletes it (its successor `<name>` is in place) or renames it back to `<name>`
/// (the crash came between moving it aside and renaming its successor in). Returns the
/// paths removed or restored.
pub fn remove_stale_temps(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(run_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("listing", run_dir)(e)),
    };
    let mut touched = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("listing", run_dir))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let path = entry.path();
        if name.starts_with(TMP_PREFIX) {
            remove_any(&path).map_err(io("removing stale", &path))?;
            touched.push(path);
        } else if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
            let Some((orig, pid)) = rest.rsplit_once('-') else {
                continue;
            };
            if orig.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dest = run_dir.join(orig);
            if dest.exists() {
                remove_any(&path).map_err(io("removing stale", &path))?;
            } else {
                fs::rename(&path, &dest).map_err(io("restoring", &path))?;
            }
            touched.push(path);
        }
    }
    if !touched.is_empty() {
        sync_dir(run_dir)?;
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty scratch directory unique to this process and test.
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trainer-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("create scratch dir");
        d
    }

    fn write(dir: &Path, file: &str, text: &str) -> std::io::Result<()> {
        fs::write(dir.join(file), text)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn checkpoint_names_round_trip() {
        assert_eq!(checkpoint_name(42), "checkpoint-00000042");
        assert_eq!(parse_checkpoint_name("checkpoint-00000042"), Some(42));
        assert_eq!(
            parse_checkpoint_name("checkpoint-123456789"),
            Some(123456789)
        );
        assert_eq!(parse_checkpoint_name("checkpoint-"), None);
        assert_eq!(parse_checkpoint_name("checkpoint-12a"), None);
        assert_eq!(parse_checkpoint_name("checkpoint-+12"), None);
        assert_eq!(parse_checkpoint_name(".tmp-checkpoint-00000042-7"), None);
    }

    #[test]
    fn write_dir_atomic_creates_and_replaces() {
        let run = scratch("replace");
        let name = checkpoint_name(10);
        let p = write_dir_atomic(&run, &name, |d| write(d, "a.txt", "one")).expect("first");
        assert_eq!(p, run.join(&name));
        assert_eq!(fs::read_to_string(p.join("a.txt")).expect("read"), "one");
        // Replacing: the new content wins and no stale entry is left behind.
        write_dir_atomic(&run, &name, |d| {
            fs::create_dir(d.join("sub"))?;
            write(&d.join("sub"), "b.txt", "two")
        })
        .expect("second");
        assert!(!p.join("a.txt").exists());
        assert_eq!(
            fs::read_to_string(p.join("sub/b.txt")).expect("read"),
            "two"
        );
        assert_eq!(names(&run), vec![name]);
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn failing_fill_leaves_nothing_and_keeps_earlier() {
        let run = scratch("fill-fails");
        let keep = checkpoint_name(5);
        write_dir_atomic(&run, &keep, |d| write(d, "w", "old")).expect("earlier checkpoint");
        let name = checkpoint_name(10);
        let err = write_dir_atomic(&run, &name, |d| -> std::io::Result<()> {
            write(d, "half.bin", "partial")?;
            Err(std::io::Error::other("No space left on device (simulated)"))
        })
        .expect_err("fill fails");
        let msg = err.to_string();
        assert!(msg.contains(".tmp-checkpoint-00000010"), "{msg}");
        assert!(msg.contains("No space left"), "{msg}");
        assert_eq!(names(&run), vec![keep.clone()]);
        // A failing overwrite of an existing checkpoint keeps the old one.
        write_dir_atomic(&run, &keep, |_| Err::<(), _>("disk full")).expect_err("fails");
        assert_eq!(
            fs::read_to_string(run.join(&keep).join("w")).expect("read"),
            "old"
        );
        assert_eq!(names(&run), vec![keep]);
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_parent_gives_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let run = scratch("readonly");
        fs::set_permissions(&run, fs::Permissions::from_mode(0o500)).expect("chmod");
        // Root ignores permissions: probe, and skip the assertion when they are not enforced.
        let enforced = File::create(run.join("probe")).is_err();
        let res = write_dir_atomic(&run, "checkpoint-00000001", |d| write(d, "x", "y"));
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).expect("chmod back");
        if enforced {
            let msg = res.expect_err("must fail").to_string();
            assert!(msg.contains(&*run.to_string_lossy()), "{msg}");
            assert!(!run.join("checkpoint-00000001").exists());
        } else {
            eprintln!("permissions not enforced (running as root?): skipping assertion");
        }
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn invalid_names_rejected() {
        let run = scratch("names");
        for bad in ["", ".hidden", "a/b", ".."] {
            assert!(matches!(
                write_dir_atomic(&run, bad, |_| Ok::<(), BoxError>(())),
                Err(StoreError::InvalidName(_))
            ));
        }
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn write_file_atomic_overwrites() {
        let run = scratch("file");
        let p = run.join("state.json");
        write_file_atomic(&p, b"{}").expect("write");
        write_file_atomic(&p, b"{\"a\":1}").expect("overwrite");
        assert_eq!(fs::read(&p).expect("read"), b"{\"a\":1}");
        assert_eq!(names(&run), vec!["state.json".to_string()]);
        let err = write_file_atomic(&run.join("missing/x.json"), b"1").expect_err("no dir");
        assert!(err.to_string().contains("missing"), "{err}");
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn listing_retention_and_latest() {
        let run = scratch("list");
        assert_eq!(latest_checkpoint(&run.join("absent")).expect("ok"), None);
        for step in [30u64, 10, 20, 100_000_000] {
            fs::create_dir(run.join(checkpoint_name(step))).expect("mkdir");
        }
        fs::create_dir(run.join(".tmp-checkpoint-00000040-1")).expect("mkdir");
        fs::create_dir(run.join("checkpoint-final")).expect("mkdir");
        fs::write(run.join("checkpoint-00000050"), "a file, not a checkpoint").expect("w");
        fs::write(run.join("metrics.jsonl"), "").expect("w");
        let list = list_checkpoints(&run).expect("list");
        let steps: Vec<u64> = list.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, vec![10, 20, 30, 100_000_000]);
        assert_eq!(
            latest_checkpoint(&run).expect("latest"),
            Some(run.join("checkpoint-100000000"))
        );

        assert!(to_delete(&list, 0).is_empty());
        assert!(to_delete(&list, 4).is_empty());
        assert!(to_delete(&list, 9).is_empty());
        let mut shuffled = list.clone();
        shuffled.reverse();
        assert_eq!(
            to_delete(&shuffled, 2),
            vec![run.join(checkpoint_name(10)), run.join(checkpoint_name(20))]
        );
        let removed = prune_checkpoints(&run, 1).expect("prune");
        assert_eq!(removed.len(), 3);
        let steps: Vec<u64> = list_checkpoints(&run)
            .expect("list")
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(steps, vec![100_000_000]);
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn stale_temps_removed_and_orphaned_old_restored() {
        let run = scratch("stale");
        fs::create_dir(run.join(".tmp-checkpoint-00000040-17")).expect("mkdir");
        fs::write(run.join(".tmp-metrics.jsonl-17"), "x").expect("w");
        // Crash after moving checkpoint-30 aside, before its successor was renamed in.
        fs::create_dir(run.join(".old-checkpoint-00000030-17")).expect("mkdir");
        fs::write(run.join(".old-checkpoint-00000030-17/w"), "kept").expect("w");
        // Crash after the successor was in place: the old copy is just garbage.
        fs::create_dir(run.join(checkpoint_name(20))).expect("mkdir");
        fs::create_dir(run.join(".old-checkpoint-00000020-17")).expect("mkdir");
        let touched = remove_stale_temps(&run).expect("clean");
        assert_eq!(touched.len(), 4);
        assert_eq!(names(&run), vec![checkpoint_name(20), checkpoint_name(30)]);
        let w = fs::read_to_string(run.join(checkpoint_name(30)).join("w")).expect("read");
        assert_eq!(w, "kept");
        assert!(remove_stale_temps(&run.join("absent"))
            .expect("ok")
            .is_empty());
        fs::remove_dir_all(&run).expect("cleanup");
    }
}
