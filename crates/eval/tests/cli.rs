//! The eval binary end to end on the committed tiny model: `generate` prints the reference's
//! greedy text and dumps its logits; `mel` writes the reference's spectrogram.

use std::path::PathBuf;
use std::process::Command;

use candle_core::{DType, Device};

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

fn eval(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eval"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("eval-cli-{}-{name}", std::process::id()))
}

#[test]
fn generate_prints_the_reference_text_and_dumps_logits() {
    let tiny = fixtures().join("tiny");
    let out = tmp("logits.safetensors");
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
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tiny.join("cases.json")).unwrap()).unwrap();
    let want = cases["cases"][0]["greedy_text"].as_str().unwrap();
    assert_eq!(stdout.strip_suffix('\n').unwrap(), want);
    let got = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    let r =
        candle_core::safetensors::load(tiny.join("reference.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(got["input_ids"].dtype(), DType::I64);
    assert_eq!(
        got["input_ids"].to_vec1::<i64>().unwrap(),
        r["single.input_ids"].to_vec1::<i64>().unwrap()
    );
    let d = (&got["logits"] - &r["single.logits"])
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    assert!(d.to_scalar::<f32>().unwrap() <= 1e-4);
}

#[test]
fn mel_writes_the_whisper_spectrogram() {
    let a = fixtures().join("audio");
    let r =
        candle_core::safetensors::load(a.join("mel_reference.safetensors"), &Device::Cpu).unwrap();
    for (pad, key) in [(false, "speech.mel80"), (true, "speech.mel80_pad30")] {
        let out = tmp(&format!("mel{pad}.safetensors"));
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
        let got = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
        // The padded reference is stored for its first frames only (the rest is one value).
        let want = &r[key];
        let n = want.dim(1).unwrap();
        assert_eq!(got["mel"].dim(1).unwrap(), if pad { 3000 } else { n });
        let head = got["mel"].narrow(1, 0, n).unwrap();
        let d = (&head - want)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() <= 1e-4, "{key}");
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
