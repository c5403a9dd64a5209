//! Qwen2-VL against transformers 4.57 (tests/fixtures/vision, scripts/make_vision_fixtures.py):
//! the 3-D M-RoPE positions equal `get_rope_index`'s, and the logits of an image prompt and of a
//! two-image prompt equal the reference's at every position (the vision tower, the splicing
//! at `<|image_pad|>` and M-RoPE in the one Qwen2 decoder).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use model::lora::NoAdapters;
use model::nn::Rotary;
use model::qwen2_vl::{rope_index, Qwen2VLConfig};
use model::{Inputs, Model, Sequence, VisualInput};
use testkit::{fixtures, load_tensors, max_abs, max_abs_diff, scratch};

/// (prompt, its images in order)
const PROMPTS: [(&str, &[&str]); 2] = [
    ("one_image", &["wide"]),
    ("two_images", &["small", "alpha"]),
];

fn ids_of(t: &Tensor) -> Vec<u32> {
    t.to_dtype(DType::U32).unwrap().to_vec1().unwrap()
}

fn grid_of(t: &Tensor) -> [usize; 3] {
    let v: Vec<i64> = t.flatten_all().unwrap().to_vec1().unwrap();
    [v[0] as usize, v[1] as usize, v[2] as usize]
}

/// A fixture image's reference patches as a model input.
fn image_of(r: &HashMap<String, Tensor>, image: &str) -> VisualInput {
    let px = &r[&format!("{image}.pixel_values")];
    let [t, h, w] = grid_of(&r[&format!("{image}.grid_thw")]);
    VisualInput {
        data: px.flatten_all().unwrap().to_vec1().unwrap(),
        patch_dim: px.dim(1).unwrap(),
        grids: vec![vision::GridThw { t, h, w }],
    }
}

/// Fixture prompt `name` with its images: the reference's ids and patches.
fn prompt_of(r: &HashMap<String, Tensor>, name: &str, images: &[&str]) -> Sequence {
    Sequence {
        ids: ids_of(&r[&format!("{name}.input_ids")]),
        inputs: Inputs::images(images.iter().map(|i| image_of(r, i)).collect()),
    }
}

/// Logits of a fixture prompt.
fn logits_of(m: &Model, p: &Sequence) -> Tensor {
    m.prompt_logits(p).unwrap()
}

fn grids(p: &Sequence) -> Vec<[usize; 3]> {
    p.inputs
        .images
        .iter()
        .flat_map(|x| x.grids.iter().map(|g| g.to_array()))
        .collect()
}

fn files() -> model::checkpoint::ModelFiles {
    model::checkpoint::resolve(fixtures().join("vision/model").to_str().unwrap()).unwrap()
}

#[test]
fn rope_index_equals_get_rope_index() {
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let cfg = Qwen2VLConfig::from_file(&files().config).unwrap();
    for (name, images) in PROMPTS {
        let p = prompt_of(&r, name, images);
        let pos = rope_index(&p.ids, &grids(&p), &[], cfg.vision.spatial_merge_size, &cfg).unwrap();
        let want: Vec<Vec<i64>> = r[&format!("{name}.position_ids")].to_vec2().unwrap();
        for axis in 0..3 {
            let got: Vec<i64> = pos[axis].iter().map(|&x| x as i64).collect();
            assert_eq!(got, want[axis], "{name} axis {axis}");
        }
    }
    // A prompt whose image count differs from the grids given is refused.
    let ids = ids_of(&r["two_images.input_ids"]);
    let e = rope_index(&ids, &[[1, 4, 6]], &[], 2, &cfg).unwrap_err();
    assert!(e.to_string().contains("2 image(s)"), "{e}");
}

#[test]
fn mrope_with_equal_axes_is_plain_rope() {
    let dev = Device::Cpu;
    let rot = Rotary::new(16, 1e6, &dev).unwrap();
    let p = Tensor::new(&[[0u32, 1, 2, 7, 300]], &dev).unwrap();
    let p3 = Tensor::stack(&[&p, &p, &p], 0).unwrap();
    let (c1, s1) = rot.cos_sin(&p, DType::F32).unwrap();
    let (c3, s3) = rot.cos_sin_mrope(&p3, &[2, 3, 3], DType::F32).unwrap();
    assert_eq!(max_abs_diff(&c1, &c3), 0.0);
    assert_eq!(max_abs_diff(&s1, &s3), 0.0);
    assert!(rot.cos_sin_mrope(&p3, &[2, 3], DType::F32).is_err());
}

