//! The training loop end to end on the tiny model: exact resume, PEFT export round trip,
//! checkpoints, and bad input.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};
use finetune::config::Config;
use testkit::{fixtures, max_abs_diff, scratch as tmp};

/// Two small manifests (AC, ACC) over the tiny clips, and a config training on both.
fn setup(dir: &Path, extra: &str) -> PathBuf {
    let clips = fixtures().join("tiny/clips");
    let c = |n: &str| clips.join(n).display().to_string();
    let ac = format!(
        "{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"a voice hums\"}}\n{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"a steady tone\"}}\n{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"noise and a pluck\"}}\n",
        c("speech.wav"),
        c("tone.wav"),
        c("noise_pluck.wav")
    );
    let acc = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":\"<audio><audio>What do they share?\"}},{{\"role\":\"assistant\",\"content\":\"a steady sound\"}}],\"audios\":[\"{}\",\"{}\"]}}\n",
        c("speech.wav"),
        c("tone.wav")
    );
    std::fs::write(dir.join("ac.jsonl"), ac).unwrap();
    std::fs::write(dir.join("acc.jsonl"), acc).unwrap();
    let cfg = format!(
        r#"
[model]
source = "{model}"
dtype = "f32"
device = "cpu"
[lora]
r = 4
alpha = 8
dropout = 0.1
target_modules = "all-linear"
[train]
lr = 1e-3
weight_decay = 0.1
schedule = "cosine"
warmup_steps = 1
steps = 4
grad_accum = 2
seed = 3
[[data.train]]
task = "ac"
manifest = "{dir}/ac.jsonl"
weight = 1.0
[[data.train]]
task = "acc"
manifest = "{dir}/acc.jsonl"
weight = 1.0
[output]
dir = "{dir}/run"
save_every = 2
keep_last = 2
{extra}
"#,
        model = fixtures().join("tiny/model").display(),
        dir = dir.display(),
    );
    let p = dir.join("cfg.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn losses(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["step"], v["loss"], v["lr"])
        })
        .collect()
}

fn adapter(run: &Path) -> std::collections::HashMap<String, candle_core::Tensor> {
    testkit::load_tensors(run.join("adapter/adapter_model.safetensors"))
}

#[test]
fn stop_and_resume_equals_an_uninterrupted_run() {
    let never = AtomicBool::new(false);
    let a = tmp("straight");
    let cfg = Config::load(&setup(&a, ""), &[]).unwrap();
    let out = trainer::experiment::train(&cfg, &never, None).unwrap();
    assert_eq!(out.steps_done, 4);

    let b = tmp("resumed");
    let cfg_b = Config::load(&setup(&b, ""), &[]).unwrap();
    let first = trainer::experiment::train(&cfg_b, &never, Some(2)).unwrap();
    assert!(first.interrupted && first.steps_done == 2);
    let second = trainer::experiment::train(&cfg_b, &never, None).unwrap();
    assert_eq!(second.steps_done, 4);

    assert_eq!(losses(&a.join("run")), losses(&b.join("run")));
    let (wa, wb) = (adapter(&a.join("run")), adapter(&b.join("run")));
    assert_eq!(wa.len(), wb.len());
    for (k, t) in &wa {
        let d = max_abs_diff(t, &wb[k]);
        assert_eq!(d, 0.0, "{k} differs after resume");
    }
    // keep_last = 2: checkpoints of steps 2 and 4 remain.
    let ck = finetune::store::list_checkpoints(&a.join("run")).unwrap();
    assert_eq!(ck.iter().map(|c| c.0).collect::<Vec<_>>(), vec![2, 4]);
    assert!(a.join("run/loss.png").is_file());
    assert!(a.join("run/config.toml").is_file());
}

