//! The mel-feature cache on a generated WAV.

use audio::LongAudio;
use data::pairs::{write_wav, WavFormat};
use data::{CacheStats, FeatureCache};

fn tone(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.4 * (i as f32 * 0.07).sin()).collect()
}

#[test]
fn hit_miss_corrupt_and_invalidation() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clip.wav");
    write_wav(&wav, &tone(16_000), WavFormat::Float32).unwrap();
    let cache = FeatureCache::new(dir.path().join("cache")).unwrap();
    let direct =
        audio::model_features(&audio::load_mono_16k(&wav).unwrap(), 128, LongAudio::Error).unwrap();

    let a = cache.get_or_compute(&wav, 128, LongAudio::Error).unwrap();
    assert_eq!(a, direct);
    assert_eq!(
        cache.stats(),
        CacheStats {
            misses: 1,
            ..Default::default()
        }
    );
    let b = cache.get_or_compute(&wav, 128, LongAudio::Error).unwrap();
    assert_eq!(b, direct);
    assert_eq!(cache.stats().hits, 1);

    // Another n_mels or policy is another entry.
    let c = cache.get_or_compute(&wav, 80, LongAudio::Error).unwrap();
    assert_eq!(c.mel.n_mels, 80);
    cache
        .get_or_compute(&wav, 128, LongAudio::Truncate)
        .unwrap();
    assert_eq!(cache.stats().misses, 3);

    // A bit flip, a truncation, garbage: recomputed, not trusted.
    let entry = cache
        .entry_for(&wav, 128, LongAudio::Error)
        .unwrap()
        .unwrap();
    let good = std::fs::read(&entry).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    for bad in [flipped, good[..good.len() - 3].to_vec(), b"junk".to_vec()] {
        std::fs::write(&entry, &bad).unwrap();
        assert_eq!(
            cache.get_or_compute(&wav, 128, LongAudio::Error).unwrap(),
            direct
        );
        assert_eq!(std::fs::read(&entry).unwrap(), good, "entry rewritten");
    }
    assert_eq!(cache.stats().corrupt, 3);

    // A changed file (size and mtime) gets a new entry with its own features.
    write_wav(&wav, &tone(24_000), WavFormat::Float32).unwrap();
    let d = cache.get_or_compute(&wav, 128, LongAudio::Error).unwrap();
    assert_eq!(d.valid_frames, 150);
    assert_eq!(cache.stats().misses, 4);
    // No temporary files are left behind.
    for sub in std::fs::read_dir(dir.path().join("cache")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            assert!(name.ends_with(".mel"), "{name}");
        }
    }
}

#[test]
fn errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::new(dir.path()).unwrap();
    let e = cache
        .get_or_compute(&dir.path().join("none.wav"), 128, LongAudio::Error)
        .unwrap_err();
    assert!(e.to_string().contains("none.wav"), "{e}");
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"RIFF garbage").unwrap();
    let e = cache
        .get_or_compute(&bad, 128, LongAudio::Error)
        .unwrap_err();
    assert!(matches!(e, data::Error::Audio(_)), "{e}");
}
