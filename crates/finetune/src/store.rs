//! Checkpoint storage and retention, kept apart from what a checkpoint contains
//! (burn's `Checkpointer` vs `CheckpointingStrategy`). Writing is `data::fsutil`'s (the one
//! atomic writer): a checkpoint is a directory written under a temporary name, fsynced and
//! renamed, so a crash or a full disk never exposes a half-written one; `fsutil`'s
//! `remove_stale_temps` clears what a crash left.
//!
//! Layout of a run directory:
//! ```text
//! run_dir/checkpoint-00000100/   one finished checkpoint per kept step
//! run_dir/.tmp-…, run_dir/.old-… being written / being replaced (see data::fsutil)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const CHECKPOINT_PREFIX: &str = "checkpoint-";

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

/// `dir` as (parent, file name), for writing it with `data::fsutil::write_dir_atomic`.
pub(crate) fn split_dir(dir: &Path) -> Result<(PathBuf, String)> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::checkpoint(dir, "not a directory name"))?;
    Ok((parent, name.to_string()))
}

/// Finished checkpoints `run_dir/checkpoint-<step>` sorted by step. Temporary and other
/// entries are ignored; a missing `run_dir` has none.
pub fn list_checkpoints(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match fs::read_dir(run_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", run_dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", run_dir))?;
        let Some(step) = entry.file_name().to_str().and_then(parse_checkpoint_name) else {
            continue;
        };
        let path = entry.path();
        if entry
            .file_type()
            .map_err(Error::io("reading type of", &path))?
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
        fs::remove_dir_all(p).map_err(Error::io("removing old checkpoint", p))?;
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::scratch;

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

    #[cfg(unix)]
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
}
