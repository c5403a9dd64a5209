//! Shared helpers of the eval crate's integration tests: the committed tiny model and clips,
//! scratch directories, and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{DType, Device};
use model::Qwen2AudioModel;

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

pub fn tiny_dir() -> PathBuf {
    fixtures().join("tiny/model")
}

pub fn tiny() -> Qwen2AudioModel {
    Qwen2AudioModel::from_source(tiny_dir().to_str().unwrap(), &Device::Cpu, DType::F32, None)
        .unwrap()
}

/// Absolute path of a committed tiny clip.
pub fn clip(name: &str) -> PathBuf {
    fixtures().join("tiny/clips").join(name)
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("eval-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the eval binary: (success, stdout, stderr).
pub fn eval(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eval"))
        .args(args)
        .env_remove("AAC_METEOR_JAR")
        .env_remove("AAC_SPICE_JAR")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
