//! Unreadable, empty, truncated, corrupt and unsupported files: each must fail with an error
//! that names the file and says what is wrong with it, never panic and never return pixels.

mod common;

use std::path::Path;

use common::{image_path, png, processor, temp_file};
use vision::{decode_file, Error};

/// Decodes `path`, expecting an error; checks its message names the file.
fn expect_error(path: &Path) -> Error {
    let err = match decode_file(path) {
        Ok(img) => panic!(
            "{}: decoded a {}x{} image from a bad file",
            path.display(),
            img.width(),
            img.height()
        ),
        Err(e) => e,
    };
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    // The processor's file entry point reports the same failure.
    assert!(processor().preprocess_files(&[path]).is_err());
    err
}

#[test]
fn missing_file() {
    let path = std::env::temp_dir().join("vision-test-definitely-missing.png");
    let err = expect_error(&path);
    assert!(matches!(err, Error::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot read"));
}

#[test]
fn directory() {
    let err = expect_error(&std::env::temp_dir());
    assert!(matches!(err, Error::Unreadable { .. }), "{err:?}");
}

#[test]
fn empty_file() {
    let path = temp_file("empty", "empty.png", &[]);
    let err = expect_error(&path);
    assert!(matches!(err, Error::EmptyFile { .. }), "{err:?}");
    assert!(err.to_string().contains("empty"));
}

#[test]
fn text_named_png() {
    let path = temp_file("text", "notes.png", b"this is not an image\n");
    let err = expect_error(&path);
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("unsupported image format"));
}

#[test]
fn unsupported_format_is_named() {
    // A GIF header: recognised, but not a format this crate decodes.
    let path = temp_file("gif", "anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    let err = expect_error(&path);
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("Gif"), "{err}");
}

#[test]
fn truncated_png() {
    let bytes = std::fs::read(image_path("alpha")).unwrap();
    for (i, keep) in [bytes.len() / 2, 40, 12].into_iter().enumerate() {
        let path = temp_file(&format!("trunc-png-{i}"), "cut.png", &bytes[..keep]);
        let err = expect_error(&path);
        assert!(
            matches!(err, Error::Truncated { .. }),
            "{keep} bytes: {err:?}"
        );
    }
}

#[test]
fn truncated_jpeg_and_webp() {
    for name in ["wide", "large"] {
        let bytes = std::fs::read(image_path(name)).unwrap();
        let file = image_path(name);
        let ext = file.extension().unwrap().to_str().unwrap();
        for (i, keep) in [30, bytes.len() / 2, bytes.len() - 2]
            .into_iter()
            .enumerate()
        {
            let dir = format!("trunc-{name}-{i}");
            let path = temp_file(&dir, &format!("cut.{ext}"), &bytes[..keep]);
            let err = expect_error(&path);
            assert!(
                matches!(err, Error::Truncated { .. }),
                "{name} {keep}: {err:?}"
            );
        }
    }
}

#[test]
fn corrupt_png_checksum() {
    let mut bytes = png(2, 2, 8, 2, &[vec![1; 6], vec![2; 6]], &[]);
    bytes[29] ^= 0xff; // inside the IHDR's CRC
    let path = temp_file("crc", "bad-crc.png", &bytes);
    let err = expect_error(&path);
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
}

#[test]
fn extreme_aspect_ratio_names_the_file() {
    // 201 x 1: smart_resize refuses it; the file entry point says which file.
    let bytes = png(201, 1, 8, 0, &[vec![128; 201]], &[]);
    let path = temp_file("aspect", "strip.png", &bytes);
    assert!(decode_file(&path).is_ok());
    let err = processor().preprocess_files(&[&path]).unwrap_err();
    println!("{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    match err {
        Error::InFile { source, .. } => {
            assert!(matches!(*source, Error::AspectRatio { .. }), "{source:?}")
        }
        other => panic!("{other:?}"),
    }
}
