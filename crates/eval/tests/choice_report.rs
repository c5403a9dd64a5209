//! The per-class report of a distillation (`eval choice-report`): group means over the hard
//! and easy classes of a difficulty file, human-response files in both forms, the
//! ears-vs-eyes gap correlation on hand cases, mismatched runs refused naming the files, and
//! the command writing its three files. Synthetic summaries only: no model runs.

mod common;

use std::path::{Path, PathBuf};

use common::{eval, s};
use data::choice::{ChoiceTask, Condition, Selection};
use eval::choice::{summarise, ChoiceOptions, ChoiceRecord, ChoiceSummary};
use eval::choice_report::{
    build_per_class_report, gap_correlation, pearson, per_class_markdown, DifficultyInput, Group,
    HumanFormat, Humans, PerClassReport, ReportInputs, SummaryFile,
};
use eval::difficulty::{difficulty, DifficultyModel, Run};
use testkit::scratch;

/// The last class never has items.
const CLASSES: [&str; 5] = [
    "police car",
    "ice cream van",
    "dog barking",
    "bird chirping, tweeting",
    "rain",
];

fn task_named(name: &str, classes: &[&str]) -> ChoiceTask {
    ChoiceTask {
        name: name.into(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
        options: 3,
        seed: 1,
        order: Default::default(),
        prompt: data::choice::DEFAULT_PROMPT.into(),
    }
}

fn task() -> ChoiceTask {
    task_named("objects", &CLASSES)
}

/// A run of `task` under `condition`: class `c` has `spec[c].0` of `spec[c].1` items right.
fn run_of(task: &ChoiceTask, condition: Condition, spec: &[(usize, usize)]) -> ChoiceSummary {
    let mut records = vec![];
    for (c, &(right, n)) in spec.iter().enumerate() {
        let class = &task.classes[c];
        let other = &task.classes[(c + 1) % task.classes.len()];
        for k in 0..n {
            let ok = k < right;
            records.push(ChoiceRecord {
                id: format!("i{}", records.len()),
                source: format!("items.jsonl:{}", records.len() + 1),
                class: class.clone(),
                options: vec![class.clone(), other.clone(), "x".into()],
                answer: "A".into(),
                predicted: Some(if ok { "A" } else { "B" }.into()),
                predicted_class: Some(if ok { class } else { other }.clone()),
                correct: ok,
                probs: None,
                logits: None,
                letter_mass: None,
                text: None,
                matched_by: None,
            });
        }
    }
    let opts = ChoiceOptions {
        condition,
        ..Default::default()
    };
    summarise(task, &records, vec![], vec![], "items.jsonl", &opts)
}

/// Out of 10 items per class, `right[c]` right; the last class has no items.
fn run(condition: Condition, right: [usize; 4]) -> ChoiceSummary {
    let mut spec: Vec<(usize, usize)> = right.iter().map(|&r| (r, 10)).collect();
    spec.push((0, 0));
    run_of(&task(), condition, &spec)
}

fn file(path: &str, summary: ChoiceSummary) -> SummaryFile {
    SummaryFile {
        path: PathBuf::from(path),
        summary,
    }
}

/// The difficulty file of `student` selecting `hard`.
fn difficulty_file(student: &ChoiceSummary, hard: &[&str]) -> DifficultyInput {
    let f = difficulty(
        Run {
            summary: student,
            name: "val/summary.json",
            predictions: None,
        },
        None,
        &DifficultyModel::default(),
        &Selection::List {
            classes: hard.iter().map(|c| c.to_string()).collect(),
        },
    )
    .unwrap();
    DifficultyInput {
        path: PathBuf::from("difficulty.json"),
        file: f,
    }
}

fn inputs(before: ChoiceSummary, after: ChoiceSummary) -> ReportInputs {
    ReportInputs {
        before: file("S0/summary.json", before),
        after: file("S1/summary.json", after),
        teacher: None,
        difficulty: None,
        humans: None,
        runs: vec![],
        audio_model: None,
        visual_model: None,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn group_means_follow_the_difficulty_files_hard_set() {
    let before = run(Condition::Audio, [2, 4, 8, 6]);
    let mut inp = inputs(before.clone(), run(Condition::Audio, [6, 6, 8, 5]));
    inp.teacher = Some(file("T/summary.json", run(Condition::Visual, [9, 7, 5, 6])));
    inp.runs = vec![(
        "label-only".into(),
        file("L/summary.json", run(Condition::Audio, [3, 5, 8, 6])),
    )];
    inp.difficulty = Some(difficulty_file(&before, &["ice cream van", "Police Car"]));
    let r = build_per_class_report(&inp).unwrap();

    let groups: Vec<Option<Group>> = r.rows.iter().map(|c| c.group).collect();
    use Group::{Easy, Hard};
    assert_eq!(
        groups,
        [Some(Hard), Some(Hard), Some(Easy), Some(Easy), Some(Easy)]
    );
    assert!(r.rows.iter().all(|c| c.rank.is_some()));
    let changes: Vec<Option<f64>> = r.rows.iter().map(|c| c.values.change).collect();
    for (c, want) in changes.iter().zip([0.4, 0.2, 0.0, -0.1]) {
        assert!(close(*c, want), "{changes:?}");
    }
    // The class without items has no value and is left out of the means.
    assert_eq!(r.rows[4].values.before, None);
    assert_eq!(r.rows[4].values.change, None);

    let names: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(names, ["hard", "easy", "all"]);
    let (hard, easy, all) = (&r.groups[0], &r.groups[1], &r.groups[2]);
    assert_eq!((hard.classes, hard.support), (2, 20));
    assert_eq!((easy.classes, easy.support), (3, 20));
    assert_eq!((all.classes, all.support), (5, 40));
    assert!(close(hard.values.before, 0.3));
    assert!(close(hard.values.after, 0.6));
    assert!(close(hard.values.change, 0.3));
    assert!(close(hard.values.teacher, 0.8));
    assert!(close(hard.values.runs[0], 0.4));
    assert!(close(easy.values.before, 0.7));
    assert!(close(easy.values.after, 0.65));
    assert!(close(easy.values.change, -0.05));
    assert!(close(all.values.before, 0.5));
    assert!(close(all.values.change, 0.125));
    assert!(all.values.humans.is_empty());
    assert!(r.gap.is_none());

    let md = per_class_markdown(&r);
    assert!(
        md.contains("| police car | 10 | hard | 20.00 | 60.00 | +40.00 | 90.00 | 30.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| **mean: hard (2 classes)** | 20 |  | 30.00 | 60.00 | +30.00 | 80.00 |"),
        "{md}"
    );
    assert!(md.contains("| **mean: easy (3 classes)** | 20 |"), "{md}");
    assert!(md.contains("| rain | 0 | easy | – | – | – |"), "{md}");
    assert!(md.contains("teacher (visual)"), "{md}");

    // Without a difficulty file there is only the overall mean.
    inp.difficulty = None;
    let r = build_per_class_report(&inp).unwrap();
    assert_eq!(r.groups.len(), 1);
    assert!(r.rows.iter().all(|c| c.group.is_none()));
    assert!(close(r.groups[0].values.after, 0.625));
}

/// Human counts: (class as written, condition, correct, total).
const HUMAN_COUNTS: [(&str, &str, usize, usize); 6] = [
    ("police car", "audio", 9, 10),
    ("police car", "visual", 3, 10),
    ("Ice Cream  Van", "audio", 1, 2),
    ("bird chirping, tweeting", "visual", 2, 4),
    ("bird chirping, tweeting", "visual", 1, 1),
    ("dog barking", "both", 4, 4),
];

fn quote(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn counts_csv() -> String {
    let mut t = "class,condition,correct,total\n".to_string();
    for (c, cond, k, n) in HUMAN_COUNTS {
        t.push_str(&format!("{},{cond},{k},{n}\n", quote(c)));
    }
    t
}

/// The same responses one per row, with a BOM, CRLF line ends, columns in another order, an
/// extra column, a blank line, and the wrong answers half empty, half another class.
fn responses_csv() -> String {
    let mut t = "\u{feff}Participant,item_id,condition,class,answer_class\r\n\r\n".to_string();
    let mut item = 0;
    for (c, cond, k, n) in HUMAN_COUNTS {
        for r in 0..n {
            item += 1;
            let answer = match (r < k, r % 2) {
                (true, 0) => c.to_uppercase(),
                (true, _) => c.to_string(),
                (false, 0) => String::new(),
                (false, _) => "rain".into(),
            };
            t.push_str(&format!(
                "p{},item{item},{cond},{},{}\r\n",
                r % 3,
                quote(c),
                quote(&answer)
            ));
        }
    }
    t
}

#[test]
fn human_files_in_both_forms_give_the_same_accuracies() {
    let counts = Humans::parse(Path::new("h.csv"), &counts_csv()).unwrap();
    let responses = Humans::parse(Path::new("r.csv"), &responses_csv()).unwrap();
    assert_eq!(counts.format, HumanFormat::Counts);
    assert_eq!(responses.format, HumanFormat::Responses);
    for h in [&counts, &responses] {
        assert_eq!(
            h.conditions(),
            [Condition::Audio, Condition::Visual, Condition::Both]
        );
        assert!(close(h.accuracy("Police Car", Condition::Audio), 0.9));
        assert!(close(h.accuracy("police car", Condition::Visual), 0.3));
        assert!(close(h.accuracy("ice cream van", Condition::Audio), 0.5));
        // Two rows of the same class and condition add up: 3 of 5.
        assert!(close(
            h.accuracy("bird chirping, tweeting", Condition::Visual),
            0.6
        ));
        assert_eq!(h.accuracy("police car", Condition::Both), None);
        assert_eq!(h.counts.len(), 5);
    }
    let strip = |h: &Humans| {
        h.counts
            .iter()
            .map(|c| (c.class.clone(), c.condition, c.correct, c.total))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&counts), strip(&responses));

    // In the report: one column per condition, classes matched loosely.
    let mut inp = inputs(
        run(Condition::Audio, [2, 4, 8, 6]),
        run(Condition::Audio, [6, 6, 8, 5]),
    );
    inp.humans = Some(responses);
    let r = build_per_class_report(&inp).unwrap();
    let h = r.humans.as_ref().unwrap();
    assert_eq!(h.conditions.len(), 3);
    assert!(close(r.rows[1].values.humans[0], 0.5));
    assert!(close(r.rows[3].values.humans[1], 0.6));
    assert!(close(r.rows[2].values.humans[2], 1.0));
    assert_eq!(r.rows[4].values.humans, [None, None, None]);
    assert!(per_class_markdown(&r).contains("| humans audio | humans visual | humans both |"));
    // Humans but no audio/visual pair of models: no comparison, and a note says why.
    assert!(r.gap.is_none());
    assert!(
        r.notes.iter().any(|n| n.contains("--audio-model")),
        "{:?}",
        r.notes
    );

    // Malformed files are named with their line.
    let bad = |text: &str, want: &[&str]| {
        let e = Humans::parse(Path::new("h.csv"), text)
            .unwrap_err()
            .to_string();
        for w in want {
            assert!(e.contains(w), "{e} lacks {w}");
        }
    };
    bad("class,cond,correct,total\n", &["h.csv:1", "item_id,class"]);
    bad(
        "class,condition,correct,total\ndog barking,eyes,1,2\n",
        &["h.csv:2", "eyes"],
    );
    bad(
        "class,condition,correct,total\n\ndog barking,audio,3,2\n",
        &["h.csv:3", "exceeds"],
    );
    bad(
        "class,condition,correct,total\ndog barking,audio,x,2\n",
        &["h.csv:2", "correct"],
    );
    bad(
        "class,condition,correct,total\ndog barking,audio,1\n",
        &["h.csv:2", "3 fields"],
    );
    bad(
        "item_id,class,condition,answer_class\ni1,\"dog barking,audio,dog\n",
        &["h.csv:2", "quote"],
    );
    bad(
        "class,condition,correct,total\n",
        &["h.csv", "no responses"],
    );
    // A class the task lacks: named at report time, with its line.
    let whale = "class,condition,correct,total\ndog barking,audio,1,2\nwhale,audio,1,2\n";
    inp.humans = Some(Humans::parse(Path::new("h.csv"), whale).unwrap());
    let e = build_per_class_report(&inp).unwrap_err().to_string();
    assert!(e.contains("h.csv:3") && e.contains("whale"), "{e}");
}

/// Humans hear class 0 best and see class 2 best; the models' gap is half the humans'.
fn gap_humans() -> Humans {
    let text = "class,condition,correct,total\n\
                police car,audio,9,10\npolice car,visual,3,10\n\
                ice cream van,audio,5,10\nice cream van,visual,5,10\n\
                dog barking,audio,3,10\ndog barking,visual,9,10\n\
                \"bird chirping, tweeting\",audio,6,10\n\"bird chirping, tweeting\",visual,4,10\n";
    Humans::parse(Path::new("humans.csv"), text).unwrap()
}

#[test]
fn gap_correlation_on_hand_cases() {
    let h = [0.1, 0.2, 0.3, 0.4];
    let c = gap_correlation(&h, &[0.3, 0.5, 0.7, 0.9]);
    assert!(close(c.pearson, 1.0) && close(c.spearman, 1.0), "{c:?}");
    assert_eq!((c.classes, c.not_computed), (4, None));
    let c = gap_correlation(&h, &[0.9, 0.7, 0.5, 0.3]);
    assert!(close(c.pearson, -1.0) && close(c.spearman, -1.0), "{c:?}");
    // Monotone, not linear: ρ = 1, r = 14 / √250 (deviations (−1.5, −.5, .5, 1.5) and
    // (−3, −2, −1, 6)).
    let c = gap_correlation(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 10.0]);
    assert!(close(c.spearman, 1.0), "{c:?}");
    assert!(close(c.pearson, 14.0 / 250f64.sqrt()), "{c:?}");
    assert!(close(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), 1.0));
    assert_eq!(pearson(&[1.0, 1.0], &[2.0, 4.0]), None);
    // Never a made-up number.
    let c = gap_correlation(&[0.1, 0.2], &[0.3, 0.4]);
    assert_eq!((c.pearson, c.spearman), (None, None));
    assert!(c.not_computed.unwrap().contains("at least 3"));
    let c = gap_correlation(&[0.2, 0.2, 0.2], &[0.3, 0.4, 0.5]);
    assert!(c.pearson.is_none() && c.not_computed.unwrap().contains("human gap"));
    let c = gap_correlation(&[0.1, 0.2, 0.3], &[0.4, 0.4, 0.4]);
    assert!(c.spearman.is_none() && c.not_computed.unwrap().contains("models' gap"));

    // In a report: humans' gaps (.6, 0, −.6, .2) against the models' (.3, 0, −.3, .1).
    let mut inp = inputs(
        run(Condition::Audio, [2, 4, 8, 6]),
        run(Condition::Audio, [6, 6, 8, 5]),
    );
    inp.humans = Some(gap_humans());
    inp.audio_model = Some(file("A/summary.json", run(Condition::Audio, [7, 5, 3, 6])));
    inp.visual_model = Some(file("V/summary.json", run(Condition::Visual, [4, 5, 6, 5])));
    let r = build_per_class_report(&inp).unwrap();
    let gap = r.gap.as_ref().unwrap();
    assert_eq!(
        gap.correlation.classes, 4,
        "the class without items is left out"
    );
    assert!(close(gap.correlation.pearson, 1.0), "{:?}", gap.correlation);
    assert!(close(gap.correlation.spearman, 1.0));
    assert!(close(gap.classes[2].human_gap, -0.6));
    assert!(close(gap.classes[2].model_gap, -0.3));
    assert_eq!(gap.classes[4].model_gap, None);
    let md = per_class_markdown(&r);
    assert!(
        md.contains("Pearson r = 1.000, Spearman rho = 1.000 over 4 classes"),
        "{md}"
    );
    assert!(md.contains("| dog barking | – | 30.00 | 90.00 | -60.00 | 30.00 | 60.00 | -30.00 |"));

    // Without the humans' visual responses the gaps are not correlated, and the reason says so.
    let audio_only = "class,condition,correct,total\npolice car,audio,9,10\ndog barking,audio,1,2\nrain,audio,1,1\n";
    inp.humans = Some(Humans::parse(Path::new("humans.csv"), audio_only).unwrap());
    let r = build_per_class_report(&inp).unwrap();
    let c = &r.gap.as_ref().unwrap().correlation;
    assert_eq!(c.pearson, None);
    assert!(
        c.not_computed
            .as_ref()
            .unwrap()
            .contains("no visual-condition"),
        "{c:?}"
    );
    assert!(per_class_markdown(&r).contains("not computed: humans.csv has no visual"));

    // No explicit models: a student and a teacher in the audio and visual conditions are the
    // compared pair (the base models, as in the paper), and a note says so.
    let mut inp = inputs(
        run(Condition::Audio, [7, 5, 3, 6]),
        run(Condition::Audio, [8, 6, 4, 6]),
    );
    inp.teacher = Some(file("T/summary.json", run(Condition::Visual, [4, 5, 6, 5])));
    inp.humans = Some(gap_humans());
    let r = build_per_class_report(&inp).unwrap();
    let gap = r.gap.as_ref().unwrap();
    assert_eq!(gap.audio_model.file, "S0/summary.json");
    assert_eq!(gap.visual_model.file, "T/summary.json");
    assert!(close(gap.correlation.pearson, 1.0));
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("the teacher (T/summary.json, visual)")));
}