#[test]
fn exported_adapter_reloads_with_the_trained_outputs() {
    let d = tmp("export");
    let cfg = Config::load(
        &setup(&d, "export_merged = true"),
        &["train.steps=2".into()],
    )
    .unwrap();
    trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap();
    let run = d.join("run");
    let pc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("adapter/adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pc["peft_type"], "LORA");
    assert_eq!(pc["r"], 4);
    assert_eq!(pc["lora_alpha"], 8.0);
    // scope = llm: 2 layers × 7 linear layers of the language model, nothing of the encoder.
    let targets = pc["target_modules"].as_array().unwrap();
    assert_eq!(targets.len(), 14);
    assert!(targets
        .iter()
        .all(|t| t.as_str().unwrap().starts_with("language_model.")));
    let w = adapter(&run);
    assert_eq!(w.len(), 28);
    let q = &w["base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    assert_eq!(q.dims(), &[4, 64]);

    // The adapter on the base, and the merged model, give the same logits.
    let base = fixtures().join("tiny/model");
    let with_adapter = model::Model::from_source(
        base.to_str().unwrap(),
        &Device::Cpu,
        DType::F32,
        Some(&run.join("adapter")),
    )
    .unwrap();
    let merged = model::Model::from_source(
        run.join("merged").to_str().unwrap(),
        &Device::Cpu,
        DType::F32,
        None,
    )
    .unwrap();
    let plain =
        model::Model::from_source(base.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap();
    let x = audio::load_mono_16k(&fixtures().join("tiny/clips/tone.wav")).unwrap();
    let seq = |m: &model::Model| {
        let f = m.features(&x, audio::LongAudio::Error).unwrap();
        m.chat_sequence(
            &[model::prompt::Message::user_with_audio(
                1,
                "Describe the audio in a sentence.",
            )],
            vec![f],
        )
        .unwrap()
    };
    let la = with_adapter.prompt_logits(&seq(&with_adapter)).unwrap();
    let lm = merged.prompt_logits(&seq(&merged)).unwrap();
    let lp = plain.prompt_logits(&seq(&plain)).unwrap();
    let diff = max_abs_diff;
    assert!(
        diff(&la, &lm) < 1e-4,
        "merged vs adapter {}",
        diff(&la, &lm)
    );
    assert!(diff(&la, &lp) > 1e-3, "training changed nothing");
    for f in [
        "tokenizer.json",
        "config.json",
        "preprocessor_config.json",
        "generation_config.json",
    ] {
        assert!(
            run.join("merged").join(f).is_file(),
            "merged model lacks {f}"
        );
    }
}

#[test]
fn a_malformed_manifest_line_is_named() {
    let d = tmp("badline");
    let p = setup(&d, "");
    let mut text = std::fs::read_to_string(d.join("ac.jsonl")).unwrap();
    text.push_str("{\"task\": \"ac\", \"audio\": \"x.wav\"\n");
    std::fs::write(d.join("ac.jsonl"), text).unwrap();
    let cfg = Config::load(&p, &[]).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("ac.jsonl:4"), "{e}");
}

#[test]
fn missing_audio_stops_with_the_file_or_is_skipped_and_counted() {
    let d = tmp("missing");
    let p = setup(&d, "");
    let mut text = std::fs::read_to_string(d.join("ac.jsonl")).unwrap();
    text.push_str("{\"task\": \"ac\", \"audio\": \"/no/such/clip.wav\", \"target\": \"x\"}\n");
    std::fs::write(d.join("ac.jsonl"), text).unwrap();
    let cfg = Config::load(&p, &["train.steps=4".into()]).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(
        e.contains("/no/such/clip.wav") && e.contains("ac.jsonl:4"),
        "{e}"
    );

    let d2 = tmp("missing-skip");
    let p2 = setup(&d2, "");
    std::fs::write(
        d2.join("ac.jsonl"),
        std::fs::read_to_string(d.join("ac.jsonl")).unwrap(),
    )
    .unwrap();
    let cfg = Config::load(&p2, &["train.on_bad_sample=\"skip\"".into()]).unwrap();
    let out = trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap();
    assert_eq!(out.steps_done, 4);
    assert!(!out.skipped.is_empty());
    assert!(out.skipped.iter().all(|s| s.contains("/no/such/clip.wav")));
}

#[test]
fn a_diverging_loss_stops_and_keeps_the_last_good_state() {
    let d = tmp("nan");
    let cfg = Config::load(
        &setup(&d, ""),
        &[
            "train.lr=1e30".into(),
            "train.max_grad_norm=0".into(),
            "train.steps=6".into(),
        ],
    )
    .unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("loss is") || e.contains("gradient norm"), "{e}");
    let ck = finetune::store::list_checkpoints(&d.join("run")).unwrap();
    assert!(!ck.is_empty(), "no checkpoint was kept");
}

#[test]
fn an_unwritable_run_directory_is_named() {
    let d = tmp("unwritable");
    std::fs::write(d.join("file"), b"x").unwrap();
    let cfg = Config::load(
        &setup(&d, ""),
        &[format!("output.dir=\"{}/file/run\"", d.display())],
    )
    .unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("file/run"), "{e}");
}

#[test]
fn a_changed_config_refuses_to_resume() {
    let d = tmp("changed");
    let p = setup(&d, "");
    let cfg = Config::load(&p, &[]).unwrap();
    trainer::experiment::train(&cfg, &AtomicBool::new(false), Some(2)).unwrap();
    let changed = Config::load(&p, &["train.lr=5e-3".into()]).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&changed, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("different configuration"), "{e}");
}