#[test]
fn image_prompt_logits_equal_transformers() {
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let m = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    let mut worst: f64 = 0.0;
    for (name, images) in PROMPTS {
        let got = logits_of(&m, &prompt_of(&r, name, images));
        let want = &r[&format!("{name}.logits")];
        let d = max_abs_diff(&got, want);
        eprintln!(
            "{name}: max |Δlogit| {d:.2e} (logit scale {:.2})",
            max_abs(want)
        );
        worst = worst.max(d);
    }
    assert!(worst <= 1e-4, "max |Δlogit| {worst:e}");
    // More placeholders than image rows: a clear error.
    let wrong = Sequence {
        ids: ids_of(&r["one_image.input_ids"]),
        inputs: Inputs::images(vec![image_of(&r, "small")]),
    };
    let e = m.prompt_logits(&wrong).unwrap_err();
    assert!(e.to_string().contains("<|image_pad|>"), "{e}");
}

/// The chat template renders images as the reference's does, and the tokenised, expanded
/// prompt is the reference processor's input_ids.
#[test]
fn image_prompts_tokenise_as_the_reference_processor() {
    use model::prompt::{render_chat, Message, Part, Role};
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let cases = testkit::read_json(fixtures().join("vision/cases.json"));
    let m = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    for (name, images) in PROMPTS {
        let case = cases["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let mut parts = vec![Part::Image; images.len()];
        parts.push(Part::Text(case["text"].as_str().unwrap().into()));
        let templated = render_chat(
            &[Message {
                role: Role::User,
                parts,
            }],
            true,
        );
        assert_eq!(templated, case["templated"].as_str().unwrap(), "{name}");
        let mut inputs = Inputs::images(images.iter().map(|i| image_of(&r, i)).collect());
        let ids = m.prompt_ids(&templated, &inputs).unwrap();
        assert_eq!(ids, ids_of(&r[&format!("{name}.input_ids")]), "{name}");
        inputs.images.truncate(images.len() - 1);
        let e = m.prompt_ids(&templated, &inputs).unwrap_err();
        assert!(e.to_string().contains("<|image_pad|>"), "{e}");
    }
}

/// A PEFT adapter made on transformers 4.57 (new module paths, on the language model's q/v
/// and the vision tower's qkv) loads and gives PEFT's logits
/// (scripts/make_vision_adapter_fixture.py).
#[test]
fn a_peft_adapter_gives_pefts_logits() {
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let want =
        &load_tensors(fixtures().join("vision/adapter_reference.safetensors"))["one_image.logits"];
    let m = Model::from_source(
        fixtures().join("vision/model").to_str().unwrap(),
        &Device::Cpu,
        DType::F32,
        Some(&fixtures().join("vision/adapter")),
    )
    .unwrap();
    let got = logits_of(&m, &prompt_of(&r, "one_image", &["wide"]));
    let d = max_abs_diff(&got, want);
    eprintln!(
        "adapter: max |Δlogit| {d:.2e}; the adapter moves them by {:.2e}",
        max_abs_diff(want, &r["one_image.logits"])
    );
    assert!(d <= 1e-4, "max |Δlogit| {d:e}");
    assert!(
        max_abs_diff(want, &r["one_image.logits"]) > 1e-3,
        "the adapter changes nothing"
    );
}

/// End to end from image files: the `vision` frontend's patches (the checkpoint's
/// preprocessor_config.json) through the model give the reference's logits. PNG decoding is
/// exact, so the two-PNG prompt is held to the f32 tolerance.
#[test]
fn from_png_files_to_logits() {
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let dir = fixtures().join("vision");
    let proc = vision::ImageProcessor::from_model_dir(&dir.join("model")).unwrap();
    let px = proc
        .preprocess_files(&[dir.join("images/small.png"), dir.join("images/alpha.png")])
        .unwrap();
    let m = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    let seq = Sequence {
        ids: ids_of(&r["two_images.input_ids"]),
        inputs: Inputs::images(vec![px]),
    };
    let got = m.prompt_logits(&seq).unwrap();
    let d = max_abs_diff(&got, &r["two_images.logits"]);
    assert!(d <= 1e-4, "max |Δlogit| {d:e}");
}

/// Greedy generation with M-RoPE and the KV cache gives transformers' 20 tokens, one prompt
/// at a time and both prompts in one left-padded batch
/// (scripts/make_vision_generate_fixture.py).
#[test]
fn greedy_generation_equals_transformers() {
    use model::generate::{generate, GenerateOptions};
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let g = load_tensors(fixtures().join("vision/generate.safetensors"));
    let m = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    let prompts: Vec<Sequence> = PROMPTS
        .iter()
        .map(|(name, images)| prompt_of(&r, name, images))
        .collect();
    let opts = GenerateOptions {
        max_new_tokens: 20,
        min_new_tokens: 20,
        ..Default::default()
    };
    let want: Vec<Vec<u32>> = PROMPTS
        .iter()
        .map(|(name, _)| ids_of(&g[&format!("{name}.greedy")]))
        .collect();
    for (p, w) in prompts.iter().zip(&want) {
        let got = generate(&m, std::slice::from_ref(p), &opts).unwrap();
        assert_eq!(&got[0], w);
    }
    let batched = generate(&m, &prompts, &opts).unwrap();
    assert_eq!(batched, want, "left-padded batch");
}

/// The hub checkpoints' flat `config.json` layout (Qwen2-VL-2B-Instruct's, as published, with
/// `rope_scaling.type = "mrope"` and the tower's extra keys) reads as the nested one does.
#[test]
fn the_hubs_flat_config_layout_reads() {
    let dir = scratch("qwen2-vl-flat-config");
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        r#"{
  "architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
  "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
  "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 1536,
  "initializer_range": 0.02, "intermediate_size": 8960, "max_position_embeddings": 32768,
  "max_window_layers": 28, "model_type": "qwen2_vl", "num_attention_heads": 12,
  "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": true,
  "use_sliding_window": false,
  "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16,
    "in_chans": 3, "hidden_size": 1536, "patch_size": 14, "spatial_merge_size": 2,
    "spatial_patch_size": 14, "temporal_patch_size": 2},
  "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
  "vocab_size": 151936
}"#,
    )
    .unwrap();
    let c = Qwen2VLConfig::from_file(&path).unwrap();
    assert_eq!(
        (
            c.text.hidden_size,
            c.text.num_hidden_layers,
            c.text.num_kv_heads()
        ),
        (1536, 28, 2)
    );
    assert_eq!(c.text.mrope_section(), Some(vec![16, 24, 24]));
    assert!(c.tie_word_embeddings);
    assert_eq!(
        (c.vision.embed_dim, c.vision.depth, c.vision.hidden_size),
        (1280, 32, 1536)
    );
    assert_eq!(
        (c.image_token_id, c.video_token_id, c.vision_start_token_id),
        (151_655, 151_656, 151_652)
    );
    // Sections that do not cover head_dim / 2 are refused, naming the file.
    let bad = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[16, 24, 24]", "[16, 24, 16]");
    std::fs::write(&path, bad).unwrap();
    let e = Qwen2VLConfig::from_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("config.json") && e.contains("mrope_section"),
        "{e}"
    );
}

