//! Multiple-choice tasks: options deterministic and balanced, prompts in the paper's form,
//! conditions, and teacher files (round trip, mismatches named).

use std::path::PathBuf;

use data::choice::{ChoiceTask, Condition, TeacherFile, TeacherItem, LETTERS, TEACHER_FORMAT};
use data::{Location, Sample, Task};

fn task(options: usize) -> ChoiceTask {
    ChoiceTask {
        name: "objects".into(),
        classes: (0..12).map(|i| format!("class {i}")).collect(),
        options,
        seed: 7,
        order: Default::default(),
        prompt: data::choice::DEFAULT_PROMPT.into(),
    }
}

fn sample(i: usize, class: usize) -> Sample {
    Sample {
        id: format!("clip{i}"),
        task: Task::Custom("objects".into()),
        audio: vec![PathBuf::from(format!("a{i}.wav"))],
        images: vec![],
        videos: vec![PathBuf::from(format!("v{i}.mp4"))],
        prompt: None,
        system: None,
        target: format!("class {class}"),
        references: vec![],
        source: Location::new("m.jsonl", i + 1),
    }
}

fn samples(n: usize) -> Vec<Sample> {
    (0..n).map(|i| sample(i, (i * 5) % 12)).collect()
}

#[test]
fn options_are_deterministic_hold_the_class_and_balance_the_letters() {
    let t = task(10);
    let items = t.items(&samples(2000)).unwrap();
    assert_eq!(
        items,
        t.items(&samples(2000)).unwrap(),
        "same seed, same options"
    );
    let mut per_letter = [0usize; 10];
    let mut per_class_option = vec![0usize; 12];
    for it in &items {
        assert_eq!(it.options.len(), 10);
        assert_eq!(it.options[it.answer], it.class);
        let mut o = it.options.clone();
        o.sort();
        o.dedup();
        assert_eq!(o.len(), 10, "distinct options");
        per_letter[it.answer] += 1;
        for &c in &it.options {
            per_class_option[c] += 1;
        }
    }
    // 2,000 items over 10 letters: 200 each in expectation (binomial sd 13.4); within 4 sd.
    assert!(
        per_letter.iter().all(|&n| (146..=254).contains(&n)),
        "{per_letter:?}"
    );
    // Every class is offered about equally often (10/12 of the items, sd ~17).
    assert!(
        per_class_option.iter().all(|&n| (1600..=1734).contains(&n)),
        "{per_class_option:?}"
    );
    // An item's question depends on nothing but itself.
    let alone = t.items(&samples(2000)[17..18]).unwrap();
    assert_eq!(alone[0].options, items[17].options);
    assert_eq!(alone[0].answer, items[17].answer);
    // Another seed, other questions.
    let other = ChoiceTask {
        seed: 8,
        ..t.clone()
    }
    .items(&samples(200))
    .unwrap();
    assert_ne!(
        other.iter().map(|i| &i.options).collect::<Vec<_>>(),
        items[..200].iter().map(|i| &i.options).collect::<Vec<_>>()
    );
}

#[test]
fn the_prompt_letters_the_options_and_the_condition_picks_the_media() {
    let t = task(4);
    let items = t.items(&samples(3)).unwrap();
    let it = &items[0];
    let s = it.sample(&t, Condition::Audio).unwrap();
    let p = s.prompt.as_deref().unwrap();
    assert!(p.starts_with("Classify the sounding object into one of the categories below:\nA. "));
    for (k, &c) in it.options.iter().enumerate() {
        assert!(
            p.contains(&format!("{}. {}\n", LETTERS[k], t.classes[c])),
            "{p}"
        );
    }
    assert_eq!(s.target, LETTERS[it.answer]);
    assert!(s.videos.is_empty() && s.audio.len() == 1);
    let v = it.sample(&t, Condition::Visual).unwrap();
    assert!(v.audio.is_empty() && v.videos.len() == 1);
    let both = it.sample(&t, Condition::Both).unwrap();
    assert!(both.audio.len() == 1 && both.videos.len() == 1);
    // An audio-only item has nothing for the visual condition.
    let mut a = samples(1);
    a[0].videos.clear();
    let e = t.items(&a).unwrap()[0]
        .sample(&t, Condition::Visual)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("m.jsonl:1") && e.contains("no visual input"),
        "{e}"
    );
}

