//! Manifest reading (both forms), its errors, skipping, and the native writer.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use data::manifest::{missing_audio, read_manifest_from, to_jsonl};
use data::{read_manifest, write_manifest, Error, OnBad, PromptPart, Prompts, ReadOptions, Task};

fn read(text: &str, opts: &ReadOptions) -> data::Result<(Vec<data::Sample>, Vec<data::Skipped>)> {
    read_manifest_from(
        Cursor::new(text.as_bytes()),
        Path::new("/m/train.jsonl"),
        opts,
    )
}

fn err(text: &str) -> Error {
    match read(text, &ReadOptions::default()) {
        Err(e) => e,
        Ok(r) => panic!("expected an error for {text}, got {r:?}"),
    }
}

/// The error's (line, field) and its message.
fn where_(e: &Error) -> (usize, String, String) {
    match e {
        Error::Field {
            location, field, ..
        } => (location.line, field.clone(), e.to_string()),
        Error::Json { location, .. } => (location.line, String::new(), e.to_string()),
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn native_lines() {
    let text = r#"{"task": "ac", "audio": "a.wav", "target": " A dog barks. "}

{"id": 7, "task": "ADC", "audio": ["x/b.wav", "/abs/c.wav"], "prompt": "What changed?", "target": "louder", "references": ["r1"]}
{"task": "birdsong", "audio": ["d.wav"], "target": "laughter", "system": "Be brief."}
"#;
    let (samples, skipped) = read(text, &ReadOptions::default()).unwrap();
    assert!(skipped.is_empty());
    assert_eq!(samples.len(), 3);
    let s = &samples[0];
    assert_eq!((s.id.as_str(), &s.task), ("train:1", &Task::Ac));
    assert_eq!(s.audio, vec![PathBuf::from("/m/a.wav")]);
    assert_eq!(s.target, "A dog barks.");
    assert_eq!(s.source.line, 1);
    let s = &samples[1];
    assert_eq!(
        (s.id.as_str(), &s.task, s.source.line),
        ("7", &Task::Adc, 3)
    );
    assert_eq!(
        s.audio,
        vec![PathBuf::from("/m/x/b.wav"), PathBuf::from("/abs/c.wav")]
    );
    assert_eq!(s.all_references(), vec!["louder", "r1"]);
    assert_eq!(
        s.user_parts(&Prompts::default()).unwrap(),
        vec![
            PromptPart::Audio(0),
            PromptPart::Audio(1),
            PromptPart::Text("What changed?".into())
        ]
    );
    let s = &samples[2];
    assert_eq!(s.task, Task::Custom("birdsong".into()));
    assert_eq!(s.system.as_deref(), Some("Be brief."));
    // A custom task that is not a built-in probe needs a prompt from somewhere; the error
    // names the line and field.
    let e = s
        .resolved_prompt(&Prompts::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.jsonl:4: field `prompt`"), "{e}");
}

#[test]
fn default_prompts_apply() {
    let text = r#"{"task": "acc", "audio": ["a.wav", "b.wav", "c.wav"], "target": "rain"}"#;
    let (s, _) = read(text, &ReadOptions::default()).unwrap();
    assert_eq!(
        s[0].resolved_prompt(&Prompts::default()).unwrap(),
        "Tell me the similarities between the 3 audios."
    );
}

#[test]
fn swift_lines() {
    let text = r#"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "<audio>vs<audio> What differs?"}, {"role": "assistant", "content": "The second is louder."}], "audios": ["a.wav", "b.wav"]}
{"messages": [{"role": "user", "content": "<audio>Caption."}, {"role": "assistant", "content": "Rain."}], "audios": "c.wav", "task": "ac", "id": "c"}
"#;
    let opts = ReadOptions {
        on_bad: OnBad::Error,
        default_task: Some(Task::Adc),
    };
    let (s, _) = read(text, &opts).unwrap();
    assert_eq!(s[0].task, Task::Adc);
    assert_eq!(s[0].system.as_deref(), Some("S"));
    assert_eq!(s[0].target, "The second is louder.");
    assert_eq!(
        s[0].user_parts(&Prompts::default()).unwrap(),
        vec![
            PromptPart::Audio(0),
            PromptPart::Text("vs".into()),
            PromptPart::Audio(1),
            PromptPart::Text("What differs?".into())
        ]
    );
    assert_eq!((s[1].task.clone(), s[1].id.as_str()), (Task::Ac, "c"));
    assert_eq!(s[1].audio, vec![PathBuf::from("/m/c.wav")]);
    // Without a default task, a swift line naming none is an error.
    let e = read(text, &ReadOptions::default()).unwrap_err();
    assert_eq!(where_(&e).1, "task");
}

#[test]
fn errors_name_file_line_and_field() {
    let cases: &[(&str, usize, &str)] = &[
        ("{\"task\": \"ac\", \"audio\": \"a.wav\"", 1, ""),
        ("\n{\"task\": \"ac\", \"audio\": \"a.wav\"}", 2, "target"),
        ("{\"task\": \"ac\", \"audio\": \"a.wav\", \"target\": \"  \"}", 1, "target"),
        ("{\"task\": \"ac\", \"target\": \"x\"}", 1, "audio"),
        ("{\"task\": \"ac\", \"audio\": [], \"target\": \"x\"}", 1, "audio"),
        ("{\"task\": \"ac\", \"audio\": [\"a\", 3], \"target\": \"x\"}", 1, "audio[1]"),
        ("{\"task\": 1, \"audio\": \"a\", \"target\": \"x\"}", 1, "task"),
        ("{\"task\": \"ac\", \"audio\": \"a\", \"target\": [\"x\"]}", 1, "target"),
        ("{\"task\": \"ac\", \"audio\": \"a\", \"target\": \"x\", \"taregt\": 1}", 1, "taregt"),
        ("{\"task\": \"ac\", \"audio\": \"a\", \"prompt\": \"<audio><audio>\", \"target\": \"x\"}", 1, "prompt"),
        ("[1, 2]", 1, ""),
        (
            r#"{"messages": [{"role": "user", "content": "<audio>"}, {"role": "assistant", "content": "x"}], "audios": ["a", "b"], "task": "acc"}"#,
            1,
            "messages[0].content",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "<audio>"}], "audios": ["a"], "task": "ac"}"#,
            1,
            "messages",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "<audio>"}, {"role": "assistant", "content": ""}], "audios": ["a"], "task": "ac"}"#,
            1,
            "messages[1].content",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "<audio>"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "more"}, {"role": "assistant", "content": "y"}], "audios": ["a"], "task": "ac"}"#,
            1,
            "messages[2].role",
        ),
        (
            r#"{"messages": [{"role": "robot", "content": "<audio>"}], "audios": ["a"], "task": "ac"}"#,
            1,
            "messages[0].role",
        ),
        (
            "{\"id\": \"a\", \"task\": \"ac\", \"audio\": \"a\", \"target\": \"x\"}\n{\"id\": \"a\", \"task\": \"ac\", \"audio\": \"b\", \"target\": \"y\"}",
            2,
            "id",
        ),
    ];
    for (text, line, field) in cases {
        let e = err(text);
        let (l, f, msg) = where_(&e);
        assert_eq!((l, f.as_str()), (*line, *field), "{text} -> {msg}");
        assert!(
            msg.starts_with(&format!("/m/train.jsonl:{line}: ")),
            "{msg}"
        );
        if !field.is_empty() {
            assert!(msg.contains(&format!("field `{field}`")), "{msg}");
        }
    }
    // Not UTF-8.
    let bytes = b"{\"task\": \"ac\", \"audio\": \"a\", \"target\": \"\xff\"}\n";
    let e =
        read_manifest_from(&bytes[..], Path::new("x.jsonl"), &ReadOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("x.jsonl:1: malformed JSON: not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn skip_mode_reports_bad_lines() {
    let text = "{\"task\": \"ac\", \"audio\": \"a\", \"target\": \"ok\"}\nnot json\n{\"task\": \"ac\", \"audio\": \"b\"}\n{\"task\": \"ac\", \"audio\": \"c\", \"target\": \"ok too\"}\n";
    let opts = ReadOptions {
        on_bad: OnBad::Skip,
        default_task: None,
    };
    let (s, skipped) = read(text, &opts).unwrap();
    assert_eq!(
        s.iter().map(|s| s.source.line).collect::<Vec<_>>(),
        vec![1, 4]
    );
    assert_eq!(
        skipped.iter().map(|k| k.location.line).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(
        skipped[1].reason.contains("field `target`: missing target"),
        "{}",
        skipped[1].reason
    );
}

#[test]
fn write_then_read_roundtrip_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clips/a.wav");
    std::fs::create_dir_all(wav.parent().unwrap()).unwrap();
    std::fs::write(&wav, b"not really audio").unwrap();
    let src = dir.path().join("in.jsonl");
    std::fs::write(
        &src,
        "{\"task\": \"acc\", \"audio\": [\"clips/a.wav\", \"clips/missing.wav\"], \"prompt\": \"P\", \"target\": \"t\", \"references\": [\"r\"]}\n",
    )
    .unwrap();
    let (samples, _) = read_manifest(&src, OnBad::Error).unwrap();
    let missing = missing_audio(&samples);
    assert_eq!(missing.len(), 1);
    assert!(missing[0].1.ends_with("clips/missing.wav"));
    let line = samples[0].to_native(dir.path()).unwrap();
    assert_eq!(line.audio, vec!["clips/a.wav", "clips/missing.wav"]);
    assert!(to_jsonl(&line).starts_with("{\"id\":\"in:1\",\"task\":\"acc\""));
    let out = dir.path().join("out.jsonl");
    write_manifest(&out, &[line]).unwrap();
    let (again, _) = read_manifest(&out, OnBad::Error).unwrap();
    assert_eq!(again[0].audio, samples[0].audio);
    assert_eq!(
        (
            &again[0].id,
            &again[0].task,
            &again[0].prompt,
            &again[0].target,
            &again[0].references
        ),
        (
            &samples[0].id,
            &samples[0].task,
            &samples[0].prompt,
            &samples[0].target,
            &samples[0].references
        )
    );
    let e = read_manifest(&dir.path().join("nope.jsonl"), OnBad::Skip).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}
