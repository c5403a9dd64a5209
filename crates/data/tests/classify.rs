//! Classification tasks: label checks on manifests, the answer normaliser, and the four dataset
//! converters on small synthetic layouts.

use std::fs;
use std::path::Path;

use data::classify::convert::{gtzan, iemocap, nsynth, vocalsound};
use data::classify::{label_samples, map_answer, ClassTask, MatchKind};
use data::manifest::{read_manifest_from, write_manifest, ReadOptions};
use data::{OnBad, Task};

fn touch(p: &Path) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, b"RIFF").unwrap();
}

fn manifest(text: &str, task: &str) -> Vec<data::Sample> {
    let opts = ReadOptions {
        on_bad: OnBad::Error,
        default_task: Some(Task::Custom(task.into())),
    };
    read_manifest_from(text.as_bytes(), Path::new("/m/test.jsonl"), &opts)
        .unwrap()
        .0
}

#[test]
fn targets_must_be_labels_of_the_task() {
    let vsc = ClassTask::builtin("vsc").unwrap();
    let samples = manifest(
        r#"{"task": "vsc", "audio": "a.wav", "target": "cough"}
{"audio": "b.wav", "target": "Throat clearing"}
{"task": "VSC", "audio": "c.wav", "target": "yawn"}
{"task": "ser", "audio": "d.wav", "target": "sad"}
"#,
        "vsc",
    );
    let e = label_samples(&vsc, samples.clone(), OnBad::Error)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/m/test.jsonl:3: field `target`"), "{e}");
    assert!(e.contains("yawn"), "{e}");
    let (ok, skipped) = label_samples(&vsc, samples, OnBad::Skip).unwrap();
    assert_eq!(ok.iter().map(|s| s.label).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[1].location.line, 4);
    assert!(
        skipped[1].reason.contains("field `task`"),
        "{}",
        skipped[1].reason
    );
}

#[test]
fn custom_task_deserialises_strictly() {
    let t: ClassTask = serde_json::from_str(
        r#"{"name": "animals", "labels": ["dog", "cat"], "prompt": "Which? {labels}",
            "aliases": {"dog": ["puppy"]}}"#,
    )
    .unwrap();
    t.validate().unwrap();
    assert_eq!(t.rendered_prompt(), "Which? dog, cat");
    assert_eq!(
        t.prompts()
            .prompt(&Task::Custom("animals".into()), 1)
            .unwrap(),
        "Which? dog, cat"
    );
    assert!(serde_json::from_str::<ClassTask>(
        r#"{"name": "a", "labels": ["x", "y"], "prompt": "p", "label": []}"#
    )
    .is_err());
}

#[test]
fn answers_map_exact_then_substring_then_unmatched() {
    let vsc = ClassTask::builtin("vsc").unwrap();
    let m = |s: &str| {
        let r = map_answer(&vsc, s);
        (r.label.map(|i| vsc.labels[i].as_str()), r.kind)
    };
    assert_eq!(m("Cough."), (Some("cough"), MatchKind::Exact));
    assert_eq!(
        m("throat-clearing"),
        (Some("throat clearing"), MatchKind::Exact)
    );
    assert_eq!(m("coughing"), (Some("cough"), MatchKind::Exact));
    assert_eq!(
        m("It sounds like someone sneezing, then a cough."),
        (Some("sneeze"), MatchKind::Substring)
    );
    assert_eq!(
        m("A man clears his throat"),
        (Some("throat clearing"), MatchKind::Substring)
    );
    // Whole words only: "sighted" holds "sigh" but not as a word.
    assert_eq!(m("I sighted a bird"), (None, MatchKind::Unmatched));
    assert_eq!(m(""), (None, MatchKind::Unmatched));
    assert_eq!(m("a yawn"), (None, MatchKind::Unmatched));
    let mgc = ClassTask::builtin("mgc").unwrap();
    assert_eq!(map_answer(&mgc, "Hip-hop").label, Some(4));
    assert_eq!(map_answer(&mgc, "this is pop rock").label, Some(7));
    let mic = ClassTask::builtin("mic").unwrap();
    assert_eq!(map_answer(&mic, "synth lead").kind, MatchKind::Exact);
    assert_eq!(map_answer(&mic, "a synth_lead patch").label, Some(9));
}

#[test]
fn vocalsound_from_file_names() {
    let d = tempfile::tempdir().unwrap();
    let audio = d.path().join("audio_16k");
    for f in [
        "f0003_0_cough.wav",
        "m0112_2_throatclearing.wav",
        "f0001_1_yawn.wav",
        "notes.txt",
    ] {
        touch(&audio.join(f));
    }
    let c = vocalsound(&audio, d.path()).unwrap();
    assert_eq!(c.lines.len(), 2);
    assert_eq!(c.lines[0].id.as_deref(), Some("f0003_0_cough"));
    assert_eq!(c.lines[0].audio, vec!["audio_16k/f0003_0_cough.wav"]);
    assert_eq!(c.lines[1].target, "throat clearing");
    assert_eq!(c.lines[1].task, Task::Custom("vsc".into()));
    assert_eq!(c.dropped.len(), 1);
    assert!(c.dropped[0].source.ends_with("f0001_1_yawn.wav"));
}

