//! Front-end throughput: the 30 s log-mel Whisper computes per clip, the variable-length
//! model features of a typical 5 s utterance, and resampling CD-rate audio.
//!
//! `cargo bench -p audio --bench mel`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};

use audio::{log_mel_spectrogram, log_mel_spectrogram_with_threads, model_features, resample};
use audio::{LongAudio, CHUNK_SAMPLES};

/// Deterministic speech-like test signal: a gliding harmonic tone over low-level noise.
fn signal(n: usize, rate: f64) -> Vec<f32> {
    let mut state = 0x853c_49e6_748f_ea9bu64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f64 / rate;
            let f0 = 120.0 + 30.0 * (2.0 * std::f64::consts::PI * 0.5 * t).sin();
            let tone: f64 = (1..6)
                .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            (0.2 * tone) as f32 + 0.02 * noise
        })
        .collect()
}

fn bench_mel(c: &mut Criterion) {
    let x30 = signal(CHUNK_SAMPLES, 16_000.0);
    let mut g = c.benchmark_group("log_mel_spectrogram_30s");
    for n_mels in [80, 128] {
        g.bench_with_input(
            BenchmarkId::new("auto_threads", n_mels),
            &n_mels,
            |b, &m| b.iter(|| log_mel_spectrogram(black_box(&x30), m)),
        );
        g.bench_with_input(BenchmarkId::new("one_thread", n_mels), &n_mels, |b, &m| {
            b.iter(|| log_mel_spectrogram_with_threads(black_box(&x30), m, Some(1)))
        });
    }
    g.finish();

    let x5 = signal(5 * 16_000, 16_000.0);
    c.bench_function("model_features_5s_128", |b| {
        b.iter(|| model_features(black_box(&x5), 128, LongAudio::Error))
    });

    let x44 = signal(10 * 44_100, 44_100.0);
    c.bench_function("resample_44k1_to_16k_10s", |b| {
        b.iter(|| resample(black_box(&x44), 44_100, 16_000))
    });
}

criterion_group!(benches, bench_mel);
criterion_main!(benches);
