//! PEFT LoRA adapters saved by peft 0.21 load onto our model with the same logits, and
//! adapters that do not fit are refused with a clear error.

mod common;

use candle_core::{DType, Device};
use common::*;
use model::Model;

fn with_adapter(dir: &std::path::Path) -> model::Result<Model> {
    let base = testkit::tiny_model_dir();
    Model::from_source(base.to_str().unwrap(), &Device::Cpu, DType::F32, Some(dir))
}

#[test]
fn peft_adapter_gives_the_reference_logits() {
    let model = with_adapter(&tiny_fixtures().join("adapter")).unwrap();
    let r = testkit::load_tensors(tiny_fixtures().join("adapter_reference.safetensors"));
    let logits = model.prompt_logits(&sequence(&model, "single")).unwrap();
    let d = testkit::max_abs_diff(&logits, &r["single.logits"]);
    eprintln!("adapter: max |Δ| logits {d:.2e}");
    assert!(d <= 1e-4, "{d}");
}

fn tmp_adapter(
    name: &str,
    edit: impl Fn(&mut serde_json::Value, &mut std::collections::HashMap<String, candle_core::Tensor>),
) -> std::path::PathBuf {
    let src = tiny_fixtures().join("adapter");
    let dir = testkit::scratch(&format!("adapter-{name}"));
    let mut cfg = testkit::read_json(src.join("adapter_config.json"));
    let mut t = testkit::load_tensors(src.join("adapter_model.safetensors"));
    edit(&mut cfg, &mut t);
    std::fs::write(dir.join("adapter_config.json"), cfg.to_string()).unwrap();
    candle_core::safetensors::save(&t, dir.join("adapter_model.safetensors")).unwrap();
    dir
}

#[test]
fn adapter_with_wrong_rank_is_refused() {
    let dir = tmp_adapter("rank", |cfg, _| cfg["r"] = 8.into());
    let e = with_adapter(&dir).err().expect("must fail").to_string();
    assert!(e.contains("lora_A") && e.contains("expected"), "{e}");
}

#[test]
fn adapter_for_modules_the_model_lacks_is_refused() {
    let dir = tmp_adapter("extra", |_, t| {
        let a = t["base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"]
            .clone();
        t.insert(
            "base_model.model.language_model.model.layers.9.self_attn.q_proj.lora_A.weight".into(),
            a,
        );
    });
    let e = with_adapter(&dir).err().expect("must fail").to_string();
    assert!(
        e.contains("match no module") && e.contains("layers.9"),
        "{e}"
    );
}

#[test]
fn missing_adapter_files_name_the_path() {
    let dir = testkit::scratch("adapter-none");
    let e = with_adapter(&dir).err().expect("must fail").to_string();
    assert!(e.contains("adapter_config.json"), "{e}");
}
