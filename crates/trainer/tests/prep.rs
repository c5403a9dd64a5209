//! `trainer build-pairs` and `trainer convert` through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::scratch as tmp;

fn clips() -> PathBuf {
    testkit::fixtures().join("audio/clips")
}

fn trainer(args: &[&str]) -> (bool, String) {
    let (ok, _, stderr) = testkit::run(Command::new(env!("CARGO_BIN_EXE_trainer")).args(args));
    (ok, stderr)
}

fn line(task: &str, file: &str, target: &str) -> String {
    format!(
        "{{\"task\":\"{task}\",\"audio\":\"{}\",\"target\":\"{target}\"}}\n",
        clips().join(file).display()
    )
}

fn build(dir: &Path, out: &str) -> (bool, String) {
    trainer(&[
        "build-pairs",
        "--clips",
        dir.join("clips.jsonl").to_str().unwrap(),
        "--events",
        dir.join("events.jsonl").to_str().unwrap(),
        "--out",
        dir.join(out).to_str().unwrap(),
        "--pairs-config",
        dir.join("pairs.toml").to_str().unwrap(),
        "--seed",
        "7",
    ])
}

#[test]
fn build_pairs_writes_deterministic_pairs_with_the_papers_targets() {
    let d = tmp("pairs");
    let clips_m = line("ac", "speech.wav", "a man speaks")
        + &line("ac", "music.wav", "music plays with a steady beat");
    let events_m = line("ac", "tones.wav", "a beeping tone")
        + &line("ac", "noise_white.wav", "a burst of hiss");
    std::fs::write(d.join("clips.jsonl"), clips_m).unwrap();
    std::fs::write(d.join("events.jsonl"), events_m).unwrap();
    std::fs::write(
        d.join("pairs.toml"),
        "[plan]\npairs_per_base = 3\nsnr_db_min = 0.0\nsnr_db_max = 5.0\n",
    )
    .unwrap();
    let (ok, err) = build(&d, "a");
    assert!(ok, "{err}");
    let (ok, err) = build(&d, "b");
    assert!(ok, "{err}");
    let mut files: Vec<String> = ["adc.jsonl", "acc.jsonl", "pairs.jsonl"]
        .map(String::from)
        .to_vec();
    for e in std::fs::read_dir(d.join("a/audio")).unwrap() {
        files.push(format!(
            "audio/{}",
            e.unwrap().file_name().to_str().unwrap()
        ));
    }
    assert_eq!(files.len(), 3 + 12);
    for f in &files {
        let same = std::fs::read(d.join("a").join(f)).unwrap()
            == std::fs::read(d.join("b").join(f)).unwrap();
        assert!(same, "{f} differs between two runs");
    }
    let (acc, _) = data::read_manifest(&d.join("a/acc.jsonl"), data::OnBad::Error).unwrap();
    let (adc, _) = data::read_manifest(&d.join("a/adc.jsonl"), data::OnBad::Error).unwrap();
    assert_eq!((acc.len(), adc.len()), (6, 6));
    let plans: Vec<serde_json::Value> = std::fs::read_to_string(d.join("a/pairs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (p, s) in plans.iter().zip(&acc) {
        assert_eq!(s.audio.len(), 2);
        assert!(s.audio.iter().all(|a| a.is_file()), "{:?}", s.audio);
        let base = p["plan"]["base"]["caption"].as_str().unwrap();
        match p["plan"]["edit"]["kind"].as_str().unwrap() {
            // The paper's rule: add → the caption before (the base); remove → the caption
            // after (the base again).
            "add" | "remove" => assert_eq!(s.target.to_lowercase(), base.to_lowercase()),
            // replace → the longest phrase the two mixed captions share (holds the base).
            _ => assert!(
                s.target.to_lowercase().contains(&base.to_lowercase()),
                "{}",
                s.target
            ),
        }
    }
}

#[test]
fn build_pairs_names_a_bad_line_and_a_bad_config_key() {
    let d = tmp("pairs-bad");
    std::fs::write(
        d.join("clips.jsonl"),
        line("ac", "speech.wav", "a man speaks") + "{\"task\":\"ac\"}\n",
    )
    .unwrap();
    std::fs::write(d.join("events.jsonl"), line("ac", "tones.wav", "a tone")).unwrap();
    std::fs::write(d.join("pairs.toml"), "[plan]\npairs_per_base = 1\n").unwrap();
    let (ok, err) = build(&d, "o");
    assert!(!ok && err.contains("clips.jsonl:2"), "{err}");

    std::fs::write(
        d.join("clips.jsonl"),
        line("ac", "speech.wav", "a man speaks"),
    )
    .unwrap();
    std::fs::write(d.join("pairs.toml"), "[plan]\npairs_per_bsae = 1\n").unwrap();
    let (ok, err) = build(&d, "o");
    assert!(
        !ok && err.contains("pairs.toml") && err.contains("pairs_per_bsae"),
        "{err}"
    );
}

#[test]
fn convert_clotho_for_evaluation() {
    let d = tmp("convert");
    std::fs::write(
        d.join("captions.csv"),
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\nx.wav,A dog barks.,A dog is barking.,Barking.,A dog.,Dog barks loudly.\n",
    )
    .unwrap();
    let out = d.join("m/clotho_eval.jsonl");
    let (ok, err) = trainer(&[
        "convert",
        "clotho",
        "--csv",
        d.join("captions.csv").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--audio-dir",
        "audio/eval",
        "--split",
        "eval",
    ]);
    assert!(ok, "{err}");
    let (s, _) = data::read_manifest(&out, data::OnBad::Error).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].all_references().len(), 5);
    assert!(s[0].audio[0].ends_with("audio/eval/x.wav"));
}

