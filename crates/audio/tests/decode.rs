//! Decoding the fixture files: the 16 kHz clips must decode to exactly the samples the
//! reference read, and every container/codec must give back the original signal.

mod common;

use audio::{decode_file, downmix, load_mono_16k, Decoded};
use common::{fixture, max_abs_diff, snr_db, Tensors};

fn decode(rel: &str) -> Decoded {
    let path = fixture(rel);
    decode_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn clips_decode_to_the_reference_samples() {
    let t = Tensors::load("mel_reference.safetensors");
    let clips: Vec<String> = t
        .names()
        .iter()
        .filter_map(|n| n.strip_suffix(".audio").map(str::to_string))
        .collect();
    assert!(!clips.is_empty());
    for clip in clips {
        let reference = t.f32(&format!("{clip}.audio")).data;
        let d = decode(&format!("clips/{clip}.wav"));
        assert_eq!((d.sample_rate, d.channels), (16_000, 1), "{clip}");
        assert!(
            d.samples == reference,
            "{clip}: decoded samples differ (max abs diff {:e})",
            max_abs_diff(&d.samples, &reference)
        );
        // Already 16 kHz mono: load_mono_16k must be the identity on it.
        let mono = load_mono_16k(&fixture(&format!("clips/{clip}.wav"))).expect("load");
        assert!(
            mono == reference,
            "{clip}: load_mono_16k changed the samples"
        );
    }
}

/// Per-channel planes of an interleaved stereo buffer.
fn planes(samples: &[f32]) -> [Vec<f32>; 2] {
    [
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    ]
}

/// SNR of `test` against `reference` at the best lag in `-max_lag..=max_lag`, over the
/// overlap: the lag found and the SNR.
fn best_aligned_snr(reference: &[f32], test: &[f32], max_lag: isize) -> (isize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in -max_lag..=max_lag {
        // test[i + lag] against reference[i]
        let start = 0.max(-lag) as usize;
        let end = reference
            .len()
            .min((test.len() as isize - lag).max(0) as usize);
        if end <= start + 1000 {
            continue;
        }
        let r = &reference[start..end];
        let t = &test[(start as isize + lag) as usize..(end as isize + lag) as usize];
        let snr = snr_db(r, t);
        if snr > best.1 {
            best = (lag, snr);
        }
    }
    best
}

#[test]
fn every_format_decodes_to_the_original() {
    let original = Tensors::load("formats/original.safetensors").f32("stereo");
    assert_eq!(original.shape[1], 2);
    let frames = original.shape[0];
    let orig = planes(&original.data);

    // (file, quantisation step = max abs error allowed)
    let lossless: [(&str, f32); 6] = [
        ("pcm_u8.wav", 1.0 / 128.0),
        ("pcm16.wav", 1.0 / 32_768.0),
        ("pcm24.wav", 1.0 / 8_388_608.0),
        ("pcm32.wav", 1.0 / 2_147_483_648.0),
        ("float32.wav", 0.0),
        ("flac16.flac", 1.0 / 32_768.0),
    ];
    for (file, step) in lossless {
        let d = decode(&format!("formats/{file}"));
        assert_eq!((d.sample_rate, d.channels), (44_100, 2), "{file}");
        assert_eq!(d.frames(), frames, "{file}: frame count");
        let err = max_abs_diff(&d.samples, &original.data);
        println!(
            "{file:>12}: {} frames, max abs err {err:.3e} (step {step:.3e})",
            d.frames()
        );
        // One quantisation step, plus float slack for the u8 / 32-bit scalings.
        assert!(err <= step * 1.0001 + 1e-9, "{file}: max abs err {err:e}");
    }

    // Lossy codecs: encoder delay must be trimmed (gapless), and the waveform close.
    // Measured: vorbis 32.2 / 26.7 dB, mp3 30.7 / 26.8 dB (L / R), both exactly 22050
    // frames at lag 0 once symphonia trims the encoder delay and padding.
    for (file, min_snr) in [("vorbis.ogg", 20.0), ("mp3.mp3", 20.0)] {
        let d = decode(&format!("formats/{file}"));
        assert_eq!((d.sample_rate, d.channels), (44_100, 2), "{file}");
        let extra = d.frames() as isize - frames as isize;
        let p = planes(&d.samples);
        let (lag_l, snr_l) = best_aligned_snr(&orig[0], &p[0], 2_000);
        let (lag_r, snr_r) = best_aligned_snr(&orig[1], &p[1], 2_000);
        println!(
            "{file:>12}: {} frames ({extra:+} vs original), best lag {lag_l}/{lag_r}, \
             SNR L {snr_l:.1} dB R {snr_r:.1} dB",
            d.frames()
        );
        // Without gapless trimming mp3 would be ~1100 frames longer and shifted by the
        // encoder delay; these files carry their delay/padding, so both must be exact.
        assert_eq!(extra, 0, "{file}: {extra:+} frames vs the original");
        assert_eq!((lag_l, lag_r), (0, 0), "{file}: misaligned");
        assert!(
            snr_l >= min_snr && snr_r >= min_snr,
            "{file}: SNR {snr_l:.1}/{snr_r:.1} dB"
        );
    }

    // A mono 16 kHz file: exact samples int16 / 32768.
    let d = decode("formats/mono16k.wav");
    assert_eq!((d.sample_rate, d.channels, d.frames()), (16_000, 1, 8_000));
    assert!(d.samples.iter().all(|&s| (s * 32_768.0).fract() == 0.0));
}

#[test]
fn load_mono_16k_resamples_and_downmixes() {
    let original = Tensors::load("formats/original.safetensors").f32("stereo");
    let mono = load_mono_16k(&fixture("formats/float32.wav")).expect("load");
    // 22050 frames at 44.1 kHz -> 8000 at 16 kHz.
    assert_eq!(mono.len(), 8_000);
    let mixed = downmix(&Decoded {
        samples: original.data.clone(),
        channels: 2,
        sample_rate: 44_100,
    });
    let expected = audio::resample(&mixed, 44_100, 16_000).expect("resample");
    assert!(mono == expected);
}

#[test]
fn downmix_is_the_channel_mean() {
    let d = Decoded {
        samples: vec![1.0, 0.0, -0.5, 0.5, 0.25, 0.75],
        channels: 2,
        sample_rate: 8_000,
    };
    assert_eq!(downmix(&d), vec![0.5, 0.0, 0.5]);
    let d3 = Decoded {
        samples: vec![0.3, 0.6, 0.9],
        channels: 3,
        sample_rate: 8_000,
    };
    assert!((downmix(&d3)[0] - 0.6).abs() < 1e-7);
    let mono = Decoded {
        samples: vec![0.1, 0.2],
        channels: 1,
        sample_rate: 8_000,
    };
    assert_eq!(downmix(&mono), vec![0.1, 0.2]);
}
