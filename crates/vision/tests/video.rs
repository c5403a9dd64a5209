//! Videos against the reference (`scripts/make_video_fixtures.py`: PyAV 18.1 / FFmpeg 8 for
//! decoding, qwen_vl_utils 0.0.14's `fetch_video`, transformers 4.57.6's
//! `Qwen2VLVideoProcessor`, torch 2.11 CPU): decoded frames, container metadata, sampled
//! indices, fetch_video's resized frames, `pixel_values_videos` and `video_grid_thw` for an MP4
//! and a folder of frames, torchvision's resize on uint8 and float32, the config files, and
//! bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{byte_diff, fixture, temp_file, Reference};
use vision::{
    decode_frame_file, decode_video, decode_video_frames, frame_files, probe_video,
    resize_bicubic_torch_f32, resize_bicubic_torch_u8, resize_bicubic_torch_via_f32, Error,
    PixelValues, ProcessorConfig, RgbImage, VideoOptions, VideoProcessor,
};

fn reference() -> Reference {
    Reference::load_file("video/reference.safetensors")
}

fn cases() -> serde_json::Value {
    testkit::read_json(fixture("video/cases.json"))
}

fn clip() -> PathBuf {
    fixture("video/clip.mp4")
}

fn options(case: &str) -> VideoOptions {
    serde_json::from_value(cases()[case]["options"].clone()).unwrap()
}

/// The processor of the fixture model directory (`video_preprocessor_config.json`).
fn model_processor() -> VideoProcessor {
    VideoProcessor::from_model_dir(&fixture("model")).unwrap()
}

/// The fixtures' small processor (max_pixels 3136): it resizes fetch_video's frames again.
fn small_processor() -> VideoProcessor {
    VideoProcessor::new(ProcessorConfig {
        min_pixels: 3136,
        max_pixels: 3136,
        ..ProcessorConfig::video_default()
    })
    .unwrap()
}

/// A `[T, H, W, 3]` uint8 tensor as frames.
fn frames(r: &Reference, name: &str) -> Vec<RgbImage> {
    let t = r.u8(name);
    let (h, w) = (t.shape[1], t.shape[2]);
    t.data
        .chunks_exact(h * w * 3)
        .map(|f| RgbImage::new(w, h, f.to_vec()).unwrap())
        .collect()
}

/// Largest |ours − reference| of `<key>.pixel_values_videos`, after checking grid and shape.
fn compare(ours: &PixelValues, r: &Reference, key: &str) -> f32 {
    let want = r.f32(&format!("{key}.pixel_values_videos"));
    let grids = r.grids(&format!("{key}.video_grid_thw"));
    let ours_grids: Vec<[usize; 3]> = ours.grids.iter().map(|g| g.to_array()).collect();
    assert_eq!(ours_grids, grids, "{key}: video_grid_thw");
    assert_eq!(
        vec![ours.rows(), ours.patch_dim],
        want.shape,
        "{key}: shape"
    );
    let max = ours
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("{key}: {:?} grid {grids:?}: max |diff| {max:e}", want.shape);
    max
}

fn assert_frames_equal(ours: &[RgbImage], want: &[RgbImage], what: &str) {
    assert_eq!(ours.len(), want.len(), "{what}: frame count");
    for (i, (a, b)) in ours.iter().zip(want).enumerate() {
        assert!(a == b, "{what} frame {i}: {:?}", byte_diff(a, b));
    }
}

#[test]
fn decoded_frames_equal_the_reference_readers() {
    // OpenH264 (High profile, B-frames, cropped 78x46) gives FFmpeg's YUV, and the
    // conversion is swscale's: every sample of every frame is equal (measured max |diff| 0).
    let r = reference();
    let (info, ours) = decode_video(&clip()).unwrap();
    assert_eq!(info.frames, 30);
    assert_frames_equal(&ours, &frames(&r, "mp4.frames"), "clip.mp4");
}

#[test]
fn bt709_full_range_streams_convert_as_signalled() {
    // The SPS's VUI says BT.709, full range: swscale's coefficients for it, exactly.
    let r = reference();
    let (_, ours) = decode_video(&fixture("video/clip_bt709_full.mp4")).unwrap();
    assert_frames_equal(&ours, &frames(&r, "bt709.frames"), "clip_bt709_full.mp4");
}