#[test]
fn bad_tasks_and_targets_are_named() {
    let mut s = samples(3);
    s[1].target = "a spaceship".into();
    let e = task(4).items(&s).unwrap_err().to_string();
    assert!(
        e.contains("m.jsonl:2") && e.contains("target") && e.contains("a spaceship"),
        "{e}"
    );
    let mut s = samples(3);
    s[2].id = "clip0".into();
    let e = task(4).items(&s).unwrap_err().to_string();
    assert!(e.contains("m.jsonl:3") && e.contains("repeats"), "{e}");
    let e = task(13).validate().unwrap_err().to_string();
    assert!(e.contains("options"), "{e}");
    let e = ChoiceTask {
        prompt: "Which one?".into(),
        ..task(4)
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("{options}"), "{e}");
    // Labels match case- and space-insensitively.
    let mut s = samples(1);
    s[0].target = " CLASS 3 ".into();
    assert_eq!(task(4).items(&s).unwrap()[0].class, 3);
}

fn teacher_for(t: &ChoiceTask, n: usize) -> TeacherFile {
    let items = t.items(&samples(n)).unwrap();
    TeacherFile {
        format: TEACHER_FORMAT,
        teacher: "teacher-model".into(),
        condition: Condition::Visual,
        task: t.clone(),
        letters: t.letters(),
        items: items
            .iter()
            .map(|it| {
                let mut probs = vec![0.1 / (t.options - 1) as f64; t.options];
                probs[it.answer] = 0.9;
                TeacherItem::new(t, it, probs)
            })
            .collect(),
    }
}

#[test]
fn teacher_files_round_trip_and_mismatches_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teacher.json");
    let t = task(4);
    let f = teacher_for(&t, 6);
    f.save(&path).unwrap();
    let back = TeacherFile::load(&path).unwrap();
    assert_eq!(back, f);
    let items = t.items(&samples(6)).unwrap();
    let matched = back.match_items(&path, &t, &items).unwrap();
    assert_eq!(matched.len(), 6);
    assert!(matched
        .iter()
        .zip(&items)
        .all(|(m, it)| m.answer() == it.answer));

    // Another seed asks other questions: named, with the item and the file.
    let t2 = ChoiceTask {
        seed: 99,
        ..t.clone()
    };
    let items2 = t2.items(&samples(6)).unwrap();
    let e = back
        .match_items(&path, &t2, &items2)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("teacher.json") && e.contains("clip") && e.contains("options"),
        "{e}"
    );
    // A subset of the teacher's items matches; an item the teacher never saw is named.
    assert!(back.match_items(&path, &t, &items[2..4]).is_ok());
    let more = t.items(&samples(7)).unwrap();
    let e = back.match_items(&path, &t, &more).unwrap_err().to_string();
    assert!(e.contains("no teacher signal for item `clip6`"), "{e}");
    // Other letters (another option count).
    let t3 = task(5);
    let e = back
        .match_items(&path, &t3, &t3.items(&samples(6)).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("letters"), "{e}");
    // A distribution that does not sum to 1.
    let mut broken = f.clone();
    broken.items[2].probs[0] += 0.5;
    broken.save(&path).unwrap();
    let e = TeacherFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("teacher.json") && e.contains("items[2]"), "{e}");
}

#[test]
fn fixed_order_lists_the_options_in_class_order() {
    use data::choice::OptionOrder;
    let shuffled = task(4);
    let fixed = ChoiceTask {
        order: OptionOrder::Fixed,
        ..task(4)
    };
    let (a, b) = (
        shuffled.items(&samples(300)).unwrap(),
        fixed.items(&samples(300)).unwrap(),
    );
    for (s, f) in a.iter().zip(&b) {
        // The same options, in class order, the answer pointing at the class.
        let mut sorted = s.options.clone();
        sorted.sort();
        assert_eq!(f.options, sorted);
        assert_eq!(f.options[f.answer], f.class);
    }
    // With every class an option, a class always has the same letter.
    let all = ChoiceTask {
        order: OptionOrder::Fixed,
        ..task(12)
    };
    for it in all.items(&samples(300)).unwrap() {
        assert_eq!(it.answer, it.class);
    }
    // Written only when it is not the default; read back as written.
    let text = toml::to_string(&all).unwrap();
    assert!(text.contains("order = \"fixed\""), "{text}");
    assert!(!toml::to_string(&shuffled).unwrap().contains("order"));
    assert_eq!(toml::from_str::<ChoiceTask>(&text).unwrap(), all);
    let bad = text.replace("\"fixed\"", "\"sorted\"");
    assert!(toml::from_str::<ChoiceTask>(&bad).is_err());
}
