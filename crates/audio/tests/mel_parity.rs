//! Parity with openai-whisper (`log_mel_spectrogram`, `mel_filters.npz`) and Hugging Face's
//! `WhisperFeatureExtractor`, on the fixtures of `scripts/make_audio_fixtures.py`.
//!
//! Run with `--nocapture` to see the measured differences.

mod common;

use audio::{
    log_mel_spectrogram, mel_filters, model_features, pad_or_trim, LongAudio, Mel, CHUNK_FRAMES,
    CHUNK_SAMPLES, HOP_LENGTH,
};
use common::{max_abs_diff, Tensor, Tensors};

/// Whisper parity budget on every value of every mel.
const MEL_TOL: f32 = 1e-4;

#[test]
fn filters_equal_whisper_npz() {
    let t = Tensors::load("mel_filters.safetensors");
    for n_mels in [80, 128] {
        let reference = t.f32(&format!("mel_{n_mels}"));
        assert_eq!(reference.shape, vec![n_mels, 201]);
        let ours = mel_filters(n_mels).expect("filters");
        assert_eq!((ours.n_mels, ours.n_freqs), (n_mels, 201));
        let d = max_abs_diff(&ours.data, &reference.data);
        let exact = ours
            .data
            .iter()
            .zip(&reference.data)
            .filter(|(a, b)| a.to_bits() == b.to_bits())
            .count();
        println!(
            "mel_{n_mels}: max abs diff {d:e}, {exact}/{} weights bit-identical",
            reference.data.len()
        );
        assert!(d <= 1e-6, "mel_{n_mels}: max abs diff {d:e}");
    }
}

/// Every clip in the fixture file: the names of its `<clip>.audio` tensors.
fn clips(t: &Tensors) -> Vec<String> {
    let clips: Vec<String> = t
        .names()
        .iter()
        .filter_map(|n| n.strip_suffix(".audio").map(str::to_string))
        .collect();
    assert!(clips.len() >= 5, "too few clips in the fixture: {clips:?}");
    clips
}

/// Our frames `[0, frames)` of mel bin rows against a reference `[n_mels, ref_frames]`.
fn head_diff(ours: &Mel, reference: &Tensor<f32>, frames: usize) -> f32 {
    let (n_mels, ref_frames) = (reference.shape[0], reference.shape[1]);
    assert_eq!(ours.n_mels, n_mels);
    assert!(frames <= ref_frames && frames <= ours.n_frames);
    (0..n_mels)
        .map(|m| {
            let r = &reference.data[m * ref_frames..m * ref_frames + frames];
            max_abs_diff(&ours.row(m)[..frames], r)
        })
        .fold(0.0, f32::max)
}

/// A stored 30 s mel is `head` (first frames) plus a constant `tail` for the remaining
/// frames: compare all 3000 of ours against that.
fn pad30_diff(ours: &Mel, head: &Tensor<f32>, tail: f32) -> f32 {
    assert_eq!(ours.n_frames, CHUNK_FRAMES);
    let stored = head.shape[1];
    let mut d = head_diff(ours, head, stored);
    for m in 0..ours.n_mels {
        for &v in &ours.row(m)[stored..] {
            d = d.max((v - tail).abs());
        }
    }
    d
}

#[test]
fn log_mel_matches_whisper_on_every_clip() {
    let t = Tensors::load("mel_reference.safetensors");
    let mut worst = 0f32;
    for clip in clips(&t) {
        let audio = t.f32(&format!("{clip}.audio")).data;
        let mut line = format!("{clip:>12} ({:>6} samples):", audio.len());
        for n_mels in [80, 128] {
            let reference = t.f32(&format!("{clip}.mel{n_mels}"));
            let ours = log_mel_spectrogram(&audio, n_mels).expect("mel");
            assert_eq!(
                vec![ours.n_mels, ours.n_frames],
                reference.shape,
                "{clip} mel{n_mels} shape"
            );
            let d = max_abs_diff(&ours.data, &reference.data);
            line += &format!("  mel{n_mels} {d:.2e}");
            assert!(d <= MEL_TOL, "{clip} mel{n_mels}: max abs diff {d:e}");
            worst = worst.max(d);
        }
        println!("{line}");
    }
    println!("worst whisper log_mel diff: {worst:e}");
}