#[test]
fn container_metadata() {
    let info = probe_video(&clip()).unwrap();
    let c = &cases()["mp4"];
    assert_eq!(info.frames, c["frames"].as_u64().unwrap() as usize);
    assert_eq!(info.fps, c["fps"].as_f64().unwrap());
    assert_eq!((info.width, info.height), (78, 46));
    assert_eq!(info.codec, "avc1");
    assert!((info.duration_s - 3.0).abs() < 1e-9, "{}", info.duration_s);
}

#[test]
fn sampled_indices_equal_qwen_vl_utils() {
    let c = cases();
    let want: Vec<usize> = serde_json::from_value(c["mp4"]["indices"].clone()).unwrap();
    let s = options("mp4").sample(30, 10.0).unwrap();
    assert_eq!(s.indices, want);
    assert_eq!(s.sample_fps, c["mp4"]["sample_fps"].as_f64().unwrap());
    let r = reference();
    let idx: Vec<usize> = r
        .i64("mp4.indices")
        .data
        .iter()
        .map(|&i| i as usize)
        .collect();
    assert_eq!(idx, want);

    // nframes with a time range.
    let clip = &c["mp4_clip"];
    let s = options("mp4_clip").sample(30, 10.0).unwrap();
    let want: Vec<usize> = serde_json::from_value(clip["indices"].clone()).unwrap();
    assert_eq!(s.indices, want);
    assert_eq!(
        s.total_frames,
        clip["total_frames"].as_u64().unwrap() as usize
    );
    // nframes / total · fps = 4 / 21 · 10 (serde_json's float parsing may be an ulp off).
    let want_fps = clip["sample_fps"].as_f64().unwrap();
    assert!(
        (s.sample_fps - want_fps).abs() < 1e-12,
        "{} vs {want_fps}",
        s.sample_fps
    );

    // Only the sampled frames are converted; they are the reference's.
    let all = frames(&r, "mp4.frames");
    let (_, some) = decode_video_frames(&fixture("video/clip.mp4"), &[29, 0, 6, 6]).unwrap();
    assert_frames_equal(
        &some,
        &[29, 0, 6, 6].map(|i| all[i].clone()),
        "decode_video_frames",
    );
    assert!(matches!(
        decode_video_frames(&fixture("video/clip.mp4"), &[30]),
        Err(Error::FrameIndex { index: 30, .. })
    ));
}

#[test]
fn mp4_fetch_and_preprocess_equal_the_reference() {
    let r = reference();
    let p = model_processor();
    let opts = options("mp4");
    let fetched = p.fetch_video(&clip(), &opts).unwrap();
    assert_eq!(fetched.indices, [0, 6, 12, 17, 23, 29]);
    assert_eq!(
        (fetched.video_fps, fetched.sample_fps, fetched.total_frames),
        (10.0, 2.0, 30)
    );
    // torchvision v1's resize of uint8 (78x46 -> 84x56, through float32) is reproduced
    // exactly.
    assert_frames_equal(&fetched.frames, &frames(&r, "mp4.fetched"), "fetch_video");
    // Same size for the processor: no second resize; fused normalisation in float32.
    let pv = p.preprocess_fetched(&fetched).unwrap();
    assert_eq!(compare(&pv, &r, "mp4"), 0.0);
    let from_file = p.preprocess_file(&clip(), &opts).unwrap();
    assert_eq!(from_file, pv);
    // Grid and token count without pixels.
    let g = p.grid(6, 56, 84).unwrap();
    assert_eq!(g.to_array(), [3, 4, 6]);
    assert_eq!(g.tokens(2), 18);
}

#[test]
fn processor_resizing_fetched_frames_again() {
    // max_pixels 3136 < 84·56: the processor resizes fetch_video's float frames to 56x28 with
    // torchvision's float kernel, reproduced bit for bit; then the same float32 normalisation.
    let r = reference();
    let fetched = model_processor()
        .fetch_video(&clip(), &options("mp4"))
        .unwrap();
    let pv = small_processor().preprocess_fetched(&fetched).unwrap();
    assert_eq!(compare(&pv, &r, "mp4_small"), 0.0);
}

#[test]
fn processor_on_uint8_frames() {
    // Three decoded frames as uint8 (torchvision v2's uint8 kernel 78x46 -> 56x28, exact; the
    // third frame repeated to fill the last temporal patch).
    let r = reference();
    let src = frames(&r, "mp4.frames");
    let pv = small_processor().preprocess_frames(&src[..3]).unwrap();
    assert_eq!(compare(&pv, &r, "frames_u8"), 0.0);
}

