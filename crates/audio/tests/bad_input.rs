//! Unreadable, empty, corrupt and truncated files: each must fail with an error that names
//! the file and says what is wrong with it, never panic and never return silence.

mod common;

use std::path::Path;

use audio::{decode_file, load_mono_16k, Error};
use common::{wav_pcm16, TempFile};

/// Decodes `path`, expecting an error; checks its message names the file.
fn expect_error(path: &Path) -> Error {
    let err = match decode_file(path) {
        Ok(d) => panic!(
            "{}: decoded {} samples from a bad file",
            path.display(),
            d.samples.len()
        ),
        Err(e) => e,
    };
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    // load_mono_16k reports the same failure.
    assert!(load_mono_16k(path).is_err());
    err
}

fn tone(frames: usize) -> Vec<i16> {
    (0..frames)
        .map(|i| ((i as f32 * 0.05).sin() * 8_000.0) as i16)
        .collect()
}

#[test]
fn missing_file() {
    let path = std::env::temp_dir().join("audio-test-definitely-missing.wav");
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
    let f = TempFile::new("empty.wav", &[]);
    let err = expect_error(&f.0);
    assert!(matches!(err, Error::EmptyFile { .. }), "{err:?}");
    assert!(err.to_string().contains("empty"));
}

#[test]
fn random_bytes_named_wav() {
    // xorshift noise: no valid container, whatever sync patterns it happens to contain.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect();
    let f = TempFile::new("noise.wav", &bytes);
    let err = expect_error(&f.0);
    assert!(
        matches!(
            err,
            Error::UnsupportedFormat { .. } | Error::Corrupt { .. } | Error::Truncated { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn text_named_mp3() {
    let text = "This is not an MP3 file, just some text.\n".repeat(50);
    let f = TempFile::new("notes.mp3", text.as_bytes());
    let err = expect_error(&f.0);
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("unsupported container format"));
}

#[test]
fn wav_truncated_in_header() {
    let wav = wav_pcm16(16_000, 1, &tone(1000));
    for cut in [4, 12, 20, 30, 40] {
        let f = TempFile::new(&format!("cut{cut}.wav"), &wav[..cut]);
        let err = expect_error(&f.0);
        // Four bytes ("RIFF") are not yet recognisable as WAV; past that, the WAV reader
        // runs into the end of the file.
        if cut < 12 {
            assert!(
                matches!(err, Error::UnsupportedFormat { .. }),
                "cut at {cut}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, Error::Truncated { .. }),
                "cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn wav_truncated_in_data() {
    let wav = wav_pcm16(16_000, 2, &tone(40_000));
    let f = TempFile::new("halfdata.wav", &wav[..wav.len() / 2 + 1]);
    let err = expect_error(&f.0);
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"));
}

#[test]
fn wav_with_no_samples() {
    let f = TempFile::new("nosamples.wav", &wav_pcm16(16_000, 1, &[]));
    let err = expect_error(&f.0);
    assert!(matches!(err, Error::NoSamples { .. }), "{err:?}");
    assert!(err.to_string().contains("no samples"));
}

#[test]
fn valid_wav_in_temp_dir_decodes() {
    // The control: the same writer's complete output decodes exactly.
    let samples = tone(1234);
    let f = TempFile::new("good.wav", &wav_pcm16(22_050, 1, &samples));
    let d = decode_file(&f.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((d.sample_rate, d.channels), (22_050, 1));
    let expected: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
    assert_eq!(d.samples, expected);
    let mono = load_mono_16k(&f.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        mono.len(),
        (1234.0f64 * 16_000.0 / 22_050.0).round() as usize
    );
}
