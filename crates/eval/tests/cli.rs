//! The eval binary end to end on the committed tiny model: `generate` prints the reference's
//! greedy text and dumps its logits; `mel` writes the reference's spectrogram.

mod common;

use candle_core::DType;
use common::{eval, s};
use testkit::{fixtures, load_tensors, max_abs_diff, read_json, scratch};

#[test]
fn generate_prints_the_reference_text_and_dumps_logits() {
    let tiny = fixtures().join("tiny");
    let out = scratch("cli-generate").join("logits.safetensors");
    let (ok, stdout, stderr) = eval(&[
        "generate",
        "--model",
        tiny.join("model").to_str().unwrap(),
        "--audio",
        tiny.join("clips/speech.wav").to_str().unwrap(),
        "--prompt",
        "What is this sound?",
        "--max-new-tokens",
        "20",
        "--min-new-tokens",
        "20",
        "--dump-logits",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let cases = read_json(tiny.join("cases.json"));
    let want = cases["cases"][0]["greedy_text"].as_str().unwrap();
    assert_eq!(stdout.strip_suffix('\n').unwrap(), want);
    let got = load_tensors(&out);
    let r = load_tensors(tiny.join("reference.safetensors"));
    assert_eq!(got["input_ids"].dtype(), DType::I64);
    assert_eq!(
        got["input_ids"].to_vec1::<i64>().unwrap(),
        r["single.input_ids"].to_vec1::<i64>().unwrap()
    );
    let d = max_abs_diff(&got["logits"], &r["single.logits"]);
    assert!(d <= 1e-4);
}

/// `--image` on a Qwen2-VL checkpoint: PNG files → patches → M-RoPE generation gives
/// transformers' greedy tokens, and the dumped prompt is the reference's ids and logits.
#[test]
fn generate_with_images_on_qwen2_vl() {
    let v = fixtures().join("vision");
    let out = scratch("cli-generate-image").join("logits.safetensors");
    let base: Vec<String> = [
        "generate",
        "--model",
        s(&v.join("model")),
        "--image",
        s(&v.join("images/small.png")),
        "--image",
        s(&v.join("images/alpha.png")),
        "--prompt",
        "What differs?",
        "--max-new-tokens",
        "20",
        "--min-new-tokens",
        "20",
    ]
    .map(String::from)
    .to_vec();
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        eval(&a)
    };
    let (ok, stdout, stderr) = run(&["--dump-logits", s(&out)]);
    assert!(ok, "{stderr}");
    let tok = model::tokenizer::Tokenizer::from_file(&v.join("model/tokenizer.json")).unwrap();
    let greedy: Vec<u32> = load_tensors(v.join("generate.safetensors"))["two_images.greedy"]
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(
        stdout.strip_suffix('\n').unwrap(),
        tok.decode(&greedy, true).unwrap()
    );
    let got = load_tensors(&out);
    let r = load_tensors(v.join("reference.safetensors"));
    assert_eq!(
        got["input_ids"].to_vec1::<i64>().unwrap(),
        r["two_images.input_ids"].to_vec1::<i64>().unwrap()
    );
    assert!(max_abs_diff(&got["logits"], &r["two_images.logits"]) <= 1e-4);
    // A video prompt (an MP4 clip, frames sampled at 2 fps): the reference's ids and logits
    // (tests/fixtures/vision/video, scripts/make_video_fixtures.py).
    let video_out = scratch("cli-generate-video").join("logits.safetensors");
    let (ok, _, stderr) = eval(&[
        "generate",
        "--model",
        s(&v.join("model")),
        "--video",
        s(&v.join("video/clip.mp4")),
        "--video-min-pixels",
        "3136",
        "--video-max-pixels",
        "9408",
        "--prompt",
        "What happens?",
        "--max-new-tokens",
        "2",
        "--dump-logits",
        s(&video_out),
    ]);
    assert!(ok, "{stderr}");
    let got = load_tensors(&video_out);
    let rv = load_tensors(v.join("video/reference.safetensors"));
    assert_eq!(
        got["input_ids"].to_vec1::<i64>().unwrap(),
        rv["one_video.input_ids"].to_vec1::<i64>().unwrap()
    );
    assert!(max_abs_diff(&got["logits"], &rv["one_video.logits"]) <= 1e-4);
    // Audio on a model without an audio tower is refused, naming what is missing.
    let clip = fixtures().join("tiny/clips/tone.wav");
    let (ok, _, stderr) = run(&["--audio", s(&clip)]);
    assert!(
        !ok && stderr.contains("qwen2_vl model has no tower for audio"),
        "{stderr}"
    );
    // An unreadable image is named.
    let bad = scratch("cli-generate-image-bad").join("notes.png");
    std::fs::write(&bad, "not an image").unwrap();
    let (ok, _, stderr) = eval(&[
        "generate",
        "--model",
        v.join("model").to_str().unwrap(),
        "--image",
        bad.to_str().unwrap(),
        "--prompt",
        "x",
    ]);
    assert!(!ok && stderr.contains("notes.png"), "{stderr}");
}

#[test]
fn mel_writes_the_whisper_spectrogram() {
    let a = fixtures().join("audio");
    let r = load_tensors(a.join("mel_reference.safetensors"));
    let dir = scratch("cli-mel");
    for (pad, key) in [(false, "speech.mel80"), (true, "speech.mel80_pad30")] {
        let out = dir.join(format!("mel{pad}.safetensors"));
        let mut args = vec![
            "mel",
            "--audio",
            a.join("clips/speech.wav")
                .to_str()
                .unwrap()
                .to_owned()
                .leak() as &str,
            "--n-mels",
            "80",
            "--out",
            out.to_str().unwrap().to_owned().leak(),
        ];
        if pad {
            args.push("--pad-30s");
        }
        let (ok, _, stderr) = eval(&args);
        assert!(ok, "{stderr}");
        let got = load_tensors(&out);
        // The padded reference is stored for its first frames only (the rest is one value).
        let want = &r[key];
        let n = want.dim(1).unwrap();
        assert_eq!(got["mel"].dim(1).unwrap(), if pad { 3000 } else { n });
        let head = got["mel"].narrow(1, 0, n).unwrap();
        let d = max_abs_diff(&head, want);
        assert!(d <= 1e-4, "{key}");
    }
}

#[test]
fn bad_input_names_the_file() {
    let tiny = fixtures().join("tiny");
    let (ok, _, stderr) = eval(&[
        "generate",
        "--model",
        tiny.join("model").to_str().unwrap(),
        "--audio",
        "/no/such/clip.wav",
        "--prompt",
        "x",
    ]);
    assert!(!ok);
    assert!(stderr.contains("/no/such/clip.wav"), "{stderr}");
    let (ok, _, stderr) = eval(&[
        "mel",
        "--audio",
        "/no/such.flac",
        "--n-mels",
        "81",
        "--out",
        "/tmp/x",
    ]);
    assert!(!ok && stderr.contains("80 or 128"), "{stderr}");
}
