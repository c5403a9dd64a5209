//! Confidence intervals end to end, without a model: `eval score` writes intervals into its
//! summary and the per-clip data into the result file; `eval report` turns two result files
//! into intervals per value and paired intervals per change (clips matched by id, the rest
//! dropped and counted), equal to the `metrics` bootstrap run directly on the same clips;
//! `--bootstrap 0` leaves the report as it was.

mod common;

use std::path::{Path, PathBuf};

use common::{eval, s};
use metrics::bootstrap::{
    difference_interval, paired, replicates, BootstrapOptions, CiderD, Mean, Resamples,
};
use testkit::{read_json, scratch};

const SCENES: [&str; 8] = [
    "a dog barks loudly",
    "rain falls on a metal roof",
    "a man speaks while cars pass",
    "birds chirp in the morning",
    "a bell rings twice",
    "water flows in a stream",
    "an engine idles and then revs",
    "people clap and cheer",
];

fn refs(i: usize) -> Vec<String> {
    let scene = SCENES[i % SCENES.len()];
    vec![
        scene.to_string(),
        format!("{scene} nearby"),
        format!("someone hears {scene}"),
    ]
}

/// Predictions with their own references: `good` clips get a near copy of a reference,
/// the others an unrelated scene.
fn predictions(dir: &Path, name: &str, ids: &[String], good: impl Fn(usize) -> bool) -> PathBuf {
    let mut text = String::new();
    for id in ids {
        let i: usize = id[1..].parse().unwrap();
        let prediction = if good(i) {
            format!("{} outside", SCENES[i % SCENES.len()])
        } else {
            SCENES[(i + 3) % SCENES.len()].to_string()
        };
        let line = serde_json::json!({"id": id, "prediction": prediction, "references": refs(i)});
        text.push_str(&format!("{line}\n"));
    }
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, text).unwrap();
    path
}

fn score(dir: &Path, preds: &Path, name: &str) -> PathBuf {
    score_as(dir, preds, name, name, &[])
}

/// `eval score` of `preds` into the result file `<file>.json` as model `name`, with `extra`
/// arguments.
fn score_as(dir: &Path, preds: &Path, name: &str, file: &str, extra: &[&str]) -> PathBuf {
    let result = dir.join(format!("{file}.json"));
    let out = dir.join(format!("out-{file}"));
    let mut args = vec![
        "score",
        "--predictions",
        s(preds),
        "--out",
        s(&out),
        "--no-java",
        "--result",
        s(&result),
        "--name",
        name,
        "--dataset",
        "caps",
    ];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = eval(&args);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("In brackets: the 95% interval"), "{stdout}");
    result
}

/// Adds a classification task with per-sample outcomes (`correct(i)` for sample `s<i>`).
fn add_task(result: &Path, task: &str, n: usize, correct: impl Fn(usize) -> bool) {
    let mut r = read_json(result);
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"id": format!("s{i}"), "correct": correct(i)}))
        .collect();
    let right = (0..n).filter(|&i| correct(i)).count();
    r["classification"][task] = serde_json::json!({
        "source": "probe.jsonl", "samples": n, "accuracy": right as f64 / n as f64,
        "macro_f1": 0.5, "unmatched": 0, "scoring": "likelihood", "select": "sum",
        "items": items
    });
    std::fs::write(result, serde_json::to_string_pretty(&r).unwrap()).unwrap();
}

