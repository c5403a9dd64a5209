//! Manifest reading (both forms), its errors, skipping, and the native writer.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use data::manifest::{missing_media, read_manifest_from, to_jsonl};
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
    for (text, line, field) in cases.iter().chain(MEDIA_ERRORS) {
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
    let missing = missing_media(&samples);
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].1, "audio[1]");
    assert!(missing[0].2.ends_with("clips/missing.wav"));
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

/// Errors of lines with images and videos: (line text, line, field).
const MEDIA_ERRORS: &[(&str, usize, &str)] = &[
    // No media at all (native: named `audio`; ms-swift: `audios`).
    (
        r#"{"task": "ac", "audio": null, "target": "x"}"#,
        1,
        "audio",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "x"}], "task": "ac"}"#,
        1,
        "audios",
    ),
    // Empty lists where given, even beside other media.
    (
        r#"{"task": "ac", "images": [], "target": "x"}"#,
        1,
        "images",
    ),
    (
        r#"{"task": "ac", "audio": "a", "videos": [], "target": "x"}"#,
        1,
        "videos",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<audio>"}, {"role": "assistant", "content": "x"}], "audios": ["a"], "images": [], "task": "ac"}"#,
        1,
        "images",
    ),
    // Bad entries.
    (
        r#"{"task": "ac", "images": ["a.png", 3], "target": "x"}"#,
        1,
        "images[1]",
    ),
    (
        r#"{"task": "ac", "videos": ["  "], "target": "x"}"#,
        1,
        "videos[0]",
    ),
    (
        r#"{"task": "ac", "images": {"a": 1}, "target": "x"}"#,
        1,
        "images",
    ),
    // Unknown keys: the chat form's `audios` is not a native key, nor `image`.
    (
        r#"{"task": "ac", "image": "a.png", "target": "x"}"#,
        1,
        "image",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<image>"}, {"role": "assistant", "content": "x"}], "image": ["a"], "task": "ac"}"#,
        1,
        "image",
    ),
    // Tags in a turn other than the user's.
    (
        r#"{"messages": [{"role": "system", "content": "See <image>"}, {"role": "user", "content": "<image>"}, {"role": "assistant", "content": "x"}], "images": ["a"], "task": "ac"}"#,
        1,
        "messages[0].content",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<video>"}, {"role": "assistant", "content": "x <video>"}], "videos": ["a"], "task": "ac"}"#,
        1,
        "messages[1].content",
    ),
];

/// Lines whose tag counts do not fit their files: (line text, field, the message's words).
const TAG_ERRORS: &[(&str, &str, &str)] = &[
    // Native: per kind, none or one per file.
    (
        r#"{"task": "ac", "images": ["a.png", "b.png"], "prompt": "<image> and?", "target": "x"}"#,
        "prompt",
        "1 <image> tag(s) for 2 image file(s)",
    ),
    (
        r#"{"task": "ac", "audio": "a.wav", "prompt": "<audio><video>", "target": "x"}"#,
        "prompt",
        "1 <video> tag(s) for 0 video file(s)",
    ),
    (
        r#"{"task": "ac", "audio": "a.wav", "videos": "v.mp4", "prompt": "<audio><video><video>", "target": "x"}"#,
        "prompt",
        "2 <video> tag(s) for 1 video file(s)",
    ),
    (
        r#"{"task": "ac", "audio": ["a.wav", "b.wav"], "images": "i.png", "prompt": "<image><audio>", "target": "x"}"#,
        "prompt",
        "1 <audio> tag(s) for 2 audio file(s)",
    ),
    // ms-swift: exactly one per file, for every kind.
    (
        r#"{"messages": [{"role": "user", "content": "<audio> What is shown?"}, {"role": "assistant", "content": "x"}], "audios": ["a"], "images": ["i"], "task": "ac"}"#,
        "messages[0].content",
        "0 <image> tag(s) for 1 image file(s)",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<image><image>"}, {"role": "assistant", "content": "x"}], "images": ["i"], "task": "ac"}"#,
        "messages[0].content",
        "2 <image> tag(s) for 1 image file(s)",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<video>"}, {"role": "assistant", "content": "x"}], "videos": ["v1", "v2"], "task": "ac"}"#,
        "messages[0].content",
        "1 <video> tag(s) for 2 video file(s)",
    ),
    (
        r#"{"messages": [{"role": "user", "content": "<image><audio>"}, {"role": "assistant", "content": "x"}], "images": ["i"], "task": "ac"}"#,
        "messages[0].content",
        "1 <audio> tag(s) for 0 audio file(s)",
    ),
];

