//! `eval classify` end to end on the tiny model and clips: the files it writes, scores that
//! agree with each other (confusion sums, accuracy, macro-F1 from the per-class F1s), both
//! scoring modes, a custom TOML task, the result file, and bad input named by line.

mod common;

use std::path::Path;

use common::{eval, s};
use data::classify::{ClassTask, LabeledSample};
use eval::classify::{classify_samples, ClassifyOptions, Scoring};
use eval::classify_report::ClassifySummary;
use testkit::{fixtures, read_json, read_jsonl, scratch, tiny_clip, tiny_model_dir};

fn manifest(dir: &Path, lines: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join("test.jsonl");
    let text: String = lines
        .iter()
        .map(|(audio, target)| {
            format!(
                "{{\"task\": \"vsc\", \"audio\": \"{}\", \"target\": \"{target}\"}}\n",
                tiny_clip(audio).display()
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Checks that a summary's numbers agree with each other and with the records.
fn check_consistent(sum: &ClassifySummary, records: &[serde_json::Value]) {
    assert_eq!(sum.samples, records.len());
    let correct = records.iter().filter(|r| r["correct"] == true).count();
    assert_eq!(sum.correct, correct);
    assert!((sum.accuracy - correct as f64 / records.len() as f64).abs() < 1e-12);
    let total: usize = sum.confusion.matrix.iter().flatten().sum();
    assert_eq!(total, sum.samples);
    let diag: usize = (0..sum.labels.len())
        .map(|i| sum.confusion.matrix[i][i])
        .sum();
    assert_eq!(diag, sum.correct);
    for (row, c) in sum.confusion.matrix.iter().zip(&sum.per_class) {
        assert_eq!(row.iter().sum::<usize>(), c.support, "{}", c.label);
    }
    let unmatched_col: usize = sum.confusion.matrix.iter().map(|r| r[r.len() - 1]).sum();
    assert_eq!(unmatched_col, sum.unmatched.len());
    let present: Vec<f64> = sum
        .per_class
        .iter()
        .enumerate()
        .filter(|(i, c)| c.support > 0 || sum.confusion.matrix.iter().any(|r| r[*i] > 0))
        .map(|(_, c)| c.f1)
        .collect();
    assert_eq!(present.len(), sum.macro_labels);
    let macro_f1 = present.iter().sum::<f64>() / present.len() as f64;
    assert!((macro_f1 - sum.macro_f1).abs() < 1e-12);
}

#[test]
fn likelihood_mode_writes_consistent_outputs_and_a_result_entry() {
    let d = scratch("classify-cli");
    let m = manifest(
        &d,
        &[
            ("speech.wav", "cough"),
            ("tone.wav", "sigh"),
            ("noise_pluck.wav", "sneeze"),
            ("speech.wav", "Laughter"),
        ],
    );
    let out = d.join("out");
    let result = d.join("result.json");
    let (ok, stdout, stderr) = eval(&[
        "classify",
        "--model",
        s(&tiny_model_dir()),
        "--task",
        "vsc",
        "--manifest",
        s(&m),
        "--out",
        s(&out),
        "--result",
        s(&result),
        "--name",
        "tiny",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("## Confusion"), "{stdout}");
    let records = read_jsonl(out.join("predictions.jsonl"));
    assert_eq!(records.len(), 4);
    assert_eq!(records[3]["target"], "laughter");
    assert_eq!(records[0]["scores"].as_array().unwrap().len(), 6);
    let sum: ClassifySummary = serde_json::from_value(read_json(out.join("summary.json"))).unwrap();
    assert_eq!(sum.task, "vsc");
    assert!(sum.unmatched.is_empty());
    check_consistent(&sum, &records);
    assert!(std::fs::read_to_string(out.join("summary.md"))
        .unwrap()
        .contains("| laughter |"));
    let r = read_json(&result);
    assert_eq!(r["name"], "tiny");
    assert_eq!(r["classification"]["vsc"]["samples"], 4);
    assert_eq!(r["classification"]["vsc"]["accuracy"], sum.accuracy);
    // The accuracy's interval, and each sample's outcome for the report's paired bootstrap.
    let b = sum.bootstrap.as_ref().expect("an interval by default");
    let [lo, hi] = b.get("accuracy").unwrap();
    assert!(lo <= sum.accuracy && sum.accuracy <= hi, "{lo} {hi}");
    assert_eq!(r["classification"]["vsc"]["bootstrap"]["resamples"], 1000);
    let items = r["classification"]["vsc"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for (item, rec) in items.iter().zip(&records) {
        assert_eq!(
            (&item["id"], &item["correct"]),
            (&rec["id"], &rec["correct"])
        );
    }
    assert!(
        stdout.contains("Accuracy in brackets: the 95% interval"),
        "{stdout}"
    );
}

#[test]
fn generate_mode_maps_or_lists_every_answer() {
    let model = common::tiny();
    let task = ClassTask::builtin("vsc").unwrap();
    let samples: Vec<LabeledSample> = ["speech.wav", "tone.wav", "noise_pluck.wav"]
        .iter()
        .enumerate()
        .map(|(i, f)| LabeledSample {
            sample: data::Sample {
                id: format!("c{i}"),
                task: data::Task::Custom("vsc".into()),
                audio: vec![tiny_clip(f)],
                images: vec![],
                videos: vec![],
                prompt: None,
                system: None,
                target: task.labels[i].clone(),
                references: vec![],
                source: data::Location::new("mem", i + 1),
            },
            label: i,
        })
        .collect();
    let opts = ClassifyOptions {
        scoring: Scoring::Generate,
        max_new_tokens: 6,
        batch_size: 2,
        ..ClassifyOptions::default()
    };
    let r = classify_samples(&model, &task, &samples, vec![], "mem", &opts).unwrap();
    let records: Vec<serde_json::Value> = r
        .records
        .iter()
        .map(|x| serde_json::to_value(x).unwrap())
        .collect();
    for rec in &records {
        assert!(
            rec["answer"].is_string() && rec["matched_by"].is_string(),
            "{rec}"
        );
        assert!(rec.get("scores").is_none());
        assert_eq!(rec["predicted"].is_null(), rec["matched_by"] == "unmatched");
    }
    check_consistent(&r.summary, &records);
    // Batched answers are the unbatched ones.
    let one = ClassifyOptions {
        batch_size: 1,
        ..opts
    };
    let r1 = classify_samples(&model, &task, &samples, vec![], "mem", &one).unwrap();
    let answers = |r: &eval::classify_report::ClassifyReport| {
        r.records
            .iter()
            .map(|x| x.answer.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(answers(&r), answers(&r1));
}

#[test]
fn custom_task_from_toml() {
    let d = scratch("classify-custom");
    let cfg = d.join("task.toml");
    std::fs::write(
        &cfg,
        "name = \"kind\"\nlabels = [\"speech\", \"music\", \"noise\"]\n\
         prompt = \"What kind of sound is this? Answer with one of: {labels}.\"\n\
         [aliases]\nspeech = [\"talking\"]\n",
    )
    .unwrap();
    let m = d.join("kind.jsonl");
    std::fs::write(
        &m,
        format!(
            "{{\"audio\": \"{}\", \"target\": \"speech\"}}\n{{\"task\": \"kind\", \"audio\": \"{}\", \"target\": \"music\", \"prompt\": \"Is it music?\"}}\n",
            tiny_clip("speech.wav").display(),
            tiny_clip("tone.wav").display()
        ),
    )
    .unwrap();
    let out = d.join("out");
    let (ok, _, stderr) = eval(&[
        "classify",
        "--model",
        s(&tiny_model_dir()),
        "--task",
        "custom",
        "--task-config",
        s(&cfg),
        "--manifest",
        s(&m),
        "--out",
        s(&out),
        "--select",
        "mean",
    ]);
    assert!(ok, "{stderr}");
    let sum = read_json(out.join("summary.json"));
    assert_eq!(sum["task"], "kind");
    assert_eq!(sum["select"], "mean");
    assert_eq!(sum["confusion"]["columns"].as_array().unwrap().len(), 4);

    std::fs::write(
        &cfg,
        "name = \"kind\"\nlabels = [\"a\", \"b\"]\nprompt = \"p\"\nlabel = []\n",
    )
    .unwrap();
    let (ok, _, stderr) = eval(&[
        "classify",
        "--model",
        s(&tiny_model_dir()),
        "--task",
        "custom",
        "--task-config",
        s(&cfg),
        "--manifest",
        s(&m),
        "--out",
        s(&out),
    ]);
    assert!(
        !ok && stderr.contains("task.toml") && stderr.contains("label"),
        "{stderr}"
    );
    let (ok, _, stderr) = eval(&[
        "classify",
        "--model",
        s(&tiny_model_dir()),
        "--task",
        "custom",
        "--manifest",
        s(&m),
        "--out",
        s(&out),
    ]);
    assert!(!ok && stderr.contains("--task-config"), "{stderr}");
}

#[test]
fn bad_lines_are_named_or_skipped_and_listed() {
    let d = scratch("classify-bad");
    let m = d.join("bad.jsonl");
    std::fs::write(
        &m,
        format!(
            "{{\"task\": \"vsc\", \"audio\": \"{}\", \"target\": \"cough\"}}\n\
             {{\"task\": \"vsc\", \"audio\": \"{}\", \"target\": \"yawn\"}}\n\
             {{\"task\": \"vsc\", \"target\": \"sigh\"}}\n\
             {{\"task\": \"vsc\", \"audio\": \"/no/such/clip.wav\", \"target\": \"sigh\"}}\n",
            tiny_clip("speech.wav").display(),
            tiny_clip("tone.wav").display()
        ),
    )
    .unwrap();
    let out = d.join("out");
    let args = |extra: &[&'static str]| {
        let mut v: Vec<String> = [
            "classify",
            "--model",
            s(&tiny_model_dir()),
            "--task",
            "vsc",
            "--manifest",
            s(&m),
            "--out",
            s(&out),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let run = |v: Vec<String>| eval(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, _, stderr) = run(args(&[]));
    assert!(!ok, "a bad manifest must fail");
    assert!(
        stderr.contains("bad.jsonl:2") && stderr.contains("yawn"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(args(&["--on-bad", "skip"]));
    assert!(ok, "{stderr}");
    let sum = read_json(out.join("summary.json"));
    assert_eq!(sum["samples"], 1);
    let skipped: Vec<String> = sum["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["location"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped[0].ends_with("bad.jsonl:2") && skipped[1].ends_with("bad.jsonl:3"));
    assert!(skipped[2].ends_with("bad.jsonl:4"));
    let reasons = sum["skipped"].to_string();
    assert!(
        reasons.contains("no media") && reasons.contains("/no/such/clip.wav"),
        "{reasons}"
    );
}

#[test]
fn convert_then_classify_a_gtzan_layout() {
    let d = scratch("convert-gtzan");
    for (genre, f) in [
        ("blues", "tone.wav"),
        ("rock", "noise_pluck.wav"),
        ("polka", "tone.wav"),
    ] {
        let dir = d.join("genres").join(genre);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(tiny_clip(f), dir.join(format!("{genre}.00000.wav"))).unwrap();
    }
    let m = d.join("mgc.jsonl");
    let (ok, _, stderr) = eval(&[
        "convert",
        "--format",
        "gtzan",
        "--input",
        s(&d.join("genres")),
        "--out",
        s(&m),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("wrote 2 lines") && stderr.contains("dropped 1"),
        "{stderr}"
    );
    let lines = read_jsonl(&m);
    assert_eq!(lines[0]["audio"][0], "genres/blues/blues.00000.wav");
    let out = d.join("out");
    let (ok, _, stderr) = eval(&[
        "classify",
        "--model",
        s(&tiny_model_dir()),
        "--task",
        "mgc",
        "--manifest",
        s(&m),
        "--out",
        s(&out),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(read_json(out.join("summary.json"))["samples"], 2);
    let (ok, _, stderr) = eval(&[
        "convert",
        "--format",
        "gtzan",
        "--input",
        s(&d.join("genres")),
        "--out",
        s(&m),
        "--sessions",
        "1",
    ]);
    assert!(!ok && stderr.contains("--sessions"), "{stderr}");
}

/// Image and video classification on Qwen2-VL through the same command: a custom task over a
/// manifest of images (native `images` and the ms-swift `<image>` form) and a video, by label
/// likelihood and by generate-then-map; the summary counts every item.
#[test]
fn images_classify_on_a_visual_model() {
    let d = scratch("classify-images");
    let cfg = d.join("task.toml");
    std::fs::write(
        &cfg,
        "name = \"shape\"\nlabels = [\"round\", \"square\", \"striped\"]\n\
         prompt = \"Which shape? Answer with one of: {labels}.\"\n",
    )
    .unwrap();
    let img = |n: &str| {
        fixtures()
            .join("vision/images")
            .join(n)
            .display()
            .to_string()
    };
    let m = d.join("shape.jsonl");
    std::fs::write(
        &m,
        format!(
            "{{\"images\": \"{}\", \"target\": \"round\"}}\n{{\"messages\": [{{\"role\": \"user\", \"content\": \"<image>Which shape?\"}}, {{\"role\": \"assistant\", \"content\": \"striped\"}}], \"images\": [\"{}\"]}}\n{{\"videos\": \"{}\", \"target\": \"square\"}}\n",
            img("small.png"),
            img("wide.jpg"),
            fixtures().join("vision/video/clip.mp4").display()
        ),
    )
    .unwrap();
    for scoring in ["likelihood", "generate"] {
        let out = d.join(scoring);
        let (ok, _, stderr) = eval(&[
            "classify",
            "--model",
            s(&fixtures().join("vision/model")),
            "--task",
            "custom",
            "--task-config",
            s(&cfg),
            "--manifest",
            s(&m),
            "--out",
            s(&out),
            "--scoring",
            scoring,
            "--video-min-pixels",
            "3136",
            "--video-max-pixels",
            "9408",
        ]);
        assert!(ok, "{scoring}: {stderr}");
        let sum = read_json(out.join("summary.json"));
        assert_eq!(sum["samples"], 3, "{scoring}: {sum}");
        let preds = read_jsonl(out.join("predictions.jsonl"));
        assert_eq!(preds.len(), 3);
    }
}
