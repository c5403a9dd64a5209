//! Experiment files: every shipped config under `configs/` parses and validates, and the
//! application's sections (`[world]`, `[eval]`) refuse unknown keys.

use std::path::Path;

use trainer::experiment::ExperimentConfig;

/// Every file in configs/ parses and validates.
#[test]
fn every_shipped_config_parses() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs"));
    let mut n = 0;
    for dir in [root.to_path_buf(), root.join("world")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            // `vision_spec.toml`: a vision tower for `trainer derive-visual`; other
            // `*_spec.toml`: a new model's shape for `trainer init-model`.
            if p.to_string_lossy().ends_with("vision_spec.toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                toml::from_str::<model::derive::VisionSpec>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            } else if p.to_string_lossy().ends_with("_spec.toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                toml::from_str::<model::init::InitSpec>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            } else {
                ExperimentConfig::load(&p, &[]).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            n += 1;
        }
    }
    assert!(n >= 8, "only {n} configs");
}

const DEMO_LIKE: &str = r#"
[world]
dir = "w"
[model]
source = "m"
[train]
lr = 1e-4
steps = 10
[[data.train]]
task = "acc"
manifest = "w/acc_train.jsonl"
[output]
dir = "runs/x"
[eval]
[[eval.caption]]
name = "ac"
manifest = "w/ac_test.jsonl"
"#;

#[test]
fn app_sections_refuse_unknown_keys_and_count_in_the_resume_hash_as_before() {
    let x = Path::new("x.toml");
    let c = ExperimentConfig::parse(DEMO_LIKE, x, &[]).unwrap();
    assert_eq!(c.world.as_ref().unwrap().seed, 0);
    let e = ExperimentConfig::parse(DEMO_LIKE, x, &["world.sede=3".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sede") && e.contains("world"), "{e}");
    let e = ExperimentConfig::parse(
        DEMO_LIKE,
        x,
        &["eval.classify=[{task=\"xyz\",manifest=\"m\"}]".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("eval.classify[0].task"), "{e}");
    // The world shapes the data: a new seed refuses a resume; the evaluation does not.
    let reseeded = ExperimentConfig::parse(DEMO_LIKE, x, &["world.seed=1".into()]).unwrap();
    let re_eval = ExperimentConfig::parse(DEMO_LIKE, x, &["eval.max_new_tokens=9".into()]).unwrap();
    assert_ne!(c.train.resume_hash(), reseeded.train.resume_hash());
    assert_eq!(c.train.resume_hash(), re_eval.train.resume_hash());
    // The training library alone refuses the application's sections.
    assert!(finetune::Config::parse(DEMO_LIKE, x, &[]).is_err());
    // The run's config copy keeps every section, resolved.
    let copy = c.train.to_toml();
    assert!(
        copy.contains("[world]") && copy.contains("max_new_tokens = 48"),
        "{copy}"
    );
}
