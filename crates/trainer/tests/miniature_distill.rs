//! The distillation miniature end to end, small: `scripts/miniature_distill.sh` on a world of
//! 8 clips per class and a few steps per run — the task made from the world's, both bases,
//! their per-class evaluations, the difficulty model, the teacher files, the four runs per
//! direction and both per-class reports. What the numbers say at this size means nothing; the
//! test checks that every stage ran and left what the next one reads.
//!
//! It runs the release binaries `trainer`, `eval` and `world` from the same target directory
//! (the workspace's test command builds all three).

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::scratch;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_distillation_miniature_runs_end_to_end() {
    let bin = Path::new(env!("CARGO_BIN_EXE_trainer"))
        .parent()
        .unwrap()
        .to_path_buf();
    for b in ["eval", "world"] {
        assert!(
            bin.join(b).is_file(),
            "{} is missing: build the workspace (`cargo test --release --workspace` does)",
            bin.join(b).display()
        );
    }
    let d = scratch("miniature-distill");
    let world_config = d.join("objects.json");
    let zero = serde_json::json!({"train": 0, "valid": 0, "test": 0});
    let cfg = serde_json::json!({
        "seed": 0,
        "ac": zero, "events": zero, "pairs": zero, "probes": zero,
        "objects": {
            "per_class": {"train": 4, "valid": 2, "test": 2},
            "seconds": 1.0, "frames": 2, "width": 56, "height": 56,
            "options": 10, "pair_cue": 0.2
        },
        "views": {"train": 8, "valid": 0, "test": 3}
    });
    std::fs::write(&world_config, cfg.to_string()).unwrap();
    let (r, w) = (d.join("xmodal"), d.join("world"));
    let out = Command::new("bash")
        .arg(repo().join("scripts/miniature_distill.sh"))
        .env("BIN", &bin)
        .env("R", &r)
        .env("W", &w)
        .env("WORLD_CONFIG", &world_config)
        .env("PRETRAIN_STEPS", "2")
        .env("BASE_STEPS", "4")
        .env("RUN_STEPS", "4")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // The task: every class an option, in class order.
    let task = std::fs::read_to_string(r.join("task.toml")).unwrap();
    assert!(
        task.contains("options = 12") && task.contains("order = \"fixed\""),
        "{task}"
    );
    // The visual base was pretrained on the views' captions first, tower and merger included.
    let pre = std::fs::read_to_string(r.join("visual_pretrain.toml")).unwrap();
    assert!(
        pre.contains("task = \"views\"") && pre.contains("train_encoder = true"),
        "{pre}"
    );
    assert!(r.join("visual_pretrain/merged/config.json").is_file());
    assert!(
        stdout.contains("visual pretraining on 3 test views: colour "),
        "{stdout}"
    );
    let base = std::fs::read_to_string(r.join("visual_base.toml")).unwrap();
    assert!(base.contains("visual_pretrain/merged"), "{base}");
    // Both bases, evaluated per class on validation and test, in their own modality.
    for (base, cond) in [("audio_base", "audio"), ("visual_base", "visual")] {
        assert!(r.join(base).join("merged/config.json").is_file());
        for split in ["valid", "test"] {
            let s = testkit::read_json(r.join(format!("eval/{base}_{split}/summary.json")));
            assert_eq!(s["condition"], cond);
            assert_eq!(s["samples"], 24, "12 classes × 2 clips");
        }
    }
    // The difficulty model picked 4 hard classes per student; teacher files cover training.
    for hard in ["hard_audio.json", "hard_visual.json"] {
        let h = testkit::read_json(r.join(hard));
        assert_eq!(h["selected"].as_array().unwrap().len(), 4, "{h}");
    }
    for teacher in ["teacher_visual.json", "teacher_audio.json"] {
        let t = testkit::read_json(r.join(teacher));
        assert_eq!(t["items"].as_array().unwrap().len(), 48);
    }
    // Four runs per direction, each evaluated, and the two reports.
    for tag in ["v2a", "a2v"] {
        for run in ["ce", "kd_hard", "kd_all", "label_hard"] {
            assert!(r
                .join(format!("eval/{tag}_{run}_test/summary.json"))
                .is_file());
        }
        for f in ["report.md", "report.json", "report.png"] {
            assert!(r.join(format!("report_{tag}/{f}")).is_file(), "{tag} {f}");
        }
        assert!(stdout.contains(&format!("== {tag} ==")), "{stdout}");
    }
    // The distillation runs logged their term; the control has none.
    let log = |run: &str| std::fs::read_to_string(r.join(run).join("metrics.jsonl")).unwrap();
    assert!(log("v2a_kd_hard").contains("\"extra_loss\""));
    assert!(log("a2v_label_hard").contains("\"extra_loss\""));
    assert!(!log("v2a_ce").contains("\"extra_loss\""));
}
