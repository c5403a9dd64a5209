//! Multiple-choice recognition, teacher files and the difficulty model: the letters'
//! distribution of a left-padded batch equals the softmax of a full forward pass's letter
//! logits at the prompt's last position; a VL teacher file round-trips and matches the task's
//! items; per-class results add up; generated answers map to letters; the difficulty model's
//! ranking and selection are deterministic; Spearman's correlation on hand cases; the CLI.

mod common;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, IndexOp};
use common::{eval, s};
use data::choice::{ChoiceTask, Condition, DifficultyFile, Selection, TeacherFile};
use data::OnBad;
use eval::choice::{
    choice_items, map_letter, read_items, softmax, summarise, teacher_file, write_choice_outputs,
    ChoiceOptions, ChoiceRecord, MatchedBy, Scoring,
};
use eval::difficulty::{average_ranks, difficulty, quality, spearman, DifficultyModel, Run};
use model::Model;
use testkit::{fixtures, scratch, tiny_clip};

const CLASSES: [&str; 5] = ["dog barking", "cat purring", "police car", "bell", "rain"];

fn task() -> ChoiceTask {
    ChoiceTask {
        name: "objects".into(),
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        options: 4,
        seed: 3,
        order: Default::default(),
        prompt: data::choice::DEFAULT_PROMPT.into(),
    }
}

fn vl() -> Model {
    let dir = fixtures().join("vision/model");
    Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap()
}

fn video_options() -> vision::VideoOptions {
    vision::VideoOptions {
        min_pixels: Some(3136),
        max_pixels: Some(9408),
        ..Default::default()
    }
}

/// A manifest of clips (audio of different lengths) and, for the visual model, images and a
/// video; targets cycle through the classes.
fn manifest(dir: &Path, visual: bool) -> PathBuf {
    let clips = ["tone.wav", "speech.wav", "noise_pluck.wav", "tone.wav"];
    let img = |n: &str| fixtures().join("vision/images").join(n);
    let visuals = [
        format!("\"images\": \"{}\"", img("small.png").display()),
        format!("\"images\": \"{}\"", img("wide.jpg").display()),
        format!(
            "\"videos\": \"{}\"",
            fixtures().join("vision/video/clip.mp4").display()
        ),
        format!("\"images\": \"{}\"", img("alpha.png").display()),
    ];
    let mut text = String::new();
    for (i, clip) in clips.iter().enumerate() {
        let media = match visual {
            // The audio is there too: the visual condition must drop it.
            true => format!(
                "\"audio\": \"{}\", {}",
                tiny_clip(clip).display(),
                visuals[i]
            ),
            false => format!("\"audio\": \"{}\"", tiny_clip(clip).display()),
        };
        text.push_str(&format!(
            "{{\"id\": \"item{i}\", {media}, \"target\": \"{}\"}}\n",
            CLASSES[(i * 2) % 5]
        ));
    }
    let path = dir.join("items.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn opts(condition: Condition, batch_size: usize) -> ChoiceOptions {
    ChoiceOptions {
        condition,
        batch_size,
        video: video_options(),
        model_id: Some(eval::ModelId {
            model: "tiny".into(),
            adapter: None,
        }),
        ..Default::default()
    }
}

/// Per item: the probabilities over the letters from one full forward pass of the item's
/// prompt alone, read at `back` positions before the end, with the letters' token ids looked
/// up in the vocabulary (not through `processor::letter_tokens`).
fn reference_probs(
    model: &Model,
    task: &ChoiceTask,
    items: &[data::choice::ChoiceItem],
    condition: Condition,
    back: usize,
    shift: u32,
) -> Vec<Vec<f64>> {
    let ids: Vec<u32> = task
        .letters()
        .iter()
        .map(|l| model.tokenizer.token_to_id(l).unwrap() + shift)
        .collect();
    items
        .iter()
        .map(|it| {
            let sample = it.sample(task, condition).unwrap();
            let p = eval::input::prepare(
                model,
                &sample,
                &data::task::Prompts::default(),
                audio::LongAudio::Truncate,
                &video_options(),
            )
            .unwrap();
            let logits = model.prompt_logits(&p.seq).unwrap(); // [T, V]
            let t = logits.dim(0).unwrap();
            let row: Vec<f32> = logits.i(t - 1 - back).unwrap().to_vec1().unwrap();
            let letter: Vec<f64> = ids.iter().map(|&i| row[i as usize] as f64).collect();
            softmax(&letter, 1.0)
        })
        .collect()
}

fn max_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn vec_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn letter_scoring_equals_a_full_forward_pass() {
    let model = common::tiny();
    let d = scratch("choice-letters");
    let task = task();
    let (items, skipped) = read_items(&task, &manifest(&d, false), OnBad::Error).unwrap();
    assert!(skipped.is_empty());
    let letters = task.letters();
    let by_vocab: Vec<u32> = letters
        .iter()
        .map(|l| model.tokenizer.token_to_id(l).unwrap())
        .collect();
    assert_eq!(
        processor::letter_tokens(&model, &letters).unwrap(),
        by_vocab
    );
    // Clips of different lengths in one left-padded batch of 3, then a batch of 1.
    let report = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &opts(Condition::Audio, 3),
    )
    .unwrap();
    let ours: Vec<Vec<f64>> = report
        .records
        .iter()
        .map(|r| r.probs.clone().unwrap())
        .collect();
    let want = reference_probs(&model, &task, &items, Condition::Audio, 0, 0);
    let diff = max_diff(&ours, &want);
    assert!(
        diff < 1e-4,
        "batched letter probabilities vs full pass: {diff}"
    );
    // The comparison can tell: another position or other tokens give other numbers.
    let wrong_pos = reference_probs(&model, &task, &items, Condition::Audio, 1, 0);
    let wrong_ids = reference_probs(&model, &task, &items, Condition::Audio, 0, 1);
    assert!(max_diff(&ours, &wrong_pos) > 1e-3);
    assert!(max_diff(&ours, &wrong_ids) > 1e-3);
    for r in &report.records {
        let p = r.probs.as_ref().unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let best = eval::choice::argmax(p);
        assert_eq!(r.predicted.as_deref(), Some(letters[best].as_str()));
        assert_eq!(r.correct, r.predicted.as_deref() == Some(r.answer.as_str()));
        let mass = r.letter_mass.unwrap();
        assert!(mass > 0.0 && mass <= 1.0 + 1e-9, "{mass}");
    }
    // A temperature flattens the distribution but keeps the prediction.
    let hot = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &ChoiceOptions {
            temperature: 4.0,
            ..opts(Condition::Audio, 4)
        },
    )
    .unwrap();
    for (h, r) in hot.records.iter().zip(&report.records) {
        assert_eq!(h.predicted, r.predicted);
        let spread = |p: &[f64]| {
            p.iter().copied().fold(0.0, f64::max) - p.iter().copied().fold(1.0, f64::min)
        };
        assert!(spread(h.probs.as_ref().unwrap()) < spread(r.probs.as_ref().unwrap()));
    }
}

