//! Test support shared by the workspace's crates, so that each helper has one home:
//!
//! * where the committed fixtures are: [`fixtures`] (the repository's `tests/fixtures`, made
//!   by the generators in `scripts/`), with the tiny reference model's paths
//!   [`tiny_model_dir`] and [`tiny_clip`]; the shipped [`configs`];
//! * a fresh, empty scratch directory per test: [`scratch`];
//! * comparisons of candle tensors against reference values: [`max_abs`], [`max_abs_diff`],
//!   [`rel_err`];
//! * reading fixture and output files: [`load_tensors`] (safetensors), [`read_json`],
//!   [`read_json_as`], [`read_jsonl`], [`read_jsonl_as`];
//! * running a binary and capturing its output: [`run`], [`run_bin`].
//!
//! A dev-dependency only (`publish = false`). Every helper panics with the path (and the
//! reason) when it fails, which is what a test wants; none of them asserts anything about
//! the values it returns.
//!
//! ```no_run
//! let reference = testkit::load_tensors(testkit::fixtures().join("tiny/reference.safetensors"));
//! let out = testkit::scratch("my-test"); // empty, unique to this process and name
//! # let ours = reference["single.logits"].clone();
//! assert!(testkit::max_abs_diff(&ours, &reference["single.logits"]) <= 1e-4);
//! # let _ = out;
//! ```
//!
//! Helpers used by one crate only stay in that crate's `tests/common`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{DType, Device, Tensor};
use serde::de::DeserializeOwned;

/// The repository's `tests/fixtures` directory (golden outputs of the reference
/// implementations, the tiny model, audio clips).
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

/// The repository's `configs` directory (the shipped experiment and evaluation configs).
pub fn configs() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs"))
}

/// The committed tiny Qwen2-Audio checkpoint: `tests/fixtures/tiny/model`.
pub fn tiny_model_dir() -> PathBuf {
    fixtures().join("tiny/model")
}

/// A committed clip of the tiny model's fixtures: `tests/fixtures/tiny/clips/<name>`.
pub fn tiny_clip(name: &str) -> PathBuf {
    fixtures().join("tiny/clips").join(name)
}

/// A fresh, empty directory `<temp dir>/testkit-<process id>-<name>`: whatever an earlier
/// run left there is removed first. Unique to this process and `name`, so tests of one
/// binary, which run in parallel threads, must pass different names. It is left in place
/// afterwards, for inspecting a failure.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("testkit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
    d
}

/// Every tensor of a safetensors file, on the CPU, by name.
pub fn load_tensors(path: impl AsRef<Path>) -> HashMap<String, Tensor> {
    let path = path.as_ref();
    candle_core::safetensors::load(path, &Device::Cpu)
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// max |t| over all elements, computed in f64 (any dtype; panics on an empty tensor).
pub fn max_abs(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64)
        .and_then(|t| t.abs())
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.max(0))
        .and_then(|t| t.to_scalar::<f64>())
        .unwrap_or_else(|e| panic!("max |t| of a {:?} tensor: {e}", t.shape()))
}

/// max |a − b| over all elements, computed in f64 (any dtypes). The shapes must be equal.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let d = a
        .to_dtype(DType::F64)
        .and_then(|a| b.to_dtype(DType::F64).and_then(|b| a - b))
        .unwrap_or_else(|e| panic!("a − b: {e}"));
    max_abs(&d)
}

/// The error of `a` relative to the reference `b`: max |a − b| / max(max |b|, 1e-12), in f64.
pub fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    max_abs_diff(a, b) / max_abs(b).max(1e-12)
}

/// A JSON file as a [`serde_json::Value`].
pub fn read_json(path: impl AsRef<Path>) -> serde_json::Value {
    read_json_as(path)
}

/// A JSON file deserialised into `T`.
pub fn read_json_as<T: DeserializeOwned>(path: impl AsRef<Path>) -> T {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON Lines file: one [`serde_json::Value`] per line.
pub fn read_jsonl(path: impl AsRef<Path>) -> Vec<serde_json::Value> {
    read_jsonl_as(path)
}

/// A JSON Lines file, each line deserialised into `T`.
pub fn read_jsonl_as<T: DeserializeOwned>(path: impl AsRef<Path>) -> Vec<T> {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Runs `cmd` to completion: (exited successfully, stdout, stderr), the output decoded
/// lossily as UTF-8. Panics only when the program cannot be started.
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {:?}: {e}", cmd.get_program()));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the program `exe` (in a crate's integration tests: `env!("CARGO_BIN_EXE_<name>")`)
/// with `args`: (exited successfully, stdout, stderr), as [`run`].
pub fn run_bin(exe: impl AsRef<OsStr>, args: &[&str]) -> (bool, String, String) {
    run(Command::new(exe).args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_is_the_repositorys() {
        assert!(fixtures().join("tiny").is_dir(), "{}", fixtures().display());
        assert!(tiny_model_dir().join("config.json").is_file());
        assert!(tiny_clip("tone.wav").is_file());
        assert!(configs().join("eval").is_dir(), "{}", configs().display());
    }

    #[test]
    fn scratch_is_fresh_and_empty() {
        let d = scratch("self-test");
        std::fs::write(d.join("x"), b"x").unwrap();
        let again = scratch("self-test");
        assert_eq!(d, again);
        assert_eq!(std::fs::read_dir(&again).unwrap().count(), 0);
        std::fs::remove_dir_all(again).unwrap();
    }

    #[test]
    fn differences_in_f64() {
        let a = Tensor::new(&[1f32, -3.0, 2.0], &Device::Cpu).unwrap();
        let b = Tensor::new(&[1.5f32, -3.0, 4.0], &Device::Cpu).unwrap();
        assert_eq!(max_abs(&a), 3.0);
        assert_eq!(max_abs_diff(&a, &b), 2.0);
        assert_eq!(rel_err(&a, &b), 0.5);
        let zero = Tensor::zeros(3, DType::BF16, &Device::Cpu).unwrap();
        assert_eq!(rel_err(&zero, &zero), 0.0);
    }

    #[test]
    fn run_captures_status_and_output() {
        let (ok, stdout, stderr) = run(Command::new("sh").args(["-c", "echo out; echo err >&2"]));
        assert!(ok);
        assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));
        assert!(!run_bin("sh", &["-c", "exit 3"]).0);
    }
}
