//! Config parsing and validation: defaults, unknown keys, bad values, overrides, the resume
//! hash. (Every shipped config under `configs/` is parsed by the application's tests.)

use std::path::Path;

use finetune::config::Config;
use model::device::DeviceSpec;
use model::lora::TargetModules;

const MIN: &str = r#"
[model]
source = "m"
[train]
lr = 1e-4
steps = 10
[[data.train]]
task = "acc"
manifest = "a.jsonl"
[output]
dir = "runs/x"
"#;

#[test]
fn minimal_config_takes_defaults() {
    let c = Config::parse(MIN, Path::new("x.toml"), &[]).unwrap();
    assert_eq!(c.lora.r, 8);
    assert_eq!(c.train.grad_accum, 1);
    assert_eq!(c.output.keep_last, 3);
}

#[test]
fn unknown_keys_are_named() {
    let e = Config::parse(
        &MIN.replace("lr = 1e-4", "lr = 1e-4\nlearning_rate = 3"),
        Path::new("x.toml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("x.toml") && e.contains("learning_rate"), "{e}");
}

#[test]
fn bad_values_name_the_field() {
    let e = Config::parse(MIN, Path::new("x.toml"), &["train.lr=-1".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.lr"), "{e}");
    let e = Config::parse(MIN, Path::new("x.toml"), &["model.dtype=fp8".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("fp8"), "{e}");
}

#[test]
fn overrides_set_nested_keys_with_toml_or_bare_values() {
    let c = Config::parse(
        MIN,
        Path::new("x.toml"),
        &[
            "model.device=cuda:1".into(),
            "train.steps=3".into(),
            "lora.target_modules=[\"q_proj\"]".into(),
        ],
    )
    .unwrap();
    assert_eq!(c.model.device, DeviceSpec::Cuda(1));
    assert_eq!(c.train.steps, 3);
    assert_eq!(
        c.lora.target_modules,
        TargetModules::List(vec!["q_proj".into()])
    );
    assert!(Config::parse(MIN, Path::new("x.toml"), &["nokey".into()]).is_err());
}

#[test]
fn resume_hash_ignores_steps_but_not_lr() {
    let a = Config::parse(MIN, Path::new("x.toml"), &[]).unwrap();
    let b = Config::parse(MIN, Path::new("x.toml"), &["train.steps=20".into()]).unwrap();
    let c = Config::parse(MIN, Path::new("x.toml"), &["train.lr=2e-4".into()]).unwrap();
    assert_eq!(a.resume_hash(), b.resume_hash());
    assert_ne!(a.resume_hash(), c.resume_hash());
    // Comments, layout and key order do not count.
    let reordered = MIN.replace(
        "lr = 1e-4\nsteps = 10",
        "# steps first\nsteps = 10\nlr   = 0.0001",
    );
    assert_ne!(reordered, MIN);
    let d = Config::parse(&reordered, Path::new("y.toml"), &[]).unwrap();
    assert_eq!(a.resume_hash(), d.resume_hash());
}