#[test]
fn per_class_results_add_up() {
    let model = common::tiny();
    let d = scratch("choice-sums");
    let task = task();
    let (items, _) = read_items(&task, &manifest(&d, false), OnBad::Error).unwrap();
    let report = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &opts(Condition::Audio, 2),
    )
    .unwrap();
    let s = &report.summary;
    assert_eq!(s.samples, 4);
    assert_eq!(s.per_class.len(), CLASSES.len());
    assert_eq!(
        s.per_class.iter().map(|c| c.support).sum::<usize>(),
        s.samples
    );
    assert_eq!(
        s.per_class.iter().map(|c| c.correct).sum::<usize>(),
        s.correct
    );
    assert_eq!(
        s.per_class.iter().map(|c| c.predicted).sum::<usize>(),
        s.samples
    );
    assert!((s.accuracy - s.correct as f64 / s.samples as f64).abs() < 1e-12);
    for (c, row) in s.per_class.iter().zip(&s.confusion.matrix) {
        assert_eq!(row.iter().sum::<usize>(), c.support, "{}", c.class);
        let i = CLASSES.iter().position(|x| *x == c.class).unwrap();
        assert_eq!(row[i], c.correct, "{}", c.class);
        assert_eq!(c.accuracy.is_some(), c.support > 0);
        assert_eq!(c.confidence.is_some(), c.support > 0);
    }
    assert_eq!(
        s.letter_counts.iter().map(|l| l.answer).sum::<usize>(),
        s.samples
    );
    // Targets: classes 0, 2, 4, 1.
    let support: Vec<usize> = s.per_class.iter().map(|c| c.support).collect();
    assert_eq!(support, [1, 1, 1, 0, 1]);
    // Mean true-letter probability per class = the item's.
    let conf = s.per_class[0].confidence.unwrap();
    assert!((conf - report.records[0].true_prob().unwrap()).abs() < 1e-12);
    // The files.
    write_choice_outputs(&d.join("out"), &report).unwrap();
    let back: Vec<ChoiceRecord> = testkit::read_jsonl_as(d.join("out/predictions.jsonl"));
    assert_eq!(back.len(), report.records.len());
    for (b, r) in back.iter().zip(&report.records) {
        // JSON keeps the numbers to within an ulp (serde_json's float parsing).
        let strip = |x: &ChoiceRecord| ChoiceRecord {
            probs: None,
            logits: None,
            letter_mass: None,
            ..x.clone()
        };
        assert_eq!(strip(b), strip(r));
        assert!(vec_diff(b.probs.as_ref().unwrap(), r.probs.as_ref().unwrap()) < 1e-12);
    }
    let sum_back = eval::choice::read_summary(&d.join("out/summary.json")).unwrap();
    assert_eq!(
        (
            &sum_back.per_class.len(),
            &sum_back.confusion,
            &sum_back.letter_counts
        ),
        (&s.per_class.len(), &s.confusion, &s.letter_counts)
    );
    let md = std::fs::read_to_string(d.join("out/summary.md")).unwrap();
    assert!(md.contains("| police car |"), "{md}");

    // Images on a model without a vision tower: the model's error, naming the line.
    std::fs::create_dir_all(d.join("v")).unwrap();
    let (both, _) = read_items(&task, &manifest(&d.join("v"), true), OnBad::Error).unwrap();
    let e = choice_items(
        &model,
        &task,
        &both,
        vec![],
        "items",
        &opts(Condition::Both, 2),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("items.jsonl:1") && e.contains("qwen2_audio") && e.contains("image"),
        "{e}"
    );
}