/// The classification layouts are part of the one data-preparation tree, and `eval convert`
/// (kept for existing scripts) writes the same manifest.
#[test]
fn convert_a_gtzan_layout_like_eval_convert() {
    let d = tmp("convert-gtzan");
    for (genre, f) in [("blues", "tone.wav"), ("polka", "tone.wav")] {
        let dir = d.join("genres").join(genre);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            testkit::tiny_clip(f),
            dir.join(format!("{genre}.00000.wav")),
        )
        .unwrap();
    }
    let genres = d.join("genres").display().to_string();
    let ours = d.join("trainer.jsonl").display().to_string();
    let (ok, stderr) = trainer(&["convert", "gtzan", "--input", &genres, "--out", &ours]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("wrote 1 lines") && stderr.contains("dropped 1"),
        "{stderr}"
    );
    // `eval convert` is the eval binary's: rebuild the same manifest through the library the
    // eval command calls, and compare bytes.
    let theirs = d.join("eval.jsonl");
    data::classify::convert::convert_layout(
        data::classify::convert::Layout::Gtzan,
        &d.join("genres"),
        &[],
        &theirs,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
    let (ok, stderr) = trainer(&[
        "convert",
        "gtzan",
        "--input",
        &genres,
        "--out",
        &ours,
        "--sessions",
        "1",
    ]);
    assert!(!ok && stderr.contains("--sessions"), "{stderr}");
}

/// `trainer convert vggsound`: the published CSV layout (no header) over local clips → one
/// manifest per split and the multiple-choice task over the labels; a missing clip is named.
#[test]
fn vggsound_rows_become_split_manifests_and_a_task() {
    let d = tmp("prep-vggsound");
    let audio = d.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    let rows = [
        ("abc", "30", "police car", "train"),
        ("def", "10", "ice cream van", "train"),
        ("ghi", "0", "police car", "test"),
    ];
    let mut csv = String::new();
    for (id, start, label, split) in rows {
        csv.push_str(&format!("{id},{start},{label},{split}\n"));
        std::fs::copy(
            testkit::tiny_clip("tone.wav"),
            audio.join(format!("{id}_{start}.wav")),
        )
        .unwrap();
    }
    std::fs::write(d.join("vggsound.csv"), &csv).unwrap();
    let out = d.join("out");
    let args = |csv: &str| {
        vec![
            "convert".to_string(),
            "vggsound".into(),
            "--csv".into(),
            d.join(csv).display().to_string(),
            "--audio-dir".into(),
            audio.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    let a = args("vggsound.csv");
    let (ok, stderr) = trainer(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{stderr}");
    let train = std::fs::read_to_string(out.join("train.jsonl")).unwrap();
    assert_eq!(train.lines().count(), 2);
    assert_eq!(
        std::fs::read_to_string(out.join("test.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    let task = data::choice::ChoiceTask::from_toml_file(&out.join("task.toml")).unwrap();
    assert_eq!(task.classes.len(), 2);
    // A row whose clip is missing is named.
    std::fs::write(d.join("bad.csv"), format!("{csv}zzz,5,police car,train\n")).unwrap();
    let a = args("bad.csv");
    let (ok, stderr) = trainer(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && stderr.contains("zzz_5.wav"), "{stderr}");
}
