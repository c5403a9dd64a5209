//! `trainer --nproc N`: the command trains data-parallel on N ranks (threads of one process;
//! the logic is tested in `crates/finetune/tests/parallel.rs`), records the world size in
//! its checkpoints and refuses to resume with another; ranks as processes (`--launch
//! processes`, or started by hand from the torchrun-style environment) train the very bits
//! of ranks as threads.

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
    for k in finetune::parallel::RANK_ENV {
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

/// The exported adapter's bytes.
fn adapter(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("run/adapter/adapter_model.safetensors")).unwrap()
}

#[test]
fn ranks_as_processes_train_the_bits_of_ranks_as_threads() {
    // Reference: 2 ranks as threads.
    let threads = scratch("trainer-ranks-threads");
    let cfg = setup(&threads);
    let (ok, _, err) = testkit::run(&mut trainer(&[
        "--config",
        cfg.to_str().unwrap(),
        "--nproc",
        "2",
    ]));
    assert!(ok, "{err}");

    // `--nproc 2 --launch processes`: two processes over TCP, the same sums in the same
    // order, so the same bits; only rank 0 wrote.
    let procs = scratch("trainer-ranks-processes");
    let cfg = setup(&procs);
    let (ok, _, err) = testkit::run(&mut trainer(&[
        "--config",
        cfg.to_str().unwrap(),
        "--nproc",
        "2",
        "--launch",
        "processes",
    ]));
    assert!(ok, "{err}");
    assert_eq!(adapter(&procs), adapter(&threads));
    let state = testkit::read_json(procs.join("run/checkpoint-00000002/state.json"));
    assert_eq!(state["world_size"], 2);
    assert_eq!(
        testkit::read_jsonl(procs.join("run/metrics.jsonl")).len(),
        2
    );

    // The torchrun-style environment, each rank started by hand (rank 1 first).
    let env = scratch("trainer-ranks-torchrun");
    let cfg = setup(&env);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let rank = |r: &str| {
        let mut c = trainer(&["--config", cfg.to_str().unwrap()]);
        c.env("WORLD_SIZE", "2")
            .env("RANK", r)
            .env("LOCAL_RANK", r)
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", &port)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let one = rank("1");
    let zero = rank("0");
    for (r, child) in [(0, zero), (1, one)] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "rank {r}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(adapter(&env), adapter(&threads));

    // `--nproc` inside a group is a mistake, named.
    let mut c = trainer(&["--config", cfg.to_str().unwrap(), "--nproc", "2"]);
    c.env("WORLD_SIZE", "2")
        .env("RANK", "0")
        .env("TRAINER_RDZV_FILE", env.join("rdzv"));
    let (ok, _, err) = testkit::run(&mut c);
    assert!(
        !ok && err.contains("already started one process per rank"),
        "{err}"
    );
}