#[test]
fn a_visual_teacher_file_round_trips_and_matches_the_items() {
    let model = vl();
    let d = scratch("choice-teacher");
    let task = task();
    let (items, _) = read_items(&task, &manifest(&d, true), OnBad::Error).unwrap();
    let report = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &opts(Condition::Visual, 4),
    )
    .unwrap();
    assert_eq!(report.summary.condition, Condition::Visual);
    // The VL batch (images and a video, M-RoPE, left padding) equals single full passes.
    let ours: Vec<Vec<f64>> = report
        .records
        .iter()
        .map(|r| r.probs.clone().unwrap())
        .collect();
    let want = reference_probs(&model, &task, &items, Condition::Visual, 0, 0);
    let diff = max_diff(&ours, &want);
    assert!(diff < 1e-4, "VL letter probabilities vs full pass: {diff}");

    let file = teacher_file(&report, &task).unwrap();
    assert_eq!(file.teacher, "tiny");
    assert_eq!(file.condition, Condition::Visual);
    let path = d.join("teacher.json");
    file.save(&path).unwrap();
    let back = TeacherFile::load(&path).unwrap();
    // JSON keeps the numbers to within an ulp (serde_json's float parsing).
    assert_eq!(
        TeacherFile {
            items: vec![],
            ..back.clone()
        },
        TeacherFile {
            items: vec![],
            ..file.clone()
        }
    );
    for (b, f) in back.items.iter().zip(&file.items) {
        assert_eq!((&b.id, &b.class, &b.options), (&f.id, &f.class, &f.options));
        assert!(vec_diff(&b.probs, &f.probs) < 1e-12);
    }
    let matched = back.match_items(&path, &task, &items).unwrap();
    assert_eq!(matched.len(), items.len());
    for ((m, r), it) in matched.iter().zip(&report.records).zip(&items) {
        assert_eq!(m.id, it.sample.id);
        assert!(vec_diff(&m.probs, r.probs.as_ref().unwrap()) < 1e-12);
    }
    // Another seed asks other questions: the file does not fit.
    let other = ChoiceTask {
        seed: 4,
        ..task.clone()
    };
    let (other_items, _) = read_items(&other, &d.join("items.jsonl"), OnBad::Error).unwrap();
    assert!(back.match_items(&path, &other, &other_items).is_err());

    // A generate-mode run has no distribution to hand on.
    let gen = choice_items(
        &model,
        &task,
        &items[..2],
        vec![],
        "items",
        &ChoiceOptions {
            scoring: Scoring::Generate,
            max_new_tokens: 3,
            ..opts(Condition::Visual, 2)
        },
    )
    .unwrap();
    assert!(teacher_file(&gen, &task).is_err());

    // Audio on a model without an audio tower: the model's error, before any item.
    let e = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &opts(Condition::Audio, 4),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("qwen2_vl") && e.contains("audio"), "{e}");
}