/// In bf16 (weights and activations; RoPE, attention softmax and the tower's rotary in f32)
/// the image prompt's logits stay close to the f32 reference.
#[test]
fn bf16_image_prompt_logits_stay_close() {
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let m = Model::load(&files(), &Device::Cpu, DType::BF16, &NoAdapters).unwrap();
    let got = logits_of(&m, &prompt_of(&r, "one_image", &["wide"]));
    let want = &r["one_image.logits"];
    let d = max_abs_diff(&got, want);
    eprintln!(
        "bf16: max |Δlogit| {d:.2e} at logit scale {:.2}",
        max_abs(want)
    );
    assert!(d <= 2e-2, "max |Δlogit| {d:e}");
}

/// A prompt with an input the model has no tower for is refused, naming the family; the
/// family comes from `config.json`.
#[test]
fn inputs_without_a_tower_are_refused() {
    use model::Family;
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let vl = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    assert_eq!(vl.family, Family::Qwen2VL);
    assert!(vl.audio.is_none() && vl.visual.is_some());
    let e = vl
        .features(&[0.0; 16_000], audio::LongAudio::Error)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("qwen2_vl model has no tower for audio"),
        "{e}"
    );

    let dir = testkit::tiny_model_dir();
    let au = Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap();
    assert_eq!(au.family, Family::Qwen2Audio);
    let e = au
        .sequence(
            "<|im_start|>user\nhi",
            Inputs::images(vec![image_of(&r, "small")]),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("qwen2_audio model has no tower for image or video"),
        "{e}"
    );
}

