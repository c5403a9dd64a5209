//! The README's main job in miniature: a procedural world is generated, the tiny model is
//! LoRA-finetuned on its ACC pairs for a few steps, the adapter exported, and the base and
//! the finetuned model evaluated on captioning and a probe, with the report written.

use std::sync::atomic::AtomicBool;

use trainer::experiment::ExperimentConfig as Config;

#[test]
fn world_train_export_eval_report() {
    let d = testkit::scratch("trainer-pipeline");
    let tiny = testkit::tiny_model_dir();
    let w = d.join("world");
    let cfg = format!(
        r#"
[world]
dir = "{w}"
size = "test"
seed = 5
[model]
source = "{tiny}"
[lora]
r = 4
alpha = 8
[train]
lr = 1e-3
steps = 2
micro_batch = 2
seed = 1
[[data.train]]
task = "acc"
manifest = "{w}/acc_train.jsonl"
[output]
dir = "{d}/run"
[eval]
max_new_tokens = 8
[[eval.caption]]
name = "ac"
manifest = "{w}/ac_test.jsonl"
[[eval.classify]]
task = "vsc"
manifest = "{w}/vsc_test.jsonl"
"#,
        w = w.display(),
        tiny = tiny.display(),
        d = d.display()
    );
    std::fs::write(d.join("cfg.toml"), cfg).unwrap();
    let cfg = Config::load(&d.join("cfg.toml"), &[]).unwrap();
    let exp = trainer::experiment::run(&cfg, &AtomicBool::new(false), None).unwrap();
    assert_eq!(exp.train.steps_done, 2);
    assert!(w.join("world.json").is_file());
    let (dir, table) = exp.report.expect("an evaluation report");
    assert_eq!(dir, d.join("run/eval"));
    for f in [
        "report.md",
        "report.json",
        "report.png",
        "base.json",
        "run.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // One row for the base, one for the run, with a change against the base.
    assert!(
        table.contains("| base |") && table.contains("| run |"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let titles: Vec<String> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles.iter().any(|t| t == "captioning/ac/cider_d"),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t == "classification/vsc/accuracy"),
        "{titles:?}"
    );

    // A second run with the same base reuses the base's results instead of recomputing.
    let before = std::fs::metadata(dir.join("base.json"))
        .unwrap()
        .modified()
        .unwrap();
    let (dir2, _) =
        trainer::experiment::evaluate(&cfg, cfg.eval.as_ref().unwrap(), &d.join("run/adapter"))
            .unwrap();
    assert_eq!(dir2, dir);
    assert_eq!(
        std::fs::metadata(dir.join("base.json"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}
