//! Front-end throughput on the 700 x 500 WebP fixture (resized to 224 x 140 under the
//! fixtures' max_pixels, and to 700 x 504 under the defaults): decoding, the PIL bicubic
//! resize, rescale + normalise + patchify, and the three together. Videos: decoding the
//! 30-frame 78 x 46 H.264 fixture, and the whole video path (decode, sample 6 frames, resize,
//! patchify) for it and for the 5-frame folder fixture.
//!
//! `cargo bench -p vision --bench preprocess`

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use vision::{
    decode_file, decode_video, resize_bicubic, ImageProcessor, ProcessorConfig, VideoOptions,
    VideoProcessor,
};

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

fn bench_video(c: &mut Criterion) {
    let dir = testkit::fixtures().join("vision/video");
    let clip = dir.join("clip.mp4");
    let frames = dir.join("frames");
    let processor = VideoProcessor::from_model_dir(&testkit::fixtures().join("vision/model"))
        .expect("the fixture model directory");
    let options = VideoOptions {
        min_pixels: Some(3136),
        max_pixels: Some(9408),
        ..Default::default()
    };
    c.bench_function("decode_h264_30_frames_78x46", |b| {
        b.iter(|| decode_video(black_box(&clip)).unwrap())
    });
    c.bench_function("preprocess_video_mp4_6_frames", |b| {
        b.iter(|| {
            processor
                .preprocess_file(black_box(&clip), &options)
                .unwrap()
        })
    });
    c.bench_function("preprocess_video_folder_5_frames", |b| {
        b.iter(|| {
            processor
                .preprocess_file(black_box(&frames), &options)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench_preprocess, bench_video);
criterion_main!(benches);