#[test]
fn generated_answers_map_to_letters() {
    let letters: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
    let options = ["rain", "police car", "car", "dog barking"];
    let m = |a: &str| map_letter(a, &letters, &options);
    for a in [
        "B",
        "B.",
        "(B)",
        "b)",
        "[B]",
        "Answer: B",
        "The answer is B.",
        "B: police car",
        "(B) police car",
    ] {
        assert_eq!(m(a).letter, Some(1), "{a}");
        assert_eq!(m(a).by, MatchedBy::Letter, "{a}");
    }
    assert_eq!(m("Police car!").letter, Some(1));
    assert_eq!(m("Police car!").by, MatchedBy::Exact);
    // The longest option at the earliest position, whole words only.
    assert_eq!(m("It is a police car, I think").letter, Some(1));
    assert_eq!(m("It is a police car, I think").by, MatchedBy::Substring);
    assert_eq!(m("a car").letter, Some(2));
    assert_eq!(m("carpet").by, MatchedBy::Unmatched);
    // An article is not a letter when an option's text follows.
    assert_eq!(m("A police car").letter, Some(1));
    // A letter and a space, with no option text after it.
    assert_eq!(m("D then").letter, Some(3));
    assert_eq!(m("D then").by, MatchedBy::Letter);
    assert_eq!(m("E.").by, MatchedBy::Unmatched);
    assert_eq!(m("").by, MatchedBy::Unmatched);

    // A generate-mode run records the text and how it mapped; unmatched answers are listed.
    let model = common::tiny();
    let d = scratch("choice-generate");
    let task = task();
    let (items, _) = read_items(&task, &manifest(&d, false), OnBad::Error).unwrap();
    let report = choice_items(
        &model,
        &task,
        &items,
        vec![],
        "items",
        &ChoiceOptions {
            scoring: Scoring::Generate,
            max_new_tokens: 4,
            ..opts(Condition::Audio, 4)
        },
    )
    .unwrap();
    let unmatched = report
        .records
        .iter()
        .filter(|r| r.matched_by == Some(MatchedBy::Unmatched))
        .count();
    assert_eq!(report.summary.unmatched.len(), unmatched);
    for r in &report.records {
        assert!(r.text.is_some() && r.probs.is_none());
        assert_eq!(
            r.predicted.is_none(),
            r.matched_by == Some(MatchedBy::Unmatched)
        );
    }
}

/// A record of class `class` predicted as `predicted` (its letter: A when right, B when
/// wrong), giving the true letter probability `p`.
fn rec(id: usize, class: &str, predicted: &str, p: f64) -> ChoiceRecord {
    let right = class == predicted;
    ChoiceRecord {
        id: format!("i{id}"),
        source: format!("val.jsonl:{}", id + 1),
        class: class.into(),
        options: vec![class.into(), "other".into()],
        answer: "A".into(),
        predicted: Some(if right { "A" } else { "B" }.into()),
        predicted_class: Some(predicted.into()),
        correct: right,
        probs: Some(vec![p, 1.0 - p]),
        logits: None,
        letter_mass: None,
        text: None,
        matched_by: None,
    }
}

/// A held-out run: per class (right, wrong) items with true-letter probabilities.
fn run(spec: &[(usize, usize, f64)]) -> (eval::choice::ChoiceSummary, Vec<ChoiceRecord>) {
    let task = task();
    let mut records = vec![];
    for (c, &(right, wrong, p)) in spec.iter().enumerate() {
        let class = CLASSES[c];
        for _ in 0..right {
            records.push(rec(records.len(), class, class, p));
        }
        for _ in 0..wrong {
            let other = CLASSES[(c + 1) % CLASSES.len()];
            records.push(rec(records.len(), class, other, 1.0 - p));
        }
    }
    let s = summarise(
        &task,
        &records,
        vec![],
        vec![],
        "val",
        &ChoiceOptions::default(),
    );
    (s, records)
}

