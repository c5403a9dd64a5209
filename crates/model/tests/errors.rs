//! Bad input gives an error that names the file and the reason; a prompt whose placeholders,
//! clips and features disagree is refused, never cut.

mod common;

use candle_core::{DType, Device};
use common::*;
use model::Model;

fn copy_model(name: &str) -> std::path::PathBuf {
    let dir = testkit::scratch(&format!("tiny-{name}"));
    for e in std::fs::read_dir(testkit::tiny_model_dir()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

fn load(dir: &std::path::Path) -> String {
    Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None)
        .err()
        .expect("must fail")
        .to_string()
}

#[test]
fn missing_weights_are_named() {
    let dir = copy_model("noweights");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = load(&dir);
    assert!(
        e.contains("model.safetensors") && e.contains(dir.to_str().unwrap()),
        "{e}"
    );
}

#[test]
fn corrupt_weights_are_named() {
    let dir = copy_model("corrupt");
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    let e = load(&dir);
    assert!(e.contains(dir.to_str().unwrap()), "{e}");
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = copy_model("missingtensor");
    let mut t = testkit::load_tensors(dir.join("model.safetensors"));
    t.remove("language_model.model.layers.1.mlp.up_proj.weight");
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
    let e = load(&dir);
    assert!(e.contains("layers.1.mlp.up_proj.weight"), "{e}");
}

#[test]
fn bad_config_values_name_the_file_and_field() {
    let dir = copy_model("badcfg");
    let p = dir.join("config.json");
    let mut cfg = testkit::read_json(&p);
    cfg["text_config"]["num_key_value_heads"] = 3.into();
    std::fs::write(&p, cfg.to_string()).unwrap();
    let e = load(&dir);
    assert!(
        e.contains("config.json") && e.contains("num_key_value_heads"),
        "{e}"
    );
    std::fs::write(&p, "{ not json").unwrap();
    let e = load(&dir);
    assert!(
        e.contains("config.json") && e.contains("invalid JSON"),
        "{e}"
    );
}

#[test]
fn a_missing_model_source_is_explained() {
    let e = Model::from_source("/no/such/dir", &Device::Cpu, DType::F32, None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("/no/such/dir") && e.contains("no such directory"),
        "{e}"
    );
}

#[test]
fn placeholder_and_clip_counts_must_agree() {
    let model = tiny();
    let clips = vec![clip(&model, "speech.wav"), clip(&model, "tone.wav")];
    let msg = model::prompt::Message::user_with_audio(1, "one placeholder, two clips");
    let e = model
        .chat_sequence(&[msg], clips)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("1 <|AUDIO|> placeholder") && e.contains("2 audio clip"),
        "{e}"
    );
}

#[test]
fn audio_rows_must_match_audio_tokens() {
    let model = tiny();
    let seq = sequence(&model, "single");
    let mut batch = model.batch(std::slice::from_ref(&seq)).unwrap();
    batch.audio[0] = batch.audio[0].narrow(0, 0, 10).unwrap();
    let e = model.embed(&batch).err().unwrap().to_string();
    assert!(
        e.contains("33 <|AUDIO|> token(s) but 10 audio clip feature row(s)"),
        "{e}"
    );
}

#[test]
fn a_clip_too_short_for_one_token_is_refused() {
    let model = tiny();
    let f = model
        .features(&[0.1f32; 300], audio::LongAudio::Error)
        .unwrap();
    let msg = model::prompt::Message::user_with_audio(1, "hi");
    let e = model
        .chat_sequence(&[msg], vec![f])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("too short"), "{e}");
}

#[test]
fn over_30s_with_the_error_policy_is_refused() {
    let model = tiny();
    let e = model
        .features(&vec![0f32; 16_000 * 31], audio::LongAudio::Error)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("30"), "{e}");
}
