//! `trainer --nproc N`: the command trains data-parallel on N ranks (threads of one process;
//! the logic is tested in `crates/finetune/tests/parallel.rs`), records the world size in
//! its checkpoints and refuses to resume with another; the torchrun-style multi-process
//! environment, not implemented in this build, is refused instead of trained as one rank.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{fixtures, scratch};

/// A tiny AC manifest and a LoRA config over it.
fn setup(dir: &Path) -> PathBuf {
    let clips = fixtures().join("tiny/clips");
    let line = |clip: &str, target: &str| {
        format!(
            "{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"{target}\"}}\n",
            clips.join(clip).display()
        )
    };
    let manifest = [
        line("speech.wav", "a voice hums"),
        line("tone.wav", "a steady tone"),
        line("noise_pluck.wav", "noise and a pluck"),
    ]
    .concat();
    std::fs::write(dir.join("ac.jsonl"), manifest).unwrap();
    let cfg = format!(
        r#"
[model]
source = "{model}"
dtype = "f32"
device = "cpu"
[lora]
r = 4
alpha = 8
[train]
lr = 1e-3
steps = 2
grad_accum = 2
seed = 1
[[data.train]]
task = "ac"
manifest = "{dir}/ac.jsonl"
[output]
dir = "{dir}/run"
"#,
        model = fixtures().join("tiny/model").display(),
        dir = dir.display(),
    );
    let p = dir.join("cfg.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn trainer(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args);
    for k in [
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
    ] {
        c.env_remove(k);
    }
    c
}

#[test]
fn nproc_trains_on_two_ranks_and_resumes_only_with_two() {
    let d = scratch("trainer-nproc");
    let cfg = setup(&d);
    let cfg = cfg.to_str().unwrap();
    let (ok, _, err) = testkit::run(&mut trainer(&["--config", cfg, "--nproc", "2"]));
    assert!(ok, "{err}");
    let run = d.join("run");
    let state = testkit::read_json(run.join("checkpoint-00000002/state.json"));
    assert_eq!(state["world_size"], 2);
    assert_eq!(testkit::read_jsonl(run.join("metrics.jsonl")).len(), 2);
    assert!(run.join("adapter/adapter_model.safetensors").is_file());
    assert!(run.join("loss.png").is_file());

    // Two more steps with one rank: refused, naming the world size to use.
    let (ok, _, err) = testkit::run(&mut trainer(&["--config", cfg, "--set", "train.steps=4"]));
    assert!(!ok);
    assert!(
        err.contains("trained with 2 rank(s), this run has 1") && err.contains("--nproc 2"),
        "{err}"
    );

    let (ok, _, err) = testkit::run(&mut trainer(&["--config", cfg, "--nproc", "0"]));
    assert!(!ok && err.contains("--nproc"), "{err}");
}

#[test]
fn the_torchrun_environment_is_refused() {
    let d = scratch("trainer-torchrun");
    let cfg = setup(&d);
    let mut cmd = trainer(&["--config", cfg.to_str().unwrap()]);
    cmd.env("WORLD_SIZE", "2")
        .env("RANK", "1")
        .env("LOCAL_RANK", "1")
        .env("MASTER_ADDR", "127.0.0.1")
        .env("MASTER_PORT", "29500");
    let (ok, _, err) = testkit::run(&mut cmd);
    assert!(!ok);
    assert!(
        err.contains("not implemented in this build") && err.contains("WORLD_SIZE=2"),
        "{err}"
    );
    assert!(!d.join("run").exists(), "it trained anyway");
}