#[test]
fn the_difficulty_model_ranks_and_selects_deterministically() {
    // dog: 9/10 right, cat: 2/10, police car: 1/2 (few items), bell: 5/10, rain: 2/10.
    let (student, sp) = run(&[
        (9, 1, 0.8),
        (2, 8, 0.6),
        (1, 1, 0.5),
        (5, 5, 0.5),
        (2, 8, 0.6),
    ]);
    let stu = Run {
        summary: &student,
        name: "val/summary.json",
        predictions: Some(&sp),
    };
    let model = DifficultyModel::default();
    let top = difficulty(stu, None, &model, &Selection::TopK { k: 2 }).unwrap();
    assert_eq!(
        top,
        difficulty(stu, None, &model, &Selection::TopK { k: 2 }).unwrap(),
        "same inputs, same file"
    );
    // cat and rain tie: the task's order breaks it.
    assert_eq!(top.selected, ["cat purring", "rain"]);
    let ranks: Vec<usize> = top.classes.iter().map(|c| c.rank).collect();
    assert_eq!(ranks, [5, 1, 3, 4, 2]);
    assert!(top.classes.iter().all(|c| (0.0..=1.0).contains(&c.score)));
    // The smoothing keeps the two-item class near the middle.
    let police = &top.classes[2];
    assert_eq!(police.accuracy, Some(0.5));
    let overall = 19.0 / 42.0;
    assert!((police.smoothed_accuracy - (1.0 + 4.0 * overall) / 6.0).abs() < 1e-12);
    // No teacher: its signals are left out, the others weighted as configured.
    assert_eq!(
        top.classes[0].signals.keys().collect::<Vec<_>>(),
        ["error", "rarity", "unconfidence"]
    );
    let c = &top.classes[1];
    let w = &model.weights;
    let want = (w.error * c.signals["error"]
        + w.unconfidence * c.signals["unconfidence"]
        + w.rarity * c.signals["rarity"])
        / (w.error + w.unconfidence + w.rarity);
    assert!((c.score - want).abs() < 1e-12);
    // Error only, no smoothing: the score is the raw error rate.
    let raw = DifficultyModel {
        weights: data::choice::DifficultyWeights {
            error: 1.0,
            unconfidence: 0.0,
            teacher_advantage: 0.0,
            disagreement: 0.0,
            rarity: 0.0,
        },
        prior_strength: 0.0,
    };
    let f = difficulty(stu, None, &raw, &Selection::Threshold { threshold: 0.5 }).unwrap();
    let scores: Vec<f64> = f.classes.iter().map(|c| c.score).collect();
    assert!(vec_diff(&scores, &[0.1, 0.8, 0.5, 0.5, 0.8]) < 1e-12);
    assert_eq!(f.selected, ["cat purring", "rain", "police car", "bell"]);
    let all = difficulty(stu, None, &raw, &Selection::All).unwrap();
    assert_eq!(all.selected.len(), 5);
    let list = difficulty(stu, None, &raw, &"list:Bell,dog barking".parse().unwrap()).unwrap();
    assert_eq!(list.selected, ["bell", "dog barking"]);
    assert!(difficulty(stu, None, &raw, &"list:whale".parse().unwrap()).is_err());
    assert!(difficulty(stu, None, &raw, &Selection::TopK { k: 6 }).is_err());

    // A teacher that is right where the student is not raises those classes.
    let (teacher, tp) = run(&[
        (9, 1, 0.9),
        (9, 1, 0.9),
        (1, 1, 0.9),
        (5, 5, 0.5),
        (2, 8, 0.6),
    ]);
    let with = difficulty(
        stu,
        Some(Run {
            summary: &teacher,
            name: "teacher/summary.json",
            predictions: Some(&tp),
        }),
        &model,
        &Selection::TopK { k: 1 },
    )
    .unwrap();
    assert_eq!(with.selected, ["cat purring"]);
    assert_eq!(with.classes[1].teacher_accuracy, Some(0.9));
    assert!(with.classes[1].signals["teacher_advantage"] > 0.5);
    assert!(with.classes[4].signals["teacher_advantage"] < 0.1);
    // Rain: both wrong on the same 8 items and right on the same 2.
    assert_eq!(with.classes[4].agreement, Some(1.0));
    assert_eq!(with.classes[1].agreement, Some(0.3));

    // Its quality against a test run that orders the classes as predicted.
    let (test, _) = run(&[
        (10, 0, 0.9),
        (1, 9, 0.5),
        (6, 4, 0.5),
        (7, 3, 0.5),
        (2, 8, 0.5),
    ]);
    let q = quality(&f, &test, "test/summary.json").unwrap();
    assert_eq!(q.classes, 5);
    // Predicted (0.1, 0.8, 0.5, 0.5, 0.8) vs test error (0.0, 0.9, 0.4, 0.3, 0.8).
    let want = spearman(&[0.1, 0.8, 0.5, 0.5, 0.8], &[0.0, 0.9, 0.4, 0.3, 0.8]).unwrap();
    assert!((q.spearman.unwrap() - want).abs() < 1e-12);
    assert!(want > 0.8, "{want}");
}