#[test]
fn mismatched_runs_are_refused_naming_the_files() {
    let a = |right| run(Condition::Audio, right);
    let refused = |inp: &ReportInputs, want: &[&str]| {
        let e = build_per_class_report(inp).unwrap_err().to_string();
        for w in want {
            assert!(e.contains(w), "`{e}` lacks `{w}`");
        }
    };
    // Another condition after distillation.
    let inp = inputs(a([2, 4, 8, 6]), run(Condition::Visual, [6, 6, 8, 5]));
    refused(
        &inp,
        &[
            "S0/summary.json",
            "S1/summary.json",
            "condition audio vs visual",
        ],
    );
    // Another task.
    let other = task_named("scenes", &CLASSES);
    let spec = [(6, 10), (6, 10), (8, 10), (5, 10), (0, 0)];
    let inp = inputs(a([2, 4, 8, 6]), run_of(&other, Condition::Audio, &spec));
    refused(&inp, &["S1/summary.json", "task `objects` vs `scenes`"]);
    // Other classes.
    let fewer = task_named("objects", &CLASSES[..4]);
    let inp = inputs(
        a([2, 4, 8, 6]),
        run_of(&fewer, Condition::Audio, &spec[..4]),
    );
    refused(
        &inp,
        &["S1/summary.json", "classes only in the first: [\"rain\"]"],
    );
    // Other items.
    let inp = inputs(
        a([2, 4, 8, 6]),
        run_of(
            &task(),
            Condition::Audio,
            &[(6, 10), (6, 9), (8, 10), (5, 10), (0, 0)],
        ),
    );
    refused(&inp, &["ice cream van", "10 items", "9 in S1/summary.json"]);
    // A teacher of other classes.
    let mut inp = inputs(a([2, 4, 8, 6]), a([6, 6, 8, 5]));
    inp.teacher = Some(file(
        "T/summary.json",
        run_of(&fewer, Condition::Visual, &spec[..4]),
    ));
    refused(&inp, &["T/summary.json", "the teacher", "S0/summary.json"]);
    // A run of another task, and a repeated run name.
    let mut inp = inputs(a([2, 4, 8, 6]), a([6, 6, 8, 5]));
    inp.runs = vec![(
        "all classes".into(),
        file("R/summary.json", run_of(&other, Condition::Audio, &spec)),
    )];
    refused(&inp, &["R/summary.json", "run `all classes`"]);
    inp.runs = vec![
        ("x".into(), file("R1/summary.json", a([1, 1, 1, 1]))),
        ("x".into(), file("R2/summary.json", a([1, 1, 1, 1]))),
    ];
    refused(&inp, &["`x` repeats"]);
    // The gap's runs: the right conditions, and both.
    let mut inp = inputs(a([2, 4, 8, 6]), a([6, 6, 8, 5]));
    inp.audio_model = Some(file("V/summary.json", run(Condition::Visual, [1, 2, 3, 4])));
    inp.visual_model = Some(file(
        "V2/summary.json",
        run(Condition::Visual, [1, 2, 3, 4]),
    ));
    refused(
        &inp,
        &["V/summary.json", "--audio-model", "visual condition"],
    );
    inp.audio_model = Some(file("A/summary.json", a([1, 2, 3, 4])));
    inp.visual_model = None;
    refused(&inp, &["--visual-model"]);
    // A difficulty file of another task, or other classes.
    let mut inp = inputs(a([2, 4, 8, 6]), a([6, 6, 8, 5]));
    inp.difficulty = Some(difficulty_file(
        &run_of(&other, Condition::Audio, &spec),
        &["rain"],
    ));
    refused(&inp, &["difficulty.json", "task `scenes`"]);
    inp.difficulty = Some(difficulty_file(
        &run_of(&fewer, Condition::Audio, &spec[..4]),
        &["dog barking"],
    ));
    refused(&inp, &["difficulty.json", "missing [\"rain\"]"]);
}