#[test]
fn iemocap_sessions_merge_excited_into_happy() {
    let d = tempfile::tempdir().unwrap();
    let s1 = d.path().join("Session1");
    let eval = s1.join("dialog/EmoEvaluation");
    fs::create_dir_all(&eval).unwrap();
    fs::write(
        eval.join("Ses01F_impro01.txt"),
        "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n\
         [6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n\
         C-E2:\tNeutral;\t()\n\
         [10.0100 - 11.3925]\tSes01F_impro01_F001\texc\t[3.0, 3.5, 3.0]\n\
         [14.8872 - 18.0175]\tSes01F_impro01_M002\tfru\t[2.5, 3.5, 3.5]\n\
         [20.0 - 21.0]\tSes01F_impro01_M003\tang\t[2.0, 4.0, 4.0]\n",
    )
    .unwrap();
    for t in ["F000", "F001", "M002"] {
        touch(&s1.join(format!(
            "sentences/wav/Ses01F_impro01/Ses01F_impro01_{t}.wav"
        )));
    }
    // Session2 exists but is not selected.
    fs::create_dir_all(d.path().join("Session2/dialog/EmoEvaluation")).unwrap();
    let c = iemocap(d.path(), &[1], d.path()).unwrap();
    let got: Vec<(&str, &str)> = c
        .lines
        .iter()
        .map(|l| (l.id.as_deref().unwrap(), l.target.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Ses01F_impro01_F000", "neutral"),
            ("Ses01F_impro01_F001", "happy")
        ]
    );
    assert_eq!(
        c.lines[0].audio,
        vec!["Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"]
    );
    let counts = c.dropped_counts();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(counts.iter().any(|(r, n)| r.contains("`fru`") && *n == 1));
    assert!(counts
        .iter()
        .any(|(r, n)| r == "audio file missing" && *n == 1));
    assert!(c
        .dropped
        .iter()
        .any(|d| d.source.ends_with("Ses01F_impro01.txt:7")));

    assert!(iemocap(d.path(), &[9], d.path()).is_err());
    fs::write(eval.join("bad.txt"), "[1.0 - 2.0] no tabs here\n").unwrap();
    let e = iemocap(d.path(), &[], d.path()).unwrap_err().to_string();
    assert!(e.contains("bad.txt:1"), "{e}");
}

#[test]
fn nsynth_from_examples_json() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("nsynth-test");
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("examples.json"),
        r#"{
  "bass_synthetic_033-022-050": {"note_str": "bass_synthetic_033-022-050", "instrument_family_str": "bass"},
  "synth_lead_synthetic_000-040-075": {"instrument_family_str": "synth_lead"},
  "guitar_acoustic_010-055-100": {"instrument_family_str": "guitar"}
}"#,
    )
    .unwrap();
    touch(&root.join("audio/bass_synthetic_033-022-050.wav"));
    touch(&root.join("audio/synth_lead_synthetic_000-040-075.wav"));
    let out_dir = d.path().join("manifests");
    let c = nsynth(&root.join("examples.json"), &out_dir).unwrap();
    assert_eq!(c.lines.len(), 2);
    assert_eq!(c.lines[1].target, "synth_lead");
    // Not under the manifest's directory: absolute.
    assert!(Path::new(&c.lines[0].audio[0]).is_absolute());
    assert_eq!(c.dropped.len(), 1);
    assert!(
        c.dropped[0].source.ends_with("examples.json:4"),
        "{:?}",
        c.dropped
    );

    fs::write(
        root.join("examples.json"),
        "{\n  \"x\": {\"instrument_family_str\": \"kazoo\"}\n}",
    )
    .unwrap();
    let e = nsynth(&root.join("examples.json"), d.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("examples.json:2") && e.contains("kazoo"), "{e}");
}

#[test]
fn gtzan_from_genre_folders_roundtrips_through_a_manifest() {
    let d = tempfile::tempdir().unwrap();
    let genres = d.path().join("genres");
    touch(&genres.join("blues/blues.00000.wav"));
    touch(&genres.join("hiphop/hiphop.00042.wav"));
    touch(&genres.join("polka/polka.00001.wav"));
    touch(&genres.join("README.txt"));
    let c = gtzan(&genres, d.path()).unwrap();
    assert_eq!(c.lines.len(), 2);
    assert_eq!(c.lines[1].id.as_deref(), Some("hiphop.00042"));
    assert_eq!(c.lines[1].audio, vec!["genres/hiphop/hiphop.00042.wav"]);
    assert_eq!(c.dropped.len(), 1);

    let path = d.path().join("mgc.jsonl");
    write_manifest(&path, &c.lines).unwrap();
    let (samples, _) = data::read_manifest(&path, OnBad::Error).unwrap();
    let mgc = ClassTask::builtin("mgc").unwrap();
    let (ok, skipped) = label_samples(&mgc, samples, OnBad::Error).unwrap();
    assert!(skipped.is_empty());
    assert_eq!(ok[1].label, 4);
    assert_eq!(
        ok[1].sample.audio[0],
        genres.join("hiphop/hiphop.00042.wav")
    );
}