#[test]
fn frame_folder_equals_the_reference() {
    let r = reference();
    let dir = fixture("video/frames");
    let files = frame_files(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let want: Vec<String> = serde_json::from_value(cases()["folder"]["files"].clone()).unwrap();
    assert_eq!(names, want);
    // fetch_image's to_rgb: frame_03 is RGBA, composited on white exactly as PIL's paste.
    let decoded: Vec<RgbImage> = files
        .iter()
        .map(|f| decode_frame_file(f).unwrap())
        .collect();
    assert_frames_equal(&decoded, &frames(&r, "folder.rgb"), "folder frames");

    let p = model_processor();
    let opts = options("folder");
    let fetched = p.fetch_frame_folder(&dir, &opts).unwrap();
    // Five frames padded to six (the last repeated); Pillow's bicubic per frame, exact.
    assert_eq!(fetched.indices, [0, 1, 2, 3, 4, 5]);
    assert_eq!(fetched.sample_fps, 2.0);
    assert_frames_equal(
        &fetched.frames,
        &frames(&r, "folder.fetched"),
        "folder fetch",
    );
    let pv = p.preprocess_file(&dir, &opts).unwrap();
    assert_eq!(compare(&pv, &r, "folder"), 0.0);

    // Two videos in one call: rows concatenated, one grid each.
    let both = p.preprocess_files(&[clip()], &options("mp4")).unwrap();
    let mut joined = both.clone();
    joined.append(pv.clone());
    assert_eq!(joined.grids.len(), 2);
    assert_eq!(joined.rows(), both.rows() + pv.rows());
}

#[test]
fn torchvision_resizes_are_exact() {
    // All three kernels reproduce the reference bit for bit (measured max |diff| 0), on
    // downscales with up to 19 taps, mixed, and upscales.
    let r = reference();
    let src = r.image("resize.src");
    let floats: Vec<f32> = src.as_bytes().iter().map(|&v| f32::from(v)).collect();
    for (w, h) in [(28, 28), (13, 9), (90, 30), (61, 97)] {
        let ours = resize_bicubic_torch_via_f32(&src, w, h);
        let want = r.image(&format!("resize.v1.{w}x{h}"));
        assert!(ours == want, "v1 {w}x{h}: {:?}", byte_diff(&ours, &want));
        let ours = resize_bicubic_torch_u8(&src, w, h);
        let want = r.image(&format!("resize.v2.{w}x{h}"));
        assert!(ours == want, "v2 {w}x{h}: {:?}", byte_diff(&ours, &want));
        let ours = resize_bicubic_torch_f32(&floats, src.width(), src.height(), w, h);
        let want = r.f32(&format!("resize.f32.{w}x{h}"));
        assert_eq!(ours.len(), want.data.len());
        let differ = ours.iter().zip(&want.data).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "f32 {w}x{h}: {differ} values differ");
    }
}