#[test]
fn tag_count_errors_name_tag_counts_and_field() {
    for (text, field, words) in TAG_ERRORS {
        let e = err(text);
        let (l, f, msg) = where_(&e);
        assert_eq!((l, f.as_str()), (1, *field), "{text} -> {msg}");
        assert!(
            msg.starts_with(&format!("/m/train.jsonl:1: field `{field}`: ")),
            "{msg}"
        );
        assert!(msg.contains(words), "{text} -> {msg}");
    }
    // The empty-list and no-media messages say what is wrong.
    let e = err(r#"{"task": "ac", "images": [], "target": "x"}"#).to_string();
    assert!(e.contains("the list is empty"), "{e}");
    let e = err(r#"{"task": "ac", "target": "x"}"#).to_string();
    assert!(
        e.contains("no media") && e.contains("audio, images, videos"),
        "{e}"
    );
}

#[test]
fn native_lines_with_images_and_videos() {
    use PromptPart::*;
    let text = r#"{"task": "vqa", "images": "cat.png", "prompt": "What is it?", "target": "a cat"}
{"task": "vqa", "videos": ["v/a.mp4", "/abs/b.mp4"], "prompt": "Compare <video> with <video>.", "target": "faster"}
{"task": "avqa", "audio": "a.wav", "images": ["x.png", "y.png"], "prompt": "Which picture makes this sound?", "target": "the first"}
{"task": "avqa", "audio": "a.wav", "images": ["x.png", "y.png"], "videos": "z.mp4", "prompt": "Is <image> or <image> the source?", "target": "the second"}
{"task": "ac", "audio": "a.wav", "images": "p.png", "prompt": "Hear <audio>, see <image>: match?", "target": "yes"}
"#;
    let (s, skipped) = read(text, &ReadOptions::default()).unwrap();
    assert!(skipped.is_empty());
    let prompts = Prompts::default();
    // Images only, no tags: the image first.
    assert!(s[0].audio.is_empty() && s[0].videos.is_empty());
    assert_eq!(s[0].images, vec![PathBuf::from("/m/cat.png")]);
    assert_eq!(s[0].task, Task::Custom("vqa".into()));
    assert_eq!(
        s[0].user_parts(&prompts).unwrap(),
        vec![Image(0), Text("What is it?".into())]
    );
    // Videos at their tags, paths resolved like audio.
    assert_eq!(
        s[1].videos,
        vec![PathBuf::from("/m/v/a.mp4"), PathBuf::from("/abs/b.mp4")]
    );
    assert_eq!(
        s[1].user_parts(&prompts).unwrap(),
        vec![
            Text("Compare".into()),
            Video(0),
            Text("with".into()),
            Video(1),
            Text(".".into())
        ]
    );
    // Audio and images without tags: audio, images, then the text.
    assert_eq!(s[2].audio, vec![PathBuf::from("/m/a.wav")]);
    assert_eq!(
        s[2].user_parts(&prompts).unwrap(),
        vec![
            Audio(0),
            Image(0),
            Image(1),
            Text("Which picture makes this sound?".into())
        ]
    );
    // Images tagged, audio and video not: the untagged kinds first (audio, then video).
    assert_eq!(
        s[3].user_parts(&prompts).unwrap(),
        vec![
            Audio(0),
            Video(0),
            Text("Is".into()),
            Image(0),
            Text("or".into()),
            Image(1),
            Text("the source?".into())
        ]
    );
    let c = s[3].media_counts();
    assert_eq!((c.audio, c.images, c.videos, c.total()), (1, 2, 1, 4));
    // Both kinds tagged.
    assert_eq!(
        s[4].user_parts(&prompts).unwrap(),
        vec![
            Text("Hear".into()),
            Audio(0),
            Text(", see".into()),
            Image(0),
            Text(": match?".into())
        ]
    );
}

#[test]
fn swift_lines_with_images_and_videos() {
    use PromptPart::*;
    let text = r#"{"messages": [{"role": "user", "content": "<image>What is this?"}, {"role": "assistant", "content": "A cat."}], "images": ["cat.png"]}
{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Does <audio> fit <image>?"}, {"role": "assistant", "content": "Yes."}], "audios": ["a.wav"], "images": ["b.jpg"], "id": "m"}
{"messages": [{"role": "user", "content": "<video><image> Same scene?"}, {"role": "assistant", "content": "No."}], "videos": "v.mp4", "images": ["i.png"]}
"#;
    let opts = ReadOptions {
        on_bad: OnBad::Error,
        default_task: Some(Task::Custom("vqa".into())),
    };
    let (s, _) = read(text, &opts).unwrap();
    let prompts = Prompts::default();
    assert_eq!(s[0].images, vec![PathBuf::from("/m/cat.png")]);
    assert!(s[0].audio.is_empty());
    assert_eq!(s[0].target, "A cat.");
    assert_eq!(
        s[0].user_parts(&prompts).unwrap(),
        vec![Image(0), Text("What is this?".into())]
    );
    assert_eq!(s[1].id, "m");
    assert_eq!(s[1].system.as_deref(), Some("S"));
    assert_eq!(
        (&s[1].audio, &s[1].images),
        (
            &vec![PathBuf::from("/m/a.wav")],
            &vec![PathBuf::from("/m/b.jpg")]
        )
    );
    assert_eq!(
        s[1].user_parts(&prompts).unwrap(),
        vec![
            Text("Does".into()),
            Audio(0),
            Text("fit".into()),
            Image(0),
            Text("?".into())
        ]
    );
    assert_eq!(s[2].videos, vec![PathBuf::from("/m/v.mp4")]);
    assert_eq!(
        s[2].user_parts(&prompts).unwrap(),
        vec![Video(0), Image(0), Text("Same scene?".into())]
    );
}

#[test]
fn configured_prompt_tags_are_checked() {
    let text = r#"{"task": "look", "images": ["a.png", "b.png"], "target": "x"}"#;
    let (s, _) = read(text, &ReadOptions::default()).unwrap();
    let mut prompts = Prompts::default();
    prompts
        .custom
        .insert("look".into(), "<image> versus <image>?".into());
    assert_eq!(
        s[0].user_parts(&prompts).unwrap(),
        vec![
            PromptPart::Image(0),
            PromptPart::Text("versus".into()),
            PromptPart::Image(1),
            PromptPart::Text("?".into())
        ]
    );
    prompts
        .custom
        .insert("look".into(), "What is <image>?".into());
    let e = s[0].user_parts(&prompts).unwrap_err();
    let (line, field, msg) = where_(&e);
    assert_eq!((line, field.as_str()), (1, "prompt"), "{msg}");
    assert!(
        msg.contains("1 <image> tag(s) for 2 image file(s)"),
        "{msg}"
    );
}

#[test]
fn media_roundtrip_and_missing_media() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["clips/a.wav", "img/a.png", "vid/a.mp4"] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"not really media").unwrap();
    }
    let src = dir.path().join("in.jsonl");
    std::fs::write(
        &src,
        concat!(
            "{\"task\": \"ac\", \"audio\": \"clips/a.wav\", \"target\": \"t\"}\n",
            "{\"task\": \"vqa\", \"images\": [\"img/a.png\", \"img/missing.png\"], \"videos\": \"vid/a.mp4\", \"prompt\": \"<image><image>?\", \"target\": \"t\"}\n",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"<audio><video>\"}, {\"role\": \"assistant\", \"content\": \"u\"}], \"audios\": [\"clips/gone.wav\"], \"videos\": [\"vid/gone.mp4\"], \"task\": \"x\"}\n",
            "{\"task\": \"vqa\", \"videos\": \"vid/frames\", \"images\": \"img\", \"target\": \"t\"}\n",
        ),
    )
    .unwrap();
    // A video may be a folder of frames; an image may not be a folder.
    std::fs::create_dir_all(dir.path().join("vid/frames")).unwrap();
    let (samples, _) = read_manifest(&src, OnBad::Error).unwrap();
    // Every missing file of every kind, with its native field name.
    let missing: Vec<(usize, String, bool)> = missing_media(&samples)
        .into_iter()
        .map(|(loc, field, p)| (loc.line, field, p.starts_with(dir.path())))
        .collect();
    assert_eq!(
        missing,
        vec![
            (2, "images[1]".to_string(), true),
            (3, "audio[0]".to_string(), true),
            (3, "videos[0]".to_string(), true),
            (4, "images[0]".to_string(), true),
        ]
    );
    // Written back: relative paths, empty kinds left out (an audio-only line as before).
    let lines: Vec<_> = samples
        .iter()
        .map(|s| s.to_native(dir.path()).unwrap())
        .collect();
    assert_eq!(
        to_jsonl(&lines[0]),
        r#"{"id":"in:1","task":"ac","audio":["clips/a.wav"],"target":"t"}"#
    );
    assert_eq!(
        to_jsonl(&lines[1]),
        r#"{"id":"in:2","task":"vqa","images":["img/a.png","img/missing.png"],"videos":["vid/a.mp4"],"prompt":"<image><image>?","target":"t"}"#
    );
    assert_eq!(
        to_jsonl(&lines[2]),
        r#"{"id":"in:3","task":"x","audio":["clips/gone.wav"],"videos":["vid/gone.mp4"],"prompt":"<audio><video>","target":"u"}"#
    );
    let out = dir.path().join("out.jsonl");
    write_manifest(&out, &lines).unwrap();
    let (again, _) = read_manifest(&out, OnBad::Error).unwrap();
    for (a, b) in again.iter().zip(&samples) {
        assert_eq!(
            (&a.audio, &a.images, &a.videos, &a.prompt, &a.target),
            (&b.audio, &b.images, &b.videos, &b.prompt, &b.target)
        );
        assert_eq!(
            a.user_parts(&Prompts::default()).ok(),
            b.user_parts(&Prompts::default()).ok()
        );
    }
}

#[test]
fn pair_sources_are_audio_only() {
    let text = "{\"task\": \"ac\", \"audio\": \"a.wav\", \"target\": \"rain\"}\n{\"task\": \"ac\", \"audio\": \"a.wav\", \"images\": \"p.png\", \"target\": \"rain\"}\n";
    let (s, _) = read(text, &ReadOptions::default()).unwrap();
    let clip = data::Clip::from_sample(&s[0]).unwrap();
    assert_eq!(clip.path, PathBuf::from("/m/a.wav"));
    let e = data::Clip::from_sample(&s[1]).unwrap_err();
    assert_eq!(where_(&e).1, "images", "{e}");
}
