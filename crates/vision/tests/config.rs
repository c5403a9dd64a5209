//! `preprocessor_config.json` parsing: defaults, the pixel-limit keys, and refusals.

mod common;

use vision::{Error, ImageProcessor, ProcessorConfig, DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS};

fn parse(json: &str) -> ProcessorConfig {
    ProcessorConfig::from_json_str(json).unwrap()
}

#[test]
fn empty_object_gives_the_reference_defaults() {
    let c = parse("{}");
    assert_eq!(c, ProcessorConfig::default());
    assert_eq!((c.min_pixels, c.max_pixels), (3136, 1003520));
    assert_eq!(
        (c.patch_size, c.merge_size, c.temporal_patch_size),
        (14, 2, 2)
    );
    assert_eq!(c.rescale_factor, 1.0 / 255.0);
    assert!(c.do_resize && c.do_rescale && c.do_normalize);
    // null means "not given", as None does in Python.
    assert_eq!(parse(r#"{"min_pixels": null, "image_mean": null}"#), c);
}

#[test]
fn qwen_style_file_with_unknown_keys() {
    // The keys of Qwen2-VL-7B-Instruct's file.
    let c = parse(
        r#"{"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14,
            "temporal_patch_size": 2, "merge_size": 2,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "Qwen2VLProcessor"}"#,
    );
    assert_eq!(c.max_pixels, 12845056);
    assert_eq!(c.image_mean, ProcessorConfig::default().image_mean);
}

#[test]
fn pixel_limits_from_keys_or_size() {
    let c = parse(r#"{"size": {"shortest_edge": 100, "longest_edge": 5000}}"#);
    assert_eq!((c.min_pixels, c.max_pixels), (100, 5000));
    // min_pixels / max_pixels win over size, as in the reference.
    let c = parse(r#"{"size": {"shortest_edge": 100, "longest_edge": 5000}, "max_pixels": 7000}"#);
    assert_eq!((c.min_pixels, c.max_pixels), (100, 7000));
    let c = parse(r#"{"min_pixels": 784}"#);
    assert_eq!((c.min_pixels, c.max_pixels), (784, DEFAULT_MAX_PIXELS));
    assert_eq!(DEFAULT_MIN_PIXELS, 3136);
}

#[test]
fn scalar_mean_and_std_apply_to_every_channel() {
    let c = parse(r#"{"image_mean": 0.5, "image_std": 0.5}"#);
    assert_eq!((c.image_mean, c.image_std), ([0.5; 3], [0.5; 3]));
}

#[test]
fn refusals_say_what_is_wrong() {
    for (json, needle) in [
        (
            r#"{"size": {"height": 224, "width": 224}}"#,
            "shortest_edge",
        ),
        (r#"{"resample": 2}"#, "bicubic"),
        (r#"{"patch_size": 0}"#, "patch_size"),
        (r#"{"image_mean": [0.5, 0.5]}"#, "3 values"),
        (r#"{"image_std": [0, 1, 1]}"#, "image_std"),
    ] {
        match ProcessorConfig::from_json_str(json) {
            Err(e @ Error::InvalidConfig(_)) => assert!(e.to_string().contains(needle), "{e}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    assert!(matches!(
        ProcessorConfig::from_json_str("{not json"),
        Err(Error::ConfigParse { .. })
    ));
    assert!(matches!(
        ProcessorConfig::from_json_str(r#"{"min_pixels": "many"}"#),
        Err(Error::ConfigParse { .. })
    ));
}

#[test]
fn missing_or_bad_file_names_the_path() {
    let dir = testkit::scratch("vision-config");
    let err = ImageProcessor::from_model_dir(&dir).unwrap_err();
    assert!(matches!(err, Error::ConfigUnreadable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("preprocessor_config.json"),
        "{err}"
    );
    let path = dir.join("preprocessor_config.json");
    std::fs::write(&path, r#"{"merge_size": 0}"#).unwrap();
    let err = ImageProcessor::from_model_dir(&dir).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn without_resize_the_image_must_fit_the_grid() {
    let p = ImageProcessor::new(ProcessorConfig {
        do_resize: false,
        ..Default::default()
    })
    .unwrap();
    let ok = vision::RgbImage::new(56, 28, vec![0; 56 * 28 * 3]).unwrap();
    let pv = p.preprocess(&[ok]).unwrap();
    assert_eq!(pv.grids[0].to_array(), [1, 2, 4]);
    let bad = vision::RgbImage::new(42, 28, vec![0; 42 * 28 * 3]).unwrap();
    assert!(matches!(
        p.preprocess(&[bad]),
        Err(Error::NotDivisible { factor: 28, .. })
    ));
}

#[test]
fn a_side_rounded_to_zero_is_an_error_not_a_panic() {
    // min_pixels = 0: 13 / 28 rounds to 0 and nothing scales it up again.
    let p = ImageProcessor::new(ProcessorConfig {
        min_pixels: 0,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        vision::smart_resize(13, 100, 28, 0, 1 << 20).unwrap(),
        (0, 112)
    );
    let img = vision::RgbImage::new(100, 13, vec![0; 100 * 13 * 3]).unwrap();
    assert!(matches!(p.preprocess(&[img]), Err(Error::InvalidConfig(_))));
}
