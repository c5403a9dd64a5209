//! Helpers of the eval crate's integration tests: the committed tiny model, and running the
//! eval binary. Fixture paths, scratch directories and JSON readers are in `testkit`.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use candle_core::{DType, Device};
use model::Model;

pub fn tiny() -> Model {
    let dir = testkit::tiny_model_dir();
    Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap()
}

/// Runs the eval binary, METEOR and SPICE jars unset: (success, stdout, stderr).
pub fn eval(args: &[&str]) -> (bool, String, String) {
    testkit::run(
        Command::new(env!("CARGO_BIN_EXE_eval"))
            .args(args)
            .env_remove("AAC_METEOR_JAR")
            .env_remove("AAC_SPICE_JAR"),
    )
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
