//! `eval report` from hand-made result files: columns, deltas against the base, omitted
//! columns, and the three files.

mod common;

use common::{eval, s};
use testkit::{read_json, scratch};

const BASE: &str = r#"{
  "format": "audio-lm-eval-result/1", "name": "original",
  "model": {"model": "Qwen/Qwen2-Audio-7B-Instruct", "adapter": null},
  "captioning": {"audiocaps": {"source": "ac.jsonl", "clips": 10, "empty_predictions": 0,
    "metrics": {"bleu_1": 0.5, "bleu_2": 0.4, "bleu_3": 0.3, "bleu_4": 0.2, "meteor": null,
                "rouge_l": 0.45, "cider_d": 0.60, "spice": null, "spider": null},
    "not_computed": {"meteor": "no jar", "spice": "no jar", "spider": "needs SPICE"}}},
  "classification": {
    "vsc": {"source": "v.jsonl", "samples": 100, "accuracy": 0.9361, "macro_f1": 0.93, "unmatched": 0, "scoring": "likelihood", "select": "sum"},
    "ser": {"source": "s.jsonl", "samples": 100, "accuracy": 0.6285, "macro_f1": 0.6, "unmatched": 0, "scoring": "likelihood", "select": "sum"}}
}"#;

const ACC: &str = r#"{
  "format": "audio-lm-eval-result/1", "name": "acc",
  "model": {"model": "Qwen/Qwen2-Audio-7B-Instruct", "adapter": "runs/acc/adapter"},
  "captioning": {"audiocaps": {"source": "ac.jsonl", "clips": 10, "empty_predictions": 0,
    "metrics": {"bleu_1": 0.6, "bleu_2": 0.45, "bleu_3": 0.3, "bleu_4": 0.25, "meteor": null,
                "rouge_l": 0.5, "cider_d": 0.75, "spice": null, "spider": null},
    "not_computed": {}}},
  "classification": {
    "vsc": {"source": "v.jsonl", "samples": 100, "accuracy": 0.93, "macro_f1": 0.92, "unmatched": 0, "scoring": "likelihood", "select": "sum"}}
}"#;

const ADC: &str = r#"{
  "format": "audio-lm-eval-result/1", "name": "adc", "model": null,
  "classification": {
    "vsc": {"source": "v.jsonl", "samples": 100, "accuracy": 0.8129, "macro_f1": 0.8, "unmatched": 3, "scoring": "generate", "select": null},
    "ser": {"source": "s.jsonl", "samples": 100, "accuracy": 0.585, "macro_f1": 0.5, "unmatched": 0, "scoring": "likelihood", "select": "sum"}}
}"#;

#[test]
fn report_tabulates_deltas_against_the_base() {
    let d = scratch("report");
    for (name, text) in [("base.json", BASE), ("acc.json", ACC), ("adc.json", ADC)] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let out = d.join("out");
    let (ok, stdout, stderr) = eval(&[
        "report",
        "--base",
        s(&d.join("base.json")),
        "--runs",
        s(&d.join("acc.json")),
        s(&d.join("adc.json")),
        "--out",
        s(&out),
    ]);
    assert!(ok, "{stderr}");
    let r = read_json(out.join("report.json"));
    let keys: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![
            "captioning/audiocaps/bleu_1",
            "captioning/audiocaps/bleu_2",
            "captioning/audiocaps/bleu_3",
            "captioning/audiocaps/bleu_4",
            "captioning/audiocaps/rouge_l",
            "captioning/audiocaps/cider_d",
            "classification/vsc/accuracy",
            "classification/ser/accuracy",
        ]
    );
    let omitted: Vec<&str> = r["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        omitted,
        vec![
            "captioning/audiocaps/meteor",
            "captioning/audiocaps/spice",
            "captioning/audiocaps/spider",
            "captioning/audiocaps/fense",
            "captioning/audiocaps/spider_fl"
        ]
    );
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["name"], "original");
    assert!(rows[0]["deltas"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.is_null()));
    let delta = |row: usize, col: usize| rows[row]["deltas"][col].as_f64();
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
    assert!(close(delta(1, 5), 0.15)); // acc CIDEr-D 0.75 - 0.60
    assert!(close(delta(1, 6), 0.93 - 0.9361)); // acc vsc
    assert_eq!(delta(1, 7), None); // acc has no ser
    assert_eq!(delta(2, 0), None); // adc has no captioning
    assert!(close(delta(2, 6), 0.8129 - 0.9361));
    assert!(close(delta(2, 7), 0.585 - 0.6285));
    assert!(stdout.contains("| acc | 60.00 (+10.00) |"), "{stdout}");
    assert!(stdout.contains("81.29 (-12.32)"), "{stdout}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("n/a") && md.contains("omitted"), "{md}");
    // Files without per-item data: the table as before, and no interval made up.
    assert!(md.contains("No confidence intervals"), "{md}");
    assert!(rows[1]["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.is_null()));
    let png = std::fs::read(out.join("report.png")).unwrap();
    assert!(
        png.len() > 1000 && png.starts_with(b"\x89PNG"),
        "{} bytes",
        png.len()
    );
}

#[test]
fn report_refuses_a_file_that_is_not_a_result() {
    let d = scratch("report-bad");
    std::fs::write(d.join("base.json"), BASE).unwrap();
    std::fs::write(d.join("bad.json"), BASE.replace("\"clips\"", "\"clip\"")).unwrap();
    std::fs::write(
        d.join("old.json"),
        BASE.replace("eval-result/1", "eval-result/0"),
    )
    .unwrap();
    for bad in ["bad.json", "old.json"] {
        let (ok, _, stderr) = eval(&[
            "report",
            "--base",
            s(&d.join("base.json")),
            "--runs",
            s(&d.join(bad)),
            "--out",
            s(&d.join("out")),
        ]);
        assert!(!ok && stderr.contains(bad), "{stderr}");
    }
}

#[test]
fn report_can_narrow_the_captioning_metrics() {
    let d = scratch("report-metrics");
    for (name, text) in [("base.json", BASE), ("acc.json", ACC)] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let out = d.join("out");
    let (ok, _, stderr) = eval(&[
        "report",
        "--base",
        s(&d.join("base.json")),
        "--runs",
        s(&d.join("acc.json")),
        "--out",
        s(&out),
        "--metrics",
        "bleu_4,cider_d,meteor",
    ]);
    assert!(ok, "{stderr}");
    let r = read_json(out.join("report.json"));
    let keys: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "captioning/audiocaps/bleu_4",
            "captioning/audiocaps/cider_d",
            "classification/vsc/accuracy",
            "classification/ser/accuracy"
        ]
    );
    // Each row keeps one value and one delta per remaining column.
    let acc = &r["rows"][1];
    assert_eq!(acc["values"].as_array().unwrap().len(), 4);
    assert!((acc["deltas"][1].as_f64().unwrap() - 0.15).abs() < 1e-12);
    // METEOR was asked for but no model has it: listed as omitted; BLEU-1 was not asked for.
    let omitted: Vec<&str> = r["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        omitted.contains(&"captioning/audiocaps/meteor"),
        "{omitted:?}"
    );
    assert!(
        !omitted.iter().any(|k| k.ends_with("bleu_1")),
        "{omitted:?}"
    );
}