#[test]
fn spearman_on_hand_cases() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert!((spearman(&x, &[10.0, 20.0, 30.0, 40.0, 50.0]).unwrap() - 1.0).abs() < 1e-12);
    assert!((spearman(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
    // Monotone but not linear: still 1.
    assert!((spearman(&x, &[1.0, 8.0, 27.0, 64.0, 125.0]).unwrap() - 1.0).abs() < 1e-12);
    // Ties take the average of their ranks.
    assert_eq!(average_ranks(&[1.0, 2.0, 2.0, 3.0]), [1.0, 2.5, 2.5, 4.0]);
    assert_eq!(average_ranks(&[3.0, 1.0, 3.0, 3.0]), [3.0, 1.0, 3.0, 3.0]);
    // ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): 4.5 / sqrt(4.5 · 5).
    let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert!((r - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-12, "{r}");
    // No spread, or too few pairs: undefined.
    assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    assert_eq!(spearman(&[1.0], &[1.0]), None);
}

/// `eval choice` writes the run and a teacher file; `eval difficulty` reads the runs and
/// writes the difficulty file the trainer reads; a condition the model cannot take is named.
#[test]
fn the_choice_and_difficulty_commands() {
    let d = scratch("choice-cli");
    let m = manifest(&d, true);
    let task_file = d.join("task.toml");
    std::fs::write(&task_file, toml::to_string(&task()).unwrap()).unwrap();
    let model = fixtures().join("vision/model");
    let out = d.join("val");
    let teacher = d.join("teacher.json");
    let (ok, stdout, stderr) = eval(&[
        "choice",
        "--model",
        s(&model),
        "--task",
        s(&task_file),
        "--manifest",
        s(&m),
        "--condition",
        "visual",
        "--out",
        s(&out),
        "--teacher-out",
        s(&teacher),
        "--batch-size",
        "2",
        "--video-min-pixels",
        "3136",
        "--video-max-pixels",
        "9408",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("visual condition"), "{stdout}");
    let f = TeacherFile::load(&teacher).unwrap();
    assert_eq!(f.items.len(), 4);
    assert!(f.teacher.contains("vision/model"), "{}", f.teacher);

    let (ok, _, stderr) = eval(&[
        "choice",
        "--model",
        s(&model),
        "--task",
        s(&task_file),
        "--manifest",
        s(&m),
        "--condition",
        "audio",
        "--out",
        s(&d.join("audio")),
    ]);
    assert!(
        !ok && stderr.contains("qwen2_vl") && stderr.contains("audio"),
        "{stderr}"
    );

    let diff = d.join("difficulty.json");
    let summary = out.join("summary.json");
    let (ok, stdout, stderr) = eval(&[
        "difficulty",
        "--student",
        s(&summary),
        "--teacher",
        s(&summary),
        "--select",
        "top-k:2",
        "--out",
        s(&diff),
        "--test",
        s(&summary),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("spearman"), "{stdout}");
    let file = DifficultyFile::load(&diff).unwrap();
    assert_eq!(file.selected.len(), 2);
    assert_eq!(file.selected_classes(&diff, &task()).unwrap().len(), 2);
    // The same run as its own teacher agrees everywhere it has items.
    assert!(file
        .classes
        .iter()
        .all(|c| c.agreement.is_none_or(|a| a == 1.0)));
    assert!(d.join("difficulty.md").is_file());
    let (ok, _, stderr) = eval(&[
        "difficulty",
        "--student",
        s(&summary),
        "--select",
        "top-k:two",
        "--out",
        s(&diff),
    ]);
    assert!(!ok && stderr.contains("top-k"), "{stderr}");
}
