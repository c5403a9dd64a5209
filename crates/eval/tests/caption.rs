//! `eval caption` and `eval score` end to end on the tiny model: AC, ACC and ADC lines, the
//! files written, batched = unbatched generation, rescoring from files, and bad input (missing
//! partners, empty captions, duplicate ids) named by file and line.

mod common;

use std::path::{Path, PathBuf};

use common::{eval, s};
use eval::caption::{caption_manifest, CaptionOptions};
use eval::predictions::{score_files, ScoreOptions};
use eval::OnEmpty;
use testkit::{read_json, read_jsonl, scratch, tiny_clip, tiny_model_dir};

fn manifest(dir: &Path) -> PathBuf {
    let (sp, tone, pluck) = (
        tiny_clip("speech.wav"),
        tiny_clip("tone.wav"),
        tiny_clip("noise_pluck.wav"),
    );
    let path = dir.join("captions.jsonl");
    std::fs::write(
        &path,
        format!(
            "{{\"id\": \"ac1\", \"task\": \"ac\", \"audio\": \"{}\", \"target\": \"A man speaks.\", \"references\": [\"Someone talks\", \"a person is speaking\"]}}\n\
             {{\"id\": \"acc1\", \"task\": \"acc\", \"audio\": [\"{}\", \"{}\"], \"target\": \"a steady sound\"}}\n\
             {{\"id\": \"adc1\", \"task\": \"adc\", \"audio\": [\"{}\", \"{}\"], \"target\": \"a plucked string is added\"}}\n\
             {{\"id\": \"ac2\", \"audio\": \"{}\", \"target\": \"A tone plays\", \"prompt\": \"What do you hear?\"}}\n",
            sp.display(), sp.display(), tone.display(), tone.display(), pluck.display(), tone.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn caption_writes_predictions_and_summary_and_rescoring_agrees() {
    let d = scratch("caption-cli");
    let m = manifest(&d);
    let out = d.join("out");
    let result = d.join("result.json");
    let (ok, stdout, stderr) = eval(&[
        "caption",
        "--model",
        s(&tiny_model_dir()),
        "--manifest",
        s(&m),
        "--out",
        s(&out),
        "--max-new-tokens",
        "6",
        "--batch-size",
        "3",
        "--no-java",
        "--result",
        s(&result),
        "--dataset",
        "tinycaps",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("| CIDEr-D |"), "{stdout}");
    let recs = read_jsonl(out.join("predictions.jsonl"));
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0]["id"], "ac1");
    assert_eq!(recs[0]["references"][0], "A man speaks.");
    assert_eq!(recs[0]["references"].as_array().unwrap().len(), 3);
    assert!(recs[0]["source"]
        .as_str()
        .unwrap()
        .ends_with("captions.jsonl:1"));
    for r in &recs {
        assert!(r["prediction"].is_string());
        assert!(r["scores"]["cider_d"].is_number() && r["scores"]["bleu_4"].is_number());
        assert!(r["scores"]["meteor"].is_null() && r["scores"]["spider"].is_null());
    }
    let sum = read_json(out.join("summary.json"));
    assert_eq!(sum["clips"], 4);
    assert_eq!(sum["generation"]["strategy"], "greedy");
    assert!(sum["metrics"]["rouge_l"].is_number());
    assert!(sum["metrics"]["meteor"].is_null());
    assert_eq!(sum["not_computed"]["meteor"], "Java metrics switched off");
    assert!(out.join("summary.md").is_file());
    let r = read_json(&result);
    assert_eq!(r["format"], "audio-lm-eval-result/1");
    assert_eq!(r["captioning"]["tinycaps"]["metrics"], sum["metrics"]);

    // Rescoring the written predictions (their own references) gives the same numbers.
    let again = d.join("again");
    let (ok, _, stderr) = eval(&[
        "score",
        "--predictions",
        s(&out.join("predictions.jsonl")),
        "--out",
        s(&again),
        "--no-java",
        "--on-empty",
        "count",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        read_json(again.join("summary.json"))["metrics"],
        sum["metrics"]
    );
    // And against the manifest as references file.
    let report = score_files(
        &out.join("predictions.jsonl"),
        Some(&m),
        &ScoreOptions {
            on_empty: OnEmpty::Count,
            ..ScoreOptions::default()
        },
    )
    .unwrap();
    // (Equal up to the last bit: the two binaries may round a `powf` differently.)
    let same = serde_json::to_value(report.summary.metrics).unwrap();
    for m in eval::score::CAPTION_METRICS {
        match (same[m].as_f64(), sum["metrics"][m].as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-12, "{m}: {a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{m}"),
        }
    }

    // A result file belongs to one model.
    let (ok, _, stderr) = eval(&[
        "caption",
        "--model",
        s(&tiny_model_dir()),
        "--adapter",
        s(&testkit::fixtures().join("tiny/adapter")),
        "--manifest",
        s(&m),
        "--out",
        s(&d.join("o2")),
        "--max-new-tokens",
        "2",
        "--no-java",
        "--result",
        s(&result),
    ]);
    assert!(
        !ok && stderr.contains("result.json") && stderr.contains("another result file"),
        "{stderr}"
    );
}

#[test]
fn batched_captions_equal_unbatched_ones() {
    let d = scratch("caption-batch");
    let m = manifest(&d);
    let model = common::tiny();
    let run = |batch_size| {
        let opts = CaptionOptions {
            batch_size,
            java: None,
            generate: model::generate::GenerateOptions {
                max_new_tokens: 8,
                ..Default::default()
            },
            ..CaptionOptions::default()
        };
        caption_manifest(&model, &m, &opts).unwrap()
    };
    let (one, four) = (run(1), run(4));
    let preds = |r: &eval::caption::CaptionReport| {
        r.clips
            .iter()
            .map(|c| c.prediction.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(preds(&one), preds(&four));
    assert_eq!(one.summary.metrics, four.summary.metrics);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn score_refuses_bad_input_naming_the_line() {
    let d = scratch("score-bad");
    let refs = write(
        &d,
        "refs.jsonl",
        "{\"id\": \"a\", \"task\": \"ac\", \"audio\": \"a.wav\", \"target\": \"a dog barks\"}\n\
         {\"id\": \"b\", \"task\": \"ac\", \"audio\": \"b.wav\", \"target\": \"rain falls\", \"references\": [\"it rains\"]}\n",
    );
    let opts = ScoreOptions::default();
    let err = |preds: &str| {
        let p = write(&d, "preds.jsonl", preds);
        score_files(&p, Some(&refs), &opts).unwrap_err().to_string()
    };
    // A prediction without a reference.
    let e =
        err("{\"id\": \"a\", \"prediction\": \"a dog\"}\n{\"id\": \"c\", \"prediction\": \"x\"}\n");
    assert!(e.contains("preds.jsonl:2") && e.contains("`c`"), "{e}");
    // A reference without a prediction.
    let e = err("{\"id\": \"a\", \"prediction\": \"a dog\"}\n");
    assert!(e.contains("refs.jsonl:2") && e.contains("`b`"), "{e}");
    // An empty caption.
    let e = err(
        "{\"id\": \"a\", \"prediction\": \"a dog\"}\n{\"id\": \"b\", \"prediction\": \"  \"}\n",
    );
    assert!(e.contains("preds.jsonl:2") && e.contains("empty"), "{e}");
    // A duplicate id, an unknown field, a missing prediction.
    let e =
        err("{\"id\": \"a\", \"prediction\": \"x\"}\n\n{\"id\": \"a\", \"prediction\": \"y\"}\n");
    assert!(e.contains("preds.jsonl:3") && e.contains("line 1"), "{e}");
    let e = err("{\"id\": \"a\", \"prediction\": \"x\", \"caption\": \"y\"}\n");
    assert!(e.contains("preds.jsonl:1") && e.contains("caption"), "{e}");
    let e = err("{\"id\": \"a\"}\n");
    assert!(
        e.contains("preds.jsonl:1") && e.contains("prediction"),
        "{e}"
    );
    // Without a references file every line needs its own references.
    let p = write(&d, "own.jsonl", "{\"id\": 1, \"prediction\": \"x\", \"references\": [\"x y\"]}\n{\"id\": 2, \"prediction\": \"x\"}\n");
    let e = score_files(&p, None, &opts).unwrap_err().to_string();
    assert!(e.contains("own.jsonl:2") && e.contains("`2`"), "{e}");
    let p = write(
        &d,
        "own.jsonl",
        "{\"id\": 1, \"prediction\": \"x\", \"references\": [\"\"]}\n",
    );
    let e = score_files(&p, None, &opts).unwrap_err().to_string();
    assert!(
        e.contains("own.jsonl:1") && e.contains("references[0]"),
        "{e}"
    );
}

#[test]
fn score_counts_empty_and_skips_unmatched_when_asked() {
    let d = scratch("score-lenient");
    let refs = write(
        &d,
        "refs.jsonl",
        "{\"id\": \"a\", \"audio\": \"a.wav\", \"target\": \"a dog barks\"}\n\
         {\"id\": \"b\", \"audio\": \"b.wav\", \"target\": \"rain falls\"}\n\
         {\"id\": \"c\", \"audio\": \"c.wav\", \"target\": \"a bell rings\"}\n",
    );
    let preds = write(
        &d,
        "preds.jsonl",
        "{\"id\": \"a\", \"prediction\": \"a dog barks\"}\n{\"id\": \"b\", \"prediction\": \"\"}\n{\"id\": \"z\", \"prediction\": \"x\"}\n",
    );
    let opts = ScoreOptions {
        on_empty: OnEmpty::Count,
        on_unmatched: data::OnBad::Skip,
        java: None,
        ..ScoreOptions::default()
    };
    let r = score_files(&preds, Some(&refs), &opts).unwrap();
    assert_eq!(r.summary.clips, 2);
    assert_eq!(r.summary.empty_predictions, vec!["b".to_string()]);
    assert_eq!(r.clips[1].scores.cider_d, Some(0.0));
    let locs: Vec<&str> = r
        .summary
        .skipped
        .iter()
        .map(|k| k.location.as_str())
        .collect();
    assert_eq!(locs.len(), 2);
    assert!(
        locs[0].ends_with("preds.jsonl:3") && locs[1].ends_with("refs.jsonl:3"),
        "{locs:?}"
    );
}