fn write(path: &Path, summary: &ChoiceSummary) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(summary).unwrap()).unwrap();
    path.to_path_buf()
}

#[test]
fn the_choice_report_command_writes_three_files() {
    let d = scratch("choice-report-cli");
    let before = run(Condition::Audio, [2, 4, 8, 6]);
    let s0 = write(&d.join("S0/summary.json"), &before);
    let s1 = write(
        &d.join("S1/summary.json"),
        &run(Condition::Audio, [6, 6, 8, 5]),
    );
    let t = write(
        &d.join("T/summary.json"),
        &run(Condition::Visual, [9, 7, 5, 6]),
    );
    let l = write(
        &d.join("L/summary.json"),
        &run(Condition::Audio, [3, 5, 8, 6]),
    );
    let am = write(
        &d.join("A/summary.json"),
        &run(Condition::Audio, [7, 5, 3, 6]),
    );
    let vm = write(
        &d.join("V/summary.json"),
        &run(Condition::Visual, [4, 5, 6, 5]),
    );
    let diff = d.join("difficulty.json");
    difficulty_file(&before, &["police car", "ice cream van"])
        .file
        .save(&diff)
        .unwrap();
    let humans = d.join("humans.csv");
    let text = "class,condition,correct,total\n\
                police car,audio,9,10\npolice car,visual,3,10\n\
                ice cream van,audio,5,10\nice cream van,visual,5,10\n\
                dog barking,audio,3,10\ndog barking,visual,9,10\n\
                \"bird chirping, tweeting\",audio,6,10\n\"bird chirping, tweeting\",visual,4,10\n";
    std::fs::write(&humans, text).unwrap();
    let out = d.join("report");
    let (ok, stdout, stderr) = eval(&[
        "choice-report",
        "--student-before",
        s(&s0),
        "--student-after",
        s(&s1),
        "--teacher",
        s(&t),
        "--difficulty",
        s(&diff),
        "--humans",
        s(&humans),
        "--run",
        &format!("label-only={}", s(&l)),
        "--audio-model",
        s(&am),
        "--visual-model",
        s(&vm),
        "--out",
        s(&out),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("| **mean: hard (2 classes)** |"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md, stdout);
    assert!(
        md.contains("| label-only |") && md.contains("Pearson r = 1.000"),
        "{md}"
    );
    let r: PerClassReport =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r.groups.len(), 3);
    assert!(close(r.groups[0].values.change, 0.3));
    assert!(close(r.gap.as_ref().unwrap().correlation.spearman, 1.0));
    let png = std::fs::read(out.join("report.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "{} bytes", png.len());
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report.json", "report.md", "report.png"]);

    // Only the required runs: still three files, a chart without the scatter.
    let (ok, _, stderr) = eval(&[
        "choice-report",
        "--student-before",
        s(&s0),
        "--student-after",
        s(&s1),
        "--out",
        s(&d.join("plain")),
    ]);
    assert!(ok, "{stderr}");
    assert!(d.join("plain/report.png").is_file());

    // A mismatch names both files; a malformed --run is refused by the parser.
    let (ok, _, stderr) = eval(&[
        "choice-report",
        "--student-before",
        s(&s0),
        "--student-after",
        s(&t),
        "--out",
        s(&d.join("bad")),
    ]);
    assert!(
        !ok && stderr.contains(s(&s0)) && stderr.contains(s(&t)),
        "{stderr}"
    );
    assert!(!d.join("bad").exists());
    let (ok, _, stderr) = eval(&[
        "choice-report",
        "--student-before",
        s(&s0),
        "--student-after",
        s(&s1),
        "--run",
        s(&l),
        "--out",
        s(&d.join("bad")),
    ]);
    assert!(!ok && stderr.contains("NAME=path"), "{stderr}");
    let (ok, _, stderr) = eval(&[
        "choice-report",
        "--student-before",
        s(&s0),
        "--student-after",
        s(&s1),
        "--audio-model",
        s(&am),
        "--out",
        s(&d.join("bad")),
    ]);
    assert!(!ok && stderr.contains("--visual-model"), "{stderr}");
    std::fs::remove_dir_all(&d).unwrap();
}
