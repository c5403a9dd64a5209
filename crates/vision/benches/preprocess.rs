//! Front-end throughput on the 700 x 500 WebP fixture (resized to 224 x 140 under the
//! fixtures' max_pixels, and to 700 x 504 under the defaults): decoding, the PIL bicubic
//! resize, rescale + normalise + patchify, and the three together.
//!
//! `cargo bench -p vision --bench preprocess`

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use vision::{decode_file, resize_bicubic, ImageProcessor, ProcessorConfig};

fn bench_preprocess(c: &mut Criterion) {
    let path = testkit::fixtures().join("vision/images/large.webp");
    let img = decode_file(&path).unwrap();
    let small = ImageProcessor::new(ProcessorConfig {
        min_pixels: 56 * 56,
        max_pixels: 28 * 28 * 48,
        ..Default::default()
    })
    .unwrap();
    let default = ImageProcessor::default();

    c.bench_function("decode_webp_700x500", |b| {
        b.iter(|| decode_file(black_box(&path)).unwrap())
    });
    c.bench_function("resize_700x500_to_224x140", |b| {
        b.iter(|| resize_bicubic(black_box(&img), 224, 140))
    });
    c.bench_function("resize_700x500_to_700x504", |b| {
        b.iter(|| resize_bicubic(black_box(&img), 700, 504))
    });
    let resized = small.resize(&img).unwrap();
    c.bench_function("patchify_224x140", |b| {
        b.iter(|| small.patchify(black_box(&resized)).unwrap())
    });
    c.bench_function("preprocess_file_webp_max_pixels_37632", |b| {
        b.iter(|| small.preprocess_files(&[black_box(&path)]).unwrap())
    });
    c.bench_function("preprocess_file_webp_defaults", |b| {
        b.iter(|| default.preprocess_files(&[black_box(&path)]).unwrap())
    });
}

criterion_group!(benches, bench_preprocess);
criterion_main!(benches);