#[test]
fn a_too_long_sample_is_named_with_its_line() {
    let d = tmp("toolong");
    let cfg = Config::load(&setup(&d, ""), &["train.max_tokens=20".into()]).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(
        e.contains(".jsonl:") && e.contains("field target") && e.contains("train.max_tokens 20"),
        "{e}"
    );
}

/// Image and video manifests over the vision fixtures, and a config training the tiny
/// Qwen2-VL on them (LoRA on the language model, the merger in full).
fn setup_vl(dir: &Path) -> PathBuf {
    let img = |n: &str| {
        fixtures()
            .join("vision/images")
            .join(n)
            .display()
            .to_string()
    };
    let native = format!(
        "{{\"task\":\"cap\",\"images\":\"{}\",\"prompt\":\"Describe the picture.\",\"target\":\"a soft gradient\"}}\n{{\"task\":\"cap\",\"images\":[\"{}\"],\"prompt\":\"<image> What is shown?\",\"target\":\"bright shapes\"}}\n{{\"task\":\"cap\",\"videos\":\"{}\",\"prompt\":\"What happens?\",\"target\":\"shapes move\"}}\n",
        img("alpha.png"),
        img("small.png"),
        fixtures().join("vision/video/clip.mp4").display()
    );
    let chat = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":\"<image><image>What differs?\"}},{{\"role\":\"assistant\",\"content\":\"the second is smaller\"}}],\"images\":[\"{}\",\"{}\"]}}\n",
        img("wide.jpg"),
        img("small.png")
    );
    std::fs::write(dir.join("cap.jsonl"), native).unwrap();
    std::fs::write(dir.join("diff.jsonl"), chat).unwrap();
    let cfg = format!(
        r#"
[model]
source = "{model}"
video = {{ min_pixels = 3136, max_pixels = 9408 }}
[lora]
r = 4
alpha = 8
dropout = 0.1
[train]
lr = 1e-3
train_projector = true
steps = 4
grad_accum = 2
seed = 5
[[data.train]]
task = "cap"
manifest = "{dir}/cap.jsonl"
[[data.train]]
task = "diff"
manifest = "{dir}/diff.jsonl"
[output]
dir = "{dir}/run"
save_every = 2
"#,
        model = fixtures().join("vision/model").display(),
        dir = dir.display(),
    );
    let p = dir.join("cfg.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

/// The tiny Qwen2-VL trains on image and video manifests (native form and the ms-swift
/// `<image>` form)
/// with LoRA on the language model and the merger trained in full; stopping and resuming gives
/// the uninterrupted run's losses and weights bit for bit; the PEFT adapter names modules as
/// PEFT does on transformers 4.57 and reloads; the merged model carries the trained merger.
#[test]
fn a_visual_model_trains_resumes_and_exports() {
    let never = AtomicBool::new(false);
    let a = tmp("visual-straight");
    let cfg = Config::load(&setup_vl(&a), &[]).unwrap();
    assert_eq!(
        trainer::experiment::train(&cfg, &never, None)
            .unwrap()
            .steps_done,
        4
    );
    let b = tmp("visual-resumed");
    let cfg_b = Config::load(&setup_vl(&b), &[]).unwrap();
    let first = trainer::experiment::train(&cfg_b, &never, Some(2)).unwrap();
    assert!(first.interrupted && first.steps_done == 2);
    trainer::experiment::train(&cfg_b, &never, None).unwrap();
    assert_eq!(losses(&a.join("run")), losses(&b.join("run")));
    let (wa, wb) = (adapter(&a.join("run")), adapter(&b.join("run")));
    for (k, t) in &wa {
        assert_eq!(max_abs_diff(t, &wb[k]), 0.0, "{k} differs after resume");
    }

    // scope = llm: 2 layers × 7 linears, under transformers 4.57's module paths.
    let run = a.join("run");
    assert_eq!(wa.len(), 28);
    assert!(wa.contains_key(
        "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight"
    ));
    assert!(wa.keys().all(|k| !k.contains("visual")));
    // The merger was trained in full: the merged model has it, and differs from the base.
    let merged = testkit::load_tensors(run.join("merged/model.safetensors"));
    let base = testkit::load_tensors(fixtures().join("vision/model/model.safetensors"));
    let moved = |k: &str| max_abs_diff(&merged[k], &base[k]);
    assert!(moved("visual.merger.mlp.0.weight") > 0.0);
    assert_eq!(moved("visual.blocks.0.attn.qkv.weight"), 0.0);
    assert!(moved("model.layers.0.self_attn.q_proj.weight") > 0.0);
    for f in [
        "preprocessor_config.json",
        "video_preprocessor_config.json",
        "tokenizer.json",
        "config.json",
    ] {
        assert!(
            run.join("merged").join(f).is_file(),
            "merged model lacks {f}"
        );
    }
    // The adapter reloads onto the base (by its PEFT names) and changes the logits.
    let vl = fixtures().join("vision/model");
    let load = |adapter: Option<&Path>| {
        model::Model::from_source(vl.to_str().unwrap(), &Device::Cpu, DType::F32, adapter).unwrap()
    };
    let (with, plain) = (load(Some(&run.join("adapter"))), load(None));
    let seq = |m: &model::Model| {
        let img = m
            .image(&fixtures().join("vision/images/small.png"))
            .unwrap();
        let user = model::prompt::Message {
            role: model::prompt::Role::User,
            parts: vec![
                model::prompt::Part::Image,
                model::prompt::Part::Text("What is shown?".into()),
            ],
        };
        m.chat_sequence(&[user], model::Inputs::images(vec![img]))
            .unwrap()
    };
    let d = max_abs_diff(
        &with.prompt_logits(&seq(&with)).unwrap(),
        &plain.prompt_logits(&seq(&plain)).unwrap(),
    );
    assert!(d > 1e-4, "the adapter changes nothing ({d:e})");
}

/// Full finetuning of the tiny Qwen2-VL: every weight trains (the vision blocks too), only a
/// merged model is exported, and it differs from the base in the tower and the decoder.
#[test]
fn a_visual_model_trains_in_full() {
    let d = tmp("visual-full");
    let cfg = Config::load(
        &setup_vl(&d),
        &["train.mode=\"full\"".into(), "train.steps=2".into()],
    )
    .unwrap();
    trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap();
    let run = d.join("run");
    assert!(!run.join("adapter").exists());
    let merged = testkit::load_tensors(run.join("merged/model.safetensors"));
    let base = testkit::load_tensors(fixtures().join("vision/model/model.safetensors"));
    for k in [
        "visual.patch_embed.proj.weight",
        "visual.blocks.1.mlp.fc2.weight",
        "visual.merger.mlp.2.weight",
        "model.layers.1.mlp.down_proj.weight",
    ] {
        assert!(
            max_abs_diff(&merged[k], &base[k]) > 0.0,
            "{k} did not train"
        );
    }
}

/// The tiny model's directory without its weights, and `setup`'s config pointed at it with
/// `model.weights = "random"`.
fn setup_random(dir: &Path) -> PathBuf {
    let bare = dir.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    for e in std::fs::read_dir(fixtures().join("tiny/model")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x != "safetensors") {
            std::fs::copy(&p, bare.join(p.file_name().unwrap())).unwrap();
        }
    }
    let p = setup(dir, "");
    let text = std::fs::read_to_string(&p).unwrap().replace(
        &format!("source = \"{}\"", fixtures().join("tiny/model").display()),
        &format!("source = \"{}\"\nweights = \"random\"", bare.display()),
    );
    assert!(text.contains("weights = \"random\""));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn random_weights_train_without_a_weights_file_and_refuse_what_they_cannot_do() {
    let never = AtomicBool::new(false);
    let d = tmp("random-weights");
    let p = setup_random(&d);
    let cfg = Config::load(&p, &[]).unwrap();
    let out = trainer::experiment::train(&cfg, &never, Some(2)).unwrap();
    assert_eq!(out.steps_done, 2);
    for l in losses(&d.join("run")) {
        let loss: f64 = l.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{l}");
    }
    // Drawn anew on every load, so no resume.
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &never, None).unwrap_err()
    );
    assert!(e.contains("cannot resume"), "{e}");
    // A directory with weights is not taken for random ones.
    let with = Config::load(
        &p,
        &[
            format!(
                "model.source=\"{}\"",
                fixtures().join("tiny/model").display()
            ),
            format!("output.dir=\"{}\"", d.join("run2").display()),
        ],
    )
    .unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&with, &never, None).unwrap_err()
    );
    assert!(e.contains("has weights"), "{e}");
    // Base weights cannot be trained, nor merged, from random ones.
    for (o, why) in [
        ("train.mode=\"full\"", "LoRA runs"),
        ("train.train_projector=true", "LoRA runs"),
        ("output.export_merged=true", "export_merged"),
    ] {
        let e = Config::load(&p, &[o.into()]).unwrap_err().to_string();
        assert!(e.contains("model.weights") && e.contains(why), "{o}: {e}");
    }
}