fn report(
    dir: &Path,
    base: &Path,
    run: &Path,
    out: &str,
    extra: &[&str],
) -> (String, serde_json::Value) {
    let out = dir.join(out);
    let mut args = vec![
        "report",
        "--base",
        s(base),
        "--runs",
        s(run),
        "--out",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = eval(&args);
    assert!(ok, "{stderr}");
    (stdout, read_json(out.join("report.json")))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

/// The report's change has `want`'s bounds.
fn assert_bounds(change: &serde_json::Value, want: &metrics::bootstrap::Interval) {
    assert!(
        close(change["low"].as_f64().unwrap(), want.low),
        "{change} {want:?}"
    );
    assert!(
        close(change["high"].as_f64().unwrap(), want.high),
        "{change} {want:?}"
    );
}

#[test]
fn report_gives_intervals_and_paired_changes() {
    let d = scratch("bootstrap-report");
    // The base captioned c0..c39; the run c1..c39 and x40 (one clip dropped on each side).
    let base_ids: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let mut run_ids: Vec<String> = (1..40).map(|i| format!("c{i}")).collect();
    run_ids.push("x40".into());
    let base = score(
        &d,
        &predictions(&d, "base", &base_ids, |i| i % 4 == 0),
        "base",
    );
    let run = score(&d, &predictions(&d, "run", &run_ids, |i| i % 4 != 3), "run");
    // vsc: 70% → 90% on the same 200 samples; ser: the same accuracy, different samples.
    add_task(&base, "vsc", 200, |i| i % 10 < 7);
    add_task(&run, "vsc", 200, |i| i % 10 < 9);
    add_task(&base, "ser", 100, |i| i % 2 == 0);
    add_task(&run, "ser", 100, |i| i % 2 == 1);

    let summary = read_json(d.join("out-base/summary.json"));
    let b = &summary["bootstrap"];
    assert_eq!(
        (b["resamples"].as_u64(), b["seed"].as_u64()),
        (Some(1000), Some(0))
    );
    let base_cider = summary["metrics"]["cider_d"].as_f64().unwrap();
    let iv = b["intervals"]["cider_d"].as_array().unwrap();
    let (lo, hi) = (iv[0].as_f64().unwrap(), iv[1].as_f64().unwrap());
    assert!(lo < base_cider && base_cider < hi, "{lo} {base_cider} {hi}");
    assert!(
        b["not_computed"].as_object().is_none_or(|m| m.is_empty()),
        "{b}"
    );
    let stored = read_json(&base);
    assert_eq!(
        stored["captioning"]["caps"]["items"]
            .as_array()
            .unwrap()
            .len(),
        40
    );
    assert_eq!(
        stored["captioning"]["caps"]["bootstrap"],
        summary["bootstrap"]
    );

    let (stdout, r) = report(&d, &base, &run, "out", &[]);
    let keys: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    let col = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    let (cider, vsc, ser) = (
        col("captioning/caps/cider_d"),
        col("classification/vsc/accuracy"),
        col("classification/ser/accuracy"),
    );
    // The base row's interval is the one `eval score` computed (same clips, seed, resamples).
    let base_row = &r["rows"][0];
    assert_eq!(base_row["intervals"][cider][0].as_f64(), Some(lo));
    assert_eq!(base_row["intervals"][cider][1].as_f64(), Some(hi));
    assert!(base_row["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.is_null()));

    // CIDEr-D's paired change: recomputed here from the result files' clips, matched by id.
    let clips = |path: &Path| -> Vec<(String, String, Vec<String>)> {
        read_json(path)["captioning"]["caps"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let refs = c["references"].as_array().unwrap();
                (
                    c["id"].as_str().unwrap().to_string(),
                    c["prediction"].as_str().unwrap().to_string(),
                    refs.iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect()
    };
    let (bc, rc) = (clips(&base), clips(&run));
    let common: Vec<usize> = (0..bc.len())
        .filter(|&i| rc.iter().any(|c| c.0 == bc[i].0))
        .collect();
    assert_eq!(common.len(), 39);
    let side = |v: &[(String, String, Vec<String>)]| {
        let picked: Vec<&(String, String, Vec<String>)> = common
            .iter()
            .map(|&i| v.iter().find(|c| c.0 == bc[i].0).unwrap())
            .collect();
        let h: Vec<String> = picked.iter().map(|c| c.1.clone()).collect();
        let rf: Vec<Vec<String>> = picked.iter().map(|c| c.2.clone()).collect();
        CiderD::new(&h, &rf).unwrap()
    };
    let (cb, cr) = (side(&bc), side(&rc));
    let plan = Resamples::Seeded {
        seed: 0,
        count: 1000,
    };
    let reps = replicates(&[&cr, &cb], plan).unwrap();
    let want = difference_interval(&reps[0], &reps[1], 0.95).unwrap();
    let change = &r["rows"][1]["changes"][cider];
    assert_bounds(change, &want);
    assert_eq!(
        (
            change["paired"].as_u64(),
            change["only_base"].as_u64(),
            change["only_run"].as_u64()
        ),
        (Some(39), Some(1), Some(1))
    );
    assert_eq!(change["excludes_zero"], true, "{change}");

    // Accuracy: the paired bootstrap of the 0/1 outcomes, directly.
    let acc = |f: fn(usize) -> bool, n: usize| -> Vec<f64> {
        (0..n).map(|i| f64::from(u8::from(f(i)))).collect()
    };
    let (vb, vr) = (acc(|i| i % 10 < 7, 200), acc(|i| i % 10 < 9, 200));
    let want = paired(&Mean(&vr), &Mean(&vb), &BootstrapOptions::default()).unwrap();
    let change = &r["rows"][1]["changes"][vsc];
    assert!(close(change["change"].as_f64().unwrap(), want.difference));
    assert!(close(change["low"].as_f64().unwrap(), want.interval.low));
    assert!(close(change["high"].as_f64().unwrap(), want.interval.high));
    assert_eq!(change["excludes_zero"], true);
    let change = &r["rows"][1]["changes"][ser];
    assert_eq!(change["change"].as_f64(), Some(0.0));
    assert_eq!(change["excludes_zero"], false, "{change}");

    // METEOR was switched off: omitted, and no interval is made up for anything.
    assert!(r["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "captioning/caps/meteor"));
    let md = std::fs::read_to_string(d.join("out/report.md")).unwrap();
    assert_eq!(stdout, md);
    assert!(md.contains("## Confidence intervals"), "{md}");
    assert!(md.contains("| run − base |"), "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| run − base |"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // Cells: "", the row name, then one per column.
    assert!(cells[2 + vsc].ends_with("]*"), "{row}");
    assert!(cells[2 + ser].ends_with(']'), "{row}");
    assert!(
        md.contains("dropped 1 only the base holds and 1 only `run` holds"),
        "{md}"
    );

    // --bootstrap 0: the report of before, and its table is the first part of the default one.
    let (plain, r0) = report(&d, &base, &run, "out0", &["--bootstrap", "0"]);
    assert!(r0.get("bootstrap").is_none() && r0["rows"][1].get("intervals").is_none());
    assert!(!plain.contains("Confidence intervals"));
    let main_table = md.split("\n## Confidence intervals").next().unwrap();
    assert_eq!(plain, main_table);

    // Another seed and level change the intervals, not the values.
    let (_, r2) = report(
        &d,
        &base,
        &run,
        "out2",
        &[
            "--bootstrap",
            "200",
            "--bootstrap-seed",
            "5",
            "--confidence",
            "0.9",
        ],
    );
    assert_eq!(r2["bootstrap"]["resamples"], 200);
    assert_eq!(r2["rows"][1]["values"], r["rows"][1]["values"]);
    assert_ne!(r2["rows"][1]["intervals"], r["rows"][1]["intervals"]);
    // Narrowing the captioning metrics narrows the intervals with the columns.
    let (_, r3) = report(&d, &base, &run, "out3", &["--metrics", "cider_d"]);
    let n_cols = r3["columns"].as_array().unwrap().len();
    assert_eq!(n_cols, 3);
    assert_eq!(r3["rows"][1]["intervals"].as_array().unwrap().len(), n_cols);
    assert_eq!(r3["rows"][1]["changes"][0], r["rows"][1]["changes"][cider]);
    let (ok, _, stderr) = eval(&[
        "report",
        "--base",
        s(&base),
        "--runs",
        s(&run),
        "--out",
        s(&d.join("bad")),
        "--confidence",
        "1.5",
    ]);
    assert!(!ok && stderr.contains("confidence"), "{stderr}");
}

/// `eval score` of `preds` into the result file `name-seed.json`, named `name`, trained with
/// `seed`.
fn score_seeded(dir: &Path, preds: &Path, name: &str, seed: u64) -> PathBuf {
    let seed = seed.to_string();
    score_as(
        dir,
        preds,
        name,
        &format!("{name}-{seed}"),
        &["--train-seed", &seed],
    )
}

fn report_of(dir: &Path, base: &Path, runs: &[&Path], out: &str) -> (String, serde_json::Value) {
    let out = dir.join(out);
    let mut args = vec!["report", "--base", s(base), "--out", s(&out), "--runs"];
    args.extend(runs.iter().map(|p| s(p)));
    let (ok, stdout, stderr) = eval(&args);
    assert!(ok, "{stderr}");
    (stdout, read_json(out.join("report.json")))
}

#[test]
fn report_pools_the_seeds_of_one_recipe() {
    use metrics::bootstrap::{percentile_interval, seed_draws};
    let d = scratch("bootstrap-seeds");
    let ids: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let base = score(&d, &predictions(&d, "base", &ids, |i| i % 4 == 0), "base");
    add_task(&base, "vsc", 200, |i| i % 10 < 7);
    // Three seeds of one recipe: different captions, 90%, 80% and 60% on vsc.
    let goods: [fn(usize) -> bool; 3] = [|i| i % 4 != 3, |i| i % 2 == 0, |i| i % 4 >= 2];
    let accs: [fn(usize) -> bool; 3] = [|i| i % 10 < 9, |i| i % 10 < 8, |i| i % 10 < 6];
    let arm: Vec<PathBuf> = (0..3)
        .map(|j| {
            let preds = predictions(&d, &format!("arm{j}"), &ids, goods[j]);
            let r = score_seeded(&d, &preds, "arm", j as u64 + 1);
            add_task(&r, "vsc", 200, accs[j]);
            r
        })
        .collect();
    // A result of another seed cannot be added to a seed's file.
    let (ok, _, stderr) = eval(&[
        "score",
        "--predictions",
        s(&d.join("arm0.jsonl")),
        "--out",
        s(&d.join("out-wrong")),
        "--no-java",
        "--result",
        s(&arm[0]),
        "--train-seed",
        "7",
    ]);
    assert!(!ok && stderr.contains("training seed 1, not 7"), "{stderr}");
    // Two results of one name without seeds stay two rows, as before.
    let twin = score(&d, &predictions(&d, "twin", &ids, |i| i % 3 == 0), "twin");
    let (_, r) = report_of(
        &d,
        &base,
        &[&arm[0], &twin, &arm[1], &twin, &arm[2]],
        "pooled",
    );
    let names: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["base", "arm", "twin", "twin#2"]);
    let row = &r["rows"][1];
    assert_eq!(row["seeds"], serde_json::json!([1, 2, 3]));
    assert!(r["rows"][2].get("seeds").is_none());
    let keys: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    let vsc = keys
        .iter()
        .position(|k| *k == "classification/vsc/accuracy")
        .unwrap();
    let cider = keys
        .iter()
        .position(|k| *k == "captioning/caps/cider_d")
        .unwrap();

    // The value is the mean over seeds, the spread their sample standard deviation.
    let per = [0.9, 0.8, 0.6];
    let mean = per.iter().sum::<f64>() / 3.0;
    let sd = (per.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!(close(row["values"][vsc].as_f64().unwrap(), mean), "{row}");
    assert!(close(row["spread"][vsc].as_f64().unwrap(), sd), "{row}");
    assert!(close(row["deltas"][vsc].as_f64().unwrap(), mean - 0.7));
    assert_eq!(row["per_seed"].as_array().unwrap().len(), 3);
    assert!(close(row["per_seed"][2][vsc].as_f64().unwrap(), 0.6));

    // The interval over seeds and samples, recomputed here: resample b draws the samples
    // (the same for each seed and the base) and 3 of the 3 seeds, and averages.
    let outcomes = |f: fn(usize) -> bool| -> Vec<f64> {
        (0..200).map(|i| f64::from(u8::from(f(i)))).collect()
    };
    let plan = Resamples::Seeded {
        seed: 0,
        count: 1000,
    };
    let reps: Vec<Vec<f64>> = accs
        .iter()
        .map(|f| {
            let v = outcomes(*f);
            replicates(&[&Mean(&v)], plan).unwrap().remove(0)
        })
        .collect();
    let pooled: Vec<f64> = (0..1000)
        .map(|b| seed_draws(0, b, 3).iter().map(|&j| reps[j][b]).sum::<f64>() / 3.0)
        .collect();
    let want = percentile_interval(&pooled, 0.95).unwrap();
    let iv = &row["intervals"][vsc];
    assert!(close(iv[0].as_f64().unwrap(), want.low), "{iv} {want:?}");
    assert!(close(iv[1].as_f64().unwrap(), want.high), "{iv} {want:?}");
    // Seeds this far apart make it much wider than one seed's interval over samples alone.
    let one = percentile_interval(&reps[1], 0.95).unwrap();
    assert!(
        want.high - want.low > 2.0 * (one.high - one.low),
        "{want:?} {one:?}"
    );
    let b = outcomes(|i| i % 10 < 7);
    let b_reps = replicates(&[&Mean(&b)], plan).unwrap().remove(0);
    let want = difference_interval(&pooled, &b_reps, 0.95).unwrap();
    let ch = &row["changes"][vsc];
    assert!(close(ch["change"].as_f64().unwrap(), mean - 0.7), "{ch}");
    assert_bounds(ch, &want);
    assert_eq!(ch["paired"], 200);
    // CIDEr-D pools too (recomputed per resample for each seed).
    assert!(row["intervals"][cider].is_array(), "{row}");
    assert!(row["changes"][cider].is_object(), "{row}");

    let md = std::fs::read_to_string(d.join("pooled/report.md")).unwrap();
    let line = md.lines().find(|l| l.starts_with("| arm |")).unwrap();
    assert!(
        line.contains(&format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * sd)),
        "{line}"
    );
    assert!(md.contains("over 3 training seeds (1, 2, 3)"), "{md}");
    assert!(md.contains("interval over seeds and clips"), "{md}");

    // Three seeds that scored exactly alike pool to that one result: same intervals, no spread.
    let copies: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let mut v = read_json(&arm[0]);
            v["train_seed"] = serde_json::json!(10 + k);
            let p = d.join(format!("copy{k}.json"));
            std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
            p
        })
        .collect();
    let (_, pooled) = report_of(&d, &base, &[&copies[0], &copies[1], &copies[2]], "copies");
    let (_, single) = report_of(&d, &base, &[&arm[0]], "single");
    let (p, s1) = (&pooled["rows"][1], &single["rows"][1]);
    // Equal up to the rounding of a mean of three equal numbers.
    fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        match (a, b) {
            (serde_json::Value::Number(x), serde_json::Value::Number(y)) => {
                (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() <= 1e-12
            }
            (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    for field in ["values", "deltas", "intervals", "changes"] {
        assert!(
            same(&p[field], &s1[field]),
            "{field}: {} vs {}",
            p[field],
            s1[field]
        );
    }
    assert!(p["spread"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_f64().unwrap().abs() <= 1e-12));
}