#[test]
fn padded_30s_and_model_features_match_reference() {
    let t = Tensors::load("mel_reference.safetensors");
    let mut checked = 0;
    for clip in clips(&t) {
        let audio = t.f32(&format!("{clip}.audio")).data;
        let mask_sum = t.i64(&format!("{clip}.feature_mask_sum")).data[0];
        for n_mels in [80, 128] {
            let feats = model_features(&audio, n_mels, LongAudio::Error).expect("features");
            assert_eq!(
                feats.valid_frames as i64, mask_sum,
                "{clip}: valid frames vs the reference attention mask"
            );
            assert_eq!(feats.truncated_from, None);

            let mut forms = vec![format!("{clip}.mel{n_mels}_pad30")];
            if n_mels == 80 {
                forms.push(format!("{clip}.hf_mel80"));
            }
            for name in forms.iter().filter(|n| t.has(n)) {
                let head = t.f32(name);
                let tail = t.f32(&format!("{name}_tail")).data[0];
                let full = log_mel_spectrogram(&pad_or_trim(&audio, CHUNK_SAMPLES), n_mels)
                    .expect("30 s mel");
                let d_full = pad30_diff(&full, &head, tail);
                // The frames the encoder reads: [0, L + 2).
                let need = (feats.valid_frames + 2).min(CHUNK_FRAMES);
                let d_feat = head_diff(&feats.mel, &head, need);
                println!(
                    "{name:>22}: 30 s mel (3000 frames) {d_full:.2e}; \
                     model_features frames [0, {need}) {d_feat:.2e}"
                );
                assert!(d_full <= MEL_TOL, "{name}: 30 s mel diff {d_full:e}");
                assert!(d_feat <= MEL_TOL, "{name}: model_features diff {d_feat:e}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "no padded reference mels found");
}

/// Deterministic test signal: a chirp over white-ish noise, so every mel bin has energy and
/// no two frames are alike.
fn signal(n: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f64 / 16_000.0;
            let chirp = (2.0 * std::f64::consts::PI * (100.0 + 120.0 * t) * t).sin() as f32;
            0.4 * chirp + 0.05 * noise
        })
        .collect()
}

/// `model_features` equals the full 30 s computation on every frame the encoder reads, for
/// lengths from one sample to past 30 s (truncated).
#[test]
fn model_features_equal_padded_30s_frames() {
    let lengths = [
        1,
        100,
        159,
        160,
        161,
        200,
        201,
        517,
        16_000,
        16_001,
        160_123,
        CHUNK_SAMPLES - 481,
        CHUNK_SAMPLES - 321,
        CHUNK_SAMPLES - 160,
        CHUNK_SAMPLES - 1,
        CHUNK_SAMPLES,
        CHUNK_SAMPLES + 1,
        CHUNK_SAMPLES + 40_000,
    ];
    let long = signal(*lengths.iter().max().unwrap_or(&0));
    for n_mels in [80, 128] {
        for &n in &lengths {
            let x = &long[..n];
            let feats = model_features(x, n_mels, LongAudio::Truncate).expect("features");
            let kept = n.min(CHUNK_SAMPLES);
            assert_eq!(feats.valid_frames, kept.div_ceil(HOP_LENGTH), "n = {n}");
            assert_eq!(
                feats.truncated_from,
                (n > CHUNK_SAMPLES).then_some(n),
                "n = {n}"
            );
            assert_eq!(
                feats.mel.n_frames,
                (feats.valid_frames + 3).min(CHUNK_FRAMES)
            );
            let full = log_mel_spectrogram(&pad_or_trim(x, CHUNK_SAMPLES), n_mels).expect("mel");
            let need = (feats.valid_frames + 2).min(CHUNK_FRAMES);
            let d = (0..n_mels)
                .map(|m| max_abs_diff(&feats.mel.row(m)[..need], &full.row(m)[..need]))
                .fold(0.0, f32::max);
            assert!(d <= 1e-6, "n = {n}, n_mels = {n_mels}: diff {d:e}");
            if n_mels == 128 {
                println!(
                    "n = {n:>6}: L = {:>4}, frames [0, {need}) max diff {d:e}",
                    feats.valid_frames
                );
            }
        }
    }
}
