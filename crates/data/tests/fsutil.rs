//! The atomic writer (`data::fsutil`): files, directories, and the clean-up after a crash.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use data::error::BoxError;
use data::fsutil::{remove_stale_temps, write_atomic, write_dir_atomic, write_with};
use data::Error;

/// A fresh, empty scratch directory unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("data-fsutil-{}-{name}", std::process::id()));
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

const CHECKPOINT_10: &str = "checkpoint-00000010";

#[test]
fn write_dir_atomic_creates_and_replaces() {
    let run = scratch("replace");
    let name = CHECKPOINT_10.to_string();
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
    let keep = "checkpoint-00000005".to_string();
    write_dir_atomic(&run, &keep, |d| write(d, "w", "old")).expect("earlier checkpoint");
    let err = write_dir_atomic(&run, CHECKPOINT_10, |d| -> std::io::Result<()> {
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
            Err(Error::InvalidName { .. })
        ));
    }
    fs::remove_dir_all(&run).expect("cleanup");
}

#[test]
fn write_file_atomic_overwrites() {
    let run = scratch("file");
    let p = run.join("state.json");
    write_atomic(&p, b"{}").expect("write");
    write_atomic(&p, b"{\"a\":1}").expect("overwrite");
    assert_eq!(fs::read(&p).expect("read"), b"{\"a\":1}");
    assert_eq!(names(&run), vec!["state.json".to_string()]);
    // `write_atomic` creates a missing parent directory, so the unwritable target here is
    // one whose parent is a file.
    fs::write(run.join("missing"), "a file").expect("w");
    let err = write_atomic(&run.join("missing/x.json"), b"1").expect_err("no dir");
    assert!(err.to_string().contains("missing"), "{err}");
    fs::remove_dir_all(&run).expect("cleanup");
}

#[test]
fn write_atomic_creates_the_parent() {
    let run = scratch("parent");
    let p = run.join("a/b/c.txt");
    write_atomic(&p, b"x").expect("write");
    assert_eq!(fs::read(&p).expect("read"), b"x");
    assert_eq!(names(p.parent().unwrap()), vec!["c.txt"]);
    fs::remove_dir_all(&run).expect("cleanup");
}

#[test]
fn write_with_keeps_the_extension_and_removes_the_temp_on_error() {
    let run = scratch("with");
    let p = run.join("chart.png");
    let mut seen = None;
    write_with(&p, |tmp: &Path| -> data::Result<()> {
        seen = Some(tmp.to_path_buf());
        fs::write(tmp, "png").map_err(|e| Error::Io {
            path: tmp.to_path_buf(),
            action: "cannot write",
            source: e,
        })
    })
    .expect("write");
    let tmp = seen.expect("called");
    assert_eq!(tmp.parent(), Some(run.as_path()));
    assert_eq!(tmp.extension().and_then(|e| e.to_str()), Some("png"));
    let tmp_name = tmp.file_name().unwrap().to_string_lossy().into_owned();
    assert!(tmp_name.starts_with(".tmp-chart.png-"), "{tmp_name}");
    assert_eq!(fs::read_to_string(&p).expect("read"), "png");

    // The closure's own error comes back unchanged; no temporary file is left.
    let err = write_with(&p, |tmp: &Path| -> Result<(), StringError> {
        fs::write(tmp, "half").expect("w");
        Err(StringError("draw failed".to_string()))
    })
    .expect_err("fails");
    assert_eq!(err, StringError("draw failed".to_string()));
    assert_eq!(names(&run), vec!["chart.png"]);
    assert_eq!(fs::read_to_string(&p).expect("read"), "png");

    // A missing parent is an error naming the path (it is not created).
    let err = write_with(
        &run.join("no/such/x.bin"),
        |tmp: &Path| -> data::Result<()> {
            fs::write(tmp, "x").map_err(|e| Error::Io {
                path: tmp.to_path_buf(),
                action: "cannot write",
                source: e,
            })
        },
    )
    .expect_err("no dir");
    assert!(err.to_string().contains("no/such"), "{err}");
    assert_eq!(names(&run), vec!["chart.png"]);
    fs::remove_dir_all(&run).expect("cleanup");
}

/// A caller's own error type (as eval's chart has): `write_with` returns it unchanged.
#[derive(Debug, PartialEq)]
struct StringError(String);

impl From<Error> for StringError {
    fn from(e: Error) -> Self {
        StringError(e.to_string())
    }
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
    fs::create_dir(run.join("checkpoint-00000020")).expect("mkdir");
    fs::create_dir(run.join(".old-checkpoint-00000020-17")).expect("mkdir");
    let touched = remove_stale_temps(&run).expect("clean");
    assert_eq!(touched.len(), 4);
    assert_eq!(
        names(&run),
        vec!["checkpoint-00000020", "checkpoint-00000030"]
    );
    let w = fs::read_to_string(run.join("checkpoint-00000030").join("w")).expect("read");
    assert_eq!(w, "kept");
    assert!(remove_stale_temps(&run.join("absent"))
        .expect("ok")
        .is_empty());
    fs::remove_dir_all(&run).expect("cleanup");
}