#[test]
fn config_files_as_from_pretrained_reads_them() {
    let c = model_processor().config().clone();
    assert_eq!((c.min_pixels, c.max_pixels), (3136, 37632));
    assert_eq!(
        (c.patch_size, c.merge_size, c.temporal_patch_size),
        (14, 2, 2)
    );
    // Class defaults.
    let d = VideoProcessor::default().config().clone();
    assert_eq!((d.min_pixels, d.max_pixels), (128 * 28 * 28, 28 * 28 * 768));

    let dir = testkit::scratch("vision-video-config");
    // Only the image processor's file (hub Qwen2-VL checkpoints): it is read.
    std::fs::write(
        dir.join("preprocessor_config.json"),
        r#"{"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14}"#,
    )
    .unwrap();
    let p = VideoProcessor::from_model_dir(&dir).unwrap();
    assert_eq!(
        (p.config().min_pixels, p.config().max_pixels),
        (3136, 12845056)
    );
    // A processor_config.json with a nested video_processor, and size only.
    let nested = testkit::scratch("vision-video-config-nested");
    std::fs::write(
        nested.join("processor_config.json"),
        r#"{"video_processor": {"size": {"shortest_edge": 1000, "longest_edge": 2000}}}"#,
    )
    .unwrap();
    let p = VideoProcessor::from_model_dir(&nested).unwrap();
    assert_eq!((p.config().min_pixels, p.config().max_pixels), (1000, 2000));
    // min_pixels overrides size.
    let c = ProcessorConfig::video_from_json_str(
        r#"{"size": {"shortest_edge": 1000, "longest_edge": 2000}, "min_pixels": 5}"#,
    )
    .unwrap();
    assert_eq!((c.min_pixels, c.max_pixels), (5, 2000));
    assert!(ProcessorConfig::video_from_json_str(r#"{"size": {"height": 3}}"#).is_err());
    // Nothing to read.
    let empty = testkit::scratch("vision-video-config-empty");
    let err = VideoProcessor::from_model_dir(&empty).unwrap_err();
    assert!(matches!(err, Error::ConfigUnreadable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("video_preprocessor_config.json"),
        "{err}"
    );
}

#[test]
fn options_are_strict_serde() {
    let o: VideoOptions =
        serde_json::from_str(r#"{"fps": 1.0, "min_pixels": 3136, "video_end": 2.0}"#).unwrap();
    assert_eq!(o.fps, Some(1.0));
    assert!(serde_json::from_str::<VideoOptions>(r#"{"fsp": 1.0}"#).is_err());
    let both: VideoOptions = serde_json::from_str(r#"{"fps": 1.0, "nframes": 4}"#).unwrap();
    let err = model_processor().fetch_video(&clip(), &both).unwrap_err();
    assert!(err.to_string().contains("fps"), "{err}");
}

/// `preprocess_file(path)` must fail with an error naming `path`.
fn expect_error(path: &Path) -> Error {
    let err = model_processor()
        .preprocess_file(path, &VideoOptions::default())
        .expect_err("a bad video gave pixels");
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    err
}

#[test]
fn bad_videos_are_typed_errors_naming_the_file() {
    let bytes = std::fs::read(clip()).unwrap();

    // Cut in the middle: the movie header (first, faststart) is whole, the samples are not.
    let half = temp_file("video-half", "half.mp4", &bytes[..bytes.len() / 2]);
    let err = expect_error(&half);
    assert!(matches!(err, Error::VideoTruncated { .. }), "{err:?}");
    // Cut inside the movie header.
    let head = temp_file("video-head", "head.mp4", &bytes[..200]);
    let err = expect_error(&head);
    assert!(matches!(err, Error::VideoTruncated { .. }), "{err:?}");
    // A text file named .mp4.
    let text = temp_file("video-text", "notes.mp4", b"this is not a video\n");
    let err = expect_error(&text);
    assert!(matches!(err, Error::NotMp4 { .. }), "{err:?}");
    // An empty file.
    let empty = temp_file("video-empty", "empty.mp4", &[]);
    assert!(matches!(expect_error(&empty), Error::VideoEmpty { .. }));
    // A missing file.
    let missing = std::env::temp_dir().join("vision-test-definitely-missing.mp4");
    assert!(matches!(
        expect_error(&missing),
        Error::VideoUnreadable { .. }
    ));
    // A valid MP4 in another codec.
    let err = expect_error(&fixture("video/clip_mpeg4.mp4"));
    assert!(matches!(err, Error::UnsupportedCodec { .. }), "{err:?}");
    assert!(err.to_string().contains("mp4v"), "{err}");
    // Corrupt H.264 data: the first picture's slice data overwritten.
    let mut broken = bytes.clone();
    let at = first_idr_slice(&bytes);
    broken[at + 8..at + 200].fill(0xff);
    let err = expect_error(&temp_file("video-broken", "broken.mp4", &broken));
    assert!(
        matches!(err, Error::DecodeFailed { sample: 0, .. }),
        "{err:?}"
    );

    // An empty folder, and a folder of non-images.
    let dir = testkit::scratch("vision-video-empty-folder");
    let err = expect_error(&dir);
    assert!(matches!(err, Error::EmptyFrameFolder { .. }), "{err:?}");
    std::fs::write(dir.join("notes.txt"), "no frames here").unwrap();
    assert!(matches!(expect_error(&dir), Error::EmptyFrameFolder { .. }));
    // A folder holding a broken frame: the frame is named.
    let bad = testkit::scratch("vision-video-bad-frame");
    std::fs::copy(fixture("video/frames/frame_01.png"), bad.join("a.png")).unwrap();
    std::fs::write(bad.join("b.png"), b"not a png").unwrap();
    let err = model_processor()
        .preprocess_file(&bad, &VideoOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("b.png"), "{err}");
}

/// The byte offset of the first IDR slice NAL unit (type 5) of the first sample, which follows
/// the `mdat` header (the fixture's `moov` comes first); NAL units have 4-byte lengths.
fn first_idr_slice(bytes: &[u8]) -> usize {
    let mdat = bytes
        .windows(4)
        .position(|w| w == b"mdat")
        .expect("an mdat box")
        + 4;
    let mut at = mdat;
    loop {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if bytes[at + 4] & 0x1f == 5 {
            assert!(len > 300, "the IDR slice is long enough to damage");
            return at + 4;
        }
        at += 4 + len;
    }
}
