//! AudioCaps and Clotho CSV conversion.

use std::path::{Path, PathBuf};

use data::convert::{audiocaps, clotho, ConvertOptions, Split};
use data::{Error, Task};

const AUDIOCAPS: &str = "audiocap_id,youtube_id,start_time,caption
91139,r1nicOVtvkQ,130,A woman talks nearby as water pours
58146,UDGBjjwyaqE,20,\"Multiple clanging and clanking sounds, then a man speaks\"
91140,r1nicOVtvkQ,130,Water pouring while a woman speaks
";

const CLOTHO: &str = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5
Santa Motor.wav,\"A machine whines, then stops.\",c2,c3,c4,c5
river.wav,r1,r2,r3,r4,r5
";

fn opts(split: Split) -> ConvertOptions {
    ConvertOptions {
        split,
        audio_dir: PathBuf::from("audio"),
        ..ConvertOptions::default()
    }
}

#[test]
fn audiocaps_train_and_eval() {
    let f = Path::new("train.csv");
    let lines = audiocaps(AUDIOCAPS.as_bytes(), f, &opts(Split::Train)).unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].id.as_deref(), Some("91139"));
    assert_eq!(lines[0].task, Task::Ac);
    assert_eq!(lines[0].audio, vec!["audio/r1nicOVtvkQ_130.wav"]);
    assert_eq!(
        lines[1].target,
        "Multiple clanging and clanking sounds, then a man speaks"
    );
    assert!(lines[0].references.is_empty());

    let lines = audiocaps(AUDIOCAPS.as_bytes(), f, &opts(Split::Eval)).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].id.as_deref(), Some("r1nicOVtvkQ_130.wav"));
    assert_eq!(lines[0].target, "A woman talks nearby as water pours");
    assert_eq!(
        lines[0].references,
        vec!["Water pouring while a woman speaks"]
    );

    let custom = ConvertOptions {
        audio_name: "Y{youtube_id}-{audiocap_id}.flac".into(),
        ..opts(Split::Train)
    };
    let lines = audiocaps(AUDIOCAPS.as_bytes(), f, &custom).unwrap();
    assert_eq!(lines[2].audio, vec!["audio/Yr1nicOVtvkQ-91140.flac"]);
}

#[test]
fn audiocaps_errors() {
    let f = Path::new("bad.csv");
    for pattern in ["{nope}.wav", "{youtube_id.wav", "x}.wav", "fixed.wav"] {
        let o = ConvertOptions {
            audio_name: pattern.into(),
            ..opts(Split::Train)
        };
        let e = audiocaps(AUDIOCAPS.as_bytes(), f, &o).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{pattern}: {e}");
    }
    let missing_col = "audiocap_id,youtube_id,caption\n1,x,c\n";
    let e = audiocaps(missing_col.as_bytes(), f, &opts(Split::Train)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.csv:1: field `start_time`: column missing from the header"
    );
    let empty = "audiocap_id,youtube_id,start_time,caption\n1,x,0,ok\n2,y,0,\n";
    let e = audiocaps(empty.as_bytes(), f, &opts(Split::Train)).unwrap_err();
    assert_eq!(e.to_string(), "bad.csv:3: field `caption`: empty");
    let ragged = "audiocap_id,youtube_id,start_time,caption\n1,x,0\n";
    let e = audiocaps(ragged.as_bytes(), f, &opts(Split::Train)).unwrap_err();
    assert!(e.to_string().starts_with("bad.csv:2: malformed CSV"), "{e}");
}

#[test]
fn clotho_train_and_eval() {
    let f = Path::new("clotho_captions_development.csv");
    let lines = clotho(CLOTHO.as_bytes(), f, &opts(Split::Train)).unwrap();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0].id.as_deref(), Some("Santa Motor.wav#1"));
    assert_eq!(lines[0].target, "A machine whines, then stops.");
    assert_eq!(lines[4].target, "c5");
    assert_eq!(lines[5].audio, vec!["audio/river.wav"]);

    let lines = clotho(CLOTHO.as_bytes(), f, &opts(Split::Eval)).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].id.as_deref(), Some("river.wav"));
    assert_eq!(lines[1].target, "r1");
    assert_eq!(lines[1].references, vec!["r2", "r3", "r4", "r5"]);

    let bad = "file_name,caption_1,caption_2\na.wav,x,\n";
    let e = clotho(bad.as_bytes(), f, &opts(Split::Eval)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "clotho_captions_development.csv:2: field `caption_2`: empty"
    );
}
