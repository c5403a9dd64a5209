//! The VGGSound-style converter: a clip list with or without a header → one manifest per
//! split over local files and the task file; missing files named or skipped and listed;
//! difficulty files (selection rules, round trip, mismatches named).

use std::fs;
use std::path::Path;

use data::choice::{
    ChoiceTask, DifficultyClass, DifficultyFile, DifficultyWeights, Selection, DIFFICULTY_FORMAT,
};
use data::manifest::{read_manifest_with, ReadOptions};
use data::vggsound::{convert_vggsound, read_rows, VggSoundOptions};
use data::OnBad;

const ROWS: &str = "abc,1,dog barking,train\n\
                    def,30,\"male speech, man speaking\",train\n\
                    ghi,5,dog barking,test\n\
                    jkl,12,cat purring,test\n";

fn touch(p: &Path) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, b"x").unwrap();
}

#[test]
fn rows_with_and_without_a_header_are_read_alike() {
    let plain = read_rows(ROWS.as_bytes(), Path::new("vgg.csv")).unwrap();
    assert_eq!(plain.len(), 4);
    assert_eq!(plain[1].label, "male speech, man speaking");
    assert_eq!(plain[1].location.line, 2);
    let headed = format!("# YouTube ID,start seconds,label,split\n{ROWS}");
    let h = read_rows(headed.as_bytes(), Path::new("vgg.csv")).unwrap();
    assert_eq!(h.len(), 4);
    assert_eq!(h[0].youtube_id, plain[0].youtube_id);
    assert_eq!(h[0].location.line, 2);
    // Columns in another order, found by name.
    let other = "split,label,ytid,start\ntrain,dog barking,abc,1\n";
    let o = read_rows(other.as_bytes(), Path::new("o.csv")).unwrap();
    assert_eq!(
        (
            o[0].youtube_id.as_str(),
            o[0].start.as_str(),
            o[0].split.as_str()
        ),
        ("abc", "1", "train")
    );
    let e = read_rows("id,when,label,split\n".as_bytes(), Path::new("o.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("o.csv:1") && e.contains("start_seconds"), "{e}");
    let e = read_rows("abc,1,,train\n".as_bytes(), Path::new("o.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("o.csv:1") && e.contains("label"), "{e}");
}

#[test]
fn a_clip_list_becomes_one_manifest_per_split_and_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let csv = root.join("vggsound.csv");
    fs::write(&csv, ROWS).unwrap();
    let out = root.to_path_buf();
    for n in ["abc_1", "def_30", "ghi_5"] {
        touch(&root.join("audio").join(format!("{n}.wav")));
    }
    for n in ["abc_000001", "def_000030", "ghi_000005", "jkl_000012"] {
        touch(&root.join("video").join(format!("{n}.mp4")));
    }
    let opts = VggSoundOptions {
        audio_dir: Some(root.join("audio")),
        video_dir: Some(root.join("video")),
        video_name: "{id}_{start:06}.mp4".into(),
        ..Default::default()
    };
    // jkl has no audio: an error naming the CSV line and the file.
    let e = convert_vggsound(&csv, &opts, &out).unwrap_err().to_string();
    assert!(
        e.contains("vggsound.csv:4") && e.contains("jkl_12.wav"),
        "{e}"
    );
    assert!(
        !out.join("train.jsonl").exists(),
        "nothing written on error"
    );

    let opts = VggSoundOptions {
        on_bad: OnBad::Skip,
        ..opts
    };
    let c = convert_vggsound(&csv, &opts, &out).unwrap();
    assert_eq!(c.skipped.len(), 1);
    assert!(c.skipped[0].reason.contains("jkl_12.wav"));
    assert_eq!(c.splits["train"].len(), 2);
    assert_eq!(c.splits["test"].len(), 1);
    // Files under the output folder are written relative to it.
    assert_eq!(c.splits["train"][1].audio, ["audio/def_30.wav"]);
    let task = ChoiceTask::from_toml_file(&out.join("task.toml")).unwrap();
    assert_eq!(
        task.classes,
        ["cat purring", "dog barking", "male speech, man speaking"]
    );
    assert_eq!(task.options, 3);
    let (train, _) = read_manifest_with(
        &out.join("train.jsonl"),
        &ReadOptions {
            on_bad: OnBad::Error,
            default_task: None,
        },
    )
    .unwrap();
    assert_eq!(train[1].id, "def_30");
    assert_eq!(train[1].target, "male speech, man speaking");
    assert_eq!(train[1].audio, [root.join("audio/def_30.wav")]);
    assert_eq!(train[1].videos, [root.join("video/def_000030.mp4")]);
    // Every item's question can be asked.
    assert_eq!(task.items(&train).unwrap().len(), 2);
    let text = fs::read_to_string(out.join("test.jsonl")).unwrap();
    assert!(text.contains("\"task\":\"vggsound\""), "{text}");

    // Video only, one split, a frames folder as the video.
    fs::create_dir_all(root.join("frames/jkl_12")).unwrap();
    let c = convert_vggsound(
        &csv,
        &VggSoundOptions {
            video_dir: Some(root.join("frames")),
            video_name: "{id}_{start}".into(),
            splits: vec!["test".into()],
            on_bad: OnBad::Skip,
            ..Default::default()
        },
        &root.join("frames-only"),
    )
    .unwrap();
    assert_eq!(c.splits.len(), 1);
    assert_eq!(c.splits["test"].len(), 1);
    // Files elsewhere are written absolute.
    assert_eq!(
        c.splits["test"][0].videos,
        [root.join("frames/jkl_12").display().to_string()]
    );
    assert!(c.splits["test"][0].audio.is_empty());
    let e = convert_vggsound(
        &csv,
        &VggSoundOptions {
            video_dir: Some(root.join("frames")),
            splits: vec!["val".into()],
            ..Default::default()
        },
        &root.join("x"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("val") && e.contains("test, train"), "{e}");
}

fn class(name: &str, score: f64, rank: usize, selected: bool) -> DifficultyClass {
    DifficultyClass {
        class: name.into(),
        score,
        rank,
        selected,
        support: 4,
        accuracy: Some(1.0 - score),
        smoothed_accuracy: 1.0 - score,
        confidence: None,
        teacher_accuracy: None,
        agreement: None,
        frequency: 0.5,
        signals: [("error".to_string(), score)].into(),
    }
}

#[test]
fn selections_parse_and_difficulty_files_round_trip() {
    for (text, want) in [
        ("top-k:3", Selection::TopK { k: 3 }),
        ("threshold:0.5", Selection::Threshold { threshold: 0.5 }),
        ("all", Selection::All),
        (
            "list:a, b",
            Selection::List {
                classes: vec!["a".into(), "b".into()],
            },
        ),
        (
            "list:male speech, man speaking;dog",
            Selection::List {
                classes: vec!["male speech, man speaking".into(), "dog".into()],
            },
        ),
    ] {
        let got: Selection = text.parse().unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(got.to_string().parse::<Selection>().unwrap(), want);
    }
    for bad in ["top-k:0", "top-k", "threshold:x", "some", "list:"] {
        let e = bad.parse::<Selection>().unwrap_err().to_string();
        assert!(e.contains("select"), "{bad}: {e}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("difficulty.json");
    let f = DifficultyFile {
        format: DIFFICULTY_FORMAT,
        task: "objects".into(),
        student: "val/summary.json".into(),
        teacher: None,
        weights: DifficultyWeights::default(),
        prior_strength: 4.0,
        classes: vec![class("dog", 0.2, 2, false), class("cat", 0.7, 1, true)],
        selection: Selection::TopK { k: 1 },
        selected: vec!["cat".into()],
        quality: None,
    };
    f.save(&path).unwrap();
    let back = DifficultyFile::load(&path).unwrap();
    assert_eq!(back, f);
    let task = ChoiceTask {
        name: "objects".into(),
        classes: vec!["dog".into(), "cat".into(), "cow".into()],
        options: 2,
        seed: 0,
        order: Default::default(),
        prompt: data::choice::DEFAULT_PROMPT.into(),
    };
    assert_eq!(back.selected_classes(&path, &task).unwrap(), [1]);
    let other = ChoiceTask {
        name: "animals".into(),
        ..task.clone()
    };
    let e = back
        .selected_classes(&path, &other)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("difficulty.json") && e.contains("animals"),
        "{e}"
    );
    let few = ChoiceTask {
        classes: vec!["dog".into(), "cow".into()],
        ..task
    };
    let e = back.selected_classes(&path, &few).unwrap_err().to_string();
    assert!(e.contains("`cat` is not a class"), "{e}");
    // A selected name missing from the classes is refused on load.
    let mut broken = f.clone();
    broken.selected.push("cow".into());
    broken.save(&path).unwrap();
    let e = DifficultyFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("difficulty.json") && e.contains("`cow`"), "{e}");
}