/// Full finetuning of the visual model: with every weight a `Var`, a loss on an image prompt's
/// logits gives every one of them (patch embedding, tower blocks, merger, decoder, head) a
/// non-zero gradient — nothing on the visual path is cut from the graph — and checkpointing
/// changes none of them.
#[test]
fn every_weight_of_the_visual_model_gets_a_gradient() {
    use candle_core::Var;
    let r = load_tensors(fixtures().join("vision/reference.safetensors"));
    let files = files();
    let tensors = load_tensors(&files.weights[0]);
    let vars: HashMap<String, Var> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), Var::from_tensor(t).unwrap()))
        .collect();
    let map = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let vb = candle_nn::VarBuilder::from_tensors(map, DType::F32, &Device::Cpu);
    let mut m = Model::build(&files, vb, &NoAdapters).unwrap();
    let prompt = prompt_of(&r, "two_images", &["small", "alpha"]);
    let loss = |m: &Model| {
        let logits = m.prompt_logits(&prompt).unwrap();
        let logp = candle_nn::ops::log_softmax(&logits, candle_core::D::Minus1).unwrap();
        logp.narrow(1, 0, 7).unwrap().sum_all().unwrap()
    };
    let grads = loss(&m).backward().unwrap();
    let visual = vars.keys().filter(|k| k.starts_with("visual.")).count();
    assert!(visual >= 20, "{visual} visual weights");
    for (name, v) in &vars {
        let g = grads
            .get(v.as_tensor())
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(max_abs(g) > 0.0, "{name}: zero gradient");
    }
    // Activation checkpointing (decoder layers and vision blocks recomputed in the backward
    // pass) gives the same gradients.
    let store = m.enable_checkpointing(vars.values().map(|v| v.id()));
    let mut ckpt = loss(&m).backward().unwrap();
    store.drain_into(&mut ckpt).unwrap();
    for (name, v) in &vars {
        let (a, b) = (grads.get(v.as_tensor()).unwrap(), ckpt.get(v.as_tensor()));
        let b = b.unwrap_or_else(|| panic!("{name}: no gradient when checkpointed"));
        let d = max_abs_diff(a, b);
        assert!(d <= 1e-6 * (1.0 + max_abs(a)), "{name}: {d:e}");
    }
}

/// Video prompts from the files (tests/fixtures/vision/video, scripts/make_video_fixtures.py):
/// an MP4 clip alone, and an image followed by a folder of frames. Frames are sampled and
/// preprocessed by the `vision` frontend (bit-exact there); here the tower's output per video,
/// the ids with `<|video_pad|>` expanded, the 3-D positions (a video's temporal axis advances
/// per frame pair) and the logits at every position equal transformers'.
#[test]
fn video_prompts_equal_transformers() {
    use model::prompt::{render_chat, Message, Part, Role};
    let dir = fixtures().join("vision");
    let r = load_tensors(dir.join("video/reference.safetensors"));
    let cases = testkit::read_json(dir.join("video/cases.json"));
    let m = Model::load(&files(), &Device::Cpu, DType::F32, &NoAdapters).unwrap();
    let v = m.visual.as_ref().unwrap();
    for case in cases["prompts"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let opts: vision::VideoOptions =
            serde_json::from_value(case["video_options"].clone()).unwrap();
        let paths = |key: &str| -> Vec<std::path::PathBuf> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| dir.join(p.as_str().unwrap()))
                .collect()
        };
        let (images, videos) = (paths("images"), paths("videos"));
        let inputs = Inputs {
            audio: vec![],
            images: images.iter().map(|p| m.image(p).unwrap()).collect(),
            videos: videos.iter().map(|p| m.video(p, &opts).unwrap()).collect(),
        };
        let mut parts = vec![Part::Image; images.len()];
        parts.extend(vec![Part::Video; videos.len()]);
        parts.push(Part::Text(case["text"].as_str().unwrap().into()));
        let user = Message {
            role: Role::User,
            parts,
        };
        let templated = render_chat(&[user], true);
        assert_eq!(templated, case["templated"].as_str().unwrap(), "{name}");
        let seq = m.sequence(&templated, inputs).unwrap();
        assert_eq!(seq.ids, ids_of(&r[&format!("{name}.input_ids")]), "{name}");

        // The tower on the video alone.
        let x = &seq.inputs.videos[0];
        let px = Tensor::from_vec(x.data.clone(), (x.rows(), x.patch_dim), &Device::Cpu).unwrap();
        let out = v.tower.forward(&px, &[x.grids[0].to_array()]).unwrap();
        let d_tower = max_abs_diff(&out, &r[&format!("{name}.visual_video")]);

        let vgrids: Vec<[usize; 3]> = seq
            .inputs
            .videos
            .iter()
            .map(|x| x.grids[0].to_array())
            .collect();
        let pos = rope_index(
            &seq.ids,
            &grids(&seq),
            &vgrids,
            v.config.vision.spatial_merge_size,
            &v.config,
        )
        .unwrap();
        let want: Vec<Vec<i64>> = r[&format!("{name}.position_ids")].to_vec2().unwrap();
        for axis in 0..3 {
            let got: Vec<i64> = pos[axis].iter().map(|&x| x as i64).collect();
            assert_eq!(got, want[axis], "{name} axis {axis}");
        }
        let d = max_abs_diff(
            &m.prompt_logits(&seq).unwrap(),
            &r[&format!("{name}.logits")],
        );
        eprintln!("{name}: tower max |Δ| {d_tower:.2e}, logits max |Δ| {d:.2e}");
        assert!(d_tower <= 1e-5 && d <= 1e-4, "{name}: {d_tower:e} {d:e}");
    }
}
