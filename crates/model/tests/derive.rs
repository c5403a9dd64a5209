//! A visual model derived from an audio one (`model::derive`): it loads as Qwen2-VL, keeps the
//! source's language model (text-only logits equal on the shared vocabulary), and takes
//! images and videos.

use candle_core::{DType, Device, IndexOp};
use model::derive::{derive_visual, VisionSpec};
use model::prompt::{Message, Part, Role};
use model::{Family, Inputs, Model};
use testkit::{fixtures, max_abs_diff, scratch, tiny_model_dir};

#[test]
fn a_derived_visual_model_keeps_the_language_model_and_sees() {
    let out = scratch("derive-visual").join("vl");
    let spec = VisionSpec {
        depth: 2,
        embed_dim: 32,
        num_heads: 4,
        mlp_ratio: 2,
        min_pixels: 56 * 56,
        max_pixels: 28 * 28 * 16,
        init_std: 0.02,
        seed: 5,
    };
    let vocab = derive_visual(&tiny_model_dir(), &spec, &out).unwrap();
    let load = |dir: &std::path::Path| {
        Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap()
    };
    let (audio, vl) = (load(&tiny_model_dir()), load(&out));
    assert_eq!(vl.family, Family::Qwen2VL);
    assert_eq!(vl.text_config().vocab_size, vocab);
    let text = |parts: Vec<Part>| {
        vec![Message {
            role: Role::User,
            parts,
        }]
    };
    let q = text(vec![Part::Text("Describe a bell ringing twice.".into())]);
    let la = audio
        .prompt_logits(&audio.chat_sequence(&q, Inputs::default()).unwrap())
        .unwrap();
    let lv = vl
        .prompt_logits(&vl.chat_sequence(&q, Inputs::default()).unwrap())
        .unwrap();
    let shared = la.dim(1).unwrap();
    assert_eq!(lv.dim(1).unwrap(), shared + 4);
    let d = max_abs_diff(&la, &lv.i((.., ..shared)).unwrap());
    assert!(d < 1e-5, "text-only logits moved by {d}");

    // Images and a video (a folder of frames) go through the new tower.
    let img = vl
        .image(&fixtures().join("vision/images/small.png"))
        .unwrap();
    let video = vl
        .video(
            &fixtures().join("vision/video/frames"),
            &vision::VideoOptions::default(),
        )
        .unwrap();
    let q = text(vec![Part::Image, Part::Video, Part::Text("Same?".into())]);
    let inputs = Inputs {
        audio: vec![],
        images: vec![img],
        videos: vec![video],
    };
    let seq = vl.chat_sequence(&q, inputs).unwrap();
    let l = vl.prompt_logits(&seq).unwrap();
    assert_eq!(l.dims(), &[seq.ids.len(), vocab]);
    assert!(testkit::max_abs(&l).is_finite());
    // Deriving twice from the same seed gives the same bytes.
    let again = scratch("derive-visual-again").join("vl");
    derive_visual(&tiny_model_dir(), &spec, &again).unwrap();
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        std::fs::read(again.join("model.safetensors")).unwrap()
    );
}
