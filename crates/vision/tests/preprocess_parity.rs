//! `pixel_values` and `image_grid_thw` against the slow `Qwen2VLImageProcessor`
//! (transformers 4.57.6): from the reference's resized pixels (rescale, normalise, patch
//! order), end to end from the decoded pixels, from the files, and for two images in one call.

mod common;

use std::path::PathBuf;

use common::{fixture, image_path, processor, Reference, NAMES};
use vision::{ImageProcessor, PixelValues};

/// Largest absolute difference, after checking the layout.
fn compare(name: &str, ours: &PixelValues, r: &Reference, key: &str) -> f32 {
    let want = r.f32(&format!("{key}.pixel_values"));
    let grids = r.grids(&format!("{key}.grid_thw"));
    let ours_grids: Vec<[usize; 3]> = ours.grids.iter().map(|g| g.to_array()).collect();
    assert_eq!(ours_grids, grids, "{name}: grid_thw");
    assert_eq!(
        vec![ours.rows(), ours.patch_dim],
        want.shape,
        "{name}: shape"
    );
    let max = ours
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!(
        "{name}: {:?} grid {grids:?}: max |diff| {max:e}",
        want.shape
    );
    max
}

#[test]
fn patches_from_reference_resize_match() {
    let r = Reference::load();
    let p = processor();
    for name in NAMES {
        let resized = r.image(&format!("{name}.resized"));
        let ours = p.patchify(&resized).unwrap();
        let max = compare(name, &ours, &r, name);
        // Same float32/float64 steps as numpy: bit-identical in practice.
        assert!(max <= 1e-5, "{name}: {max}");
        assert_eq!(max, 0.0, "{name}: not bit-identical");
    }
}

#[test]
fn end_to_end_from_decoded_pixels_matches() {
    let r = Reference::load();
    let p = processor();
    for name in NAMES {
        let rgb = r.image(&format!("{name}.rgb"));
        let ours = p.preprocess(&[rgb]).unwrap();
        // The resize is bit-identical, so everything downstream is too.
        assert_eq!(compare(name, &ours, &r, name), 0.0, "{name}");
    }
}

#[test]
fn end_to_end_from_files_matches() {
    // PNG and WebP decode exactly, so everything downstream is exact too.
    let r = Reference::load();
    let p = processor();
    for name in ["small", "alpha", "large"] {
        let ours = p.preprocess_files(&[image_path(name)]).unwrap();
        assert_eq!(compare(name, &ours, &r, name), 0.0, "{name}");
    }
    // JPEG: the decoder's up to 4 levels (tests/decode.rs) survive the resize as up to
    // 4 / 255 / 0.26130258 (the smallest std) = 0.0600. Measured: 0.0584.
    let ours = p.preprocess_files(&[image_path("wide")]).unwrap();
    let max = compare("wide", &ours, &r, "wide");
    assert!(max <= 0.0601, "wide: {max}");
}

#[test]
fn two_images_in_one_call_concatenate() {
    let r = Reference::load();
    let p = processor();
    let images = [r.image("small.rgb"), r.image("wide.rgb")];
    let ours = p.preprocess(&images).unwrap();
    assert_eq!(compare("pair", &ours, &r, "pair"), 0.0);
    // The same as the two single calls, appended.
    let mut joined = p.preprocess(&images[..1]).unwrap();
    joined.append(p.preprocess(&images[1..]).unwrap());
    assert_eq!(joined, ours);
    let small = r.f32("small.pixel_values");
    assert_eq!(&ours.data[..small.data.len()], &small.data[..]);
}

#[test]
fn grid_and_token_counts_without_pixels() {
    let r = Reference::load();
    let p = processor();
    for name in NAMES {
        let rgb = r.image(&format!("{name}.rgb"));
        let g = p.grid(rgb.height(), rgb.width()).unwrap();
        assert_eq!(
            vec![g.to_array()],
            r.grids(&format!("{name}.grid_thw")),
            "{name}"
        );
        assert_eq!(g.tokens(2) * 4, g.patches());
    }
}

#[test]
fn model_dir_config_matches_the_fixture_processor() {
    let dir: PathBuf = fixture("model");
    let from_dir = ImageProcessor::from_model_dir(&dir).unwrap();
    assert_eq!(from_dir.config(), processor().config());
    // Defaults as parsed from JSON equal the reference's float32 constants.
    let c = from_dir.config();
    assert_eq!(c.rescale_factor, 1.0 / 255.0);
    // np.array(mean, dtype=float32).view(uint32), as numpy rounds them.
    let bits = |v: [f32; 3]| v.map(f32::to_bits);
    assert_eq!(bits(c.image_mean), [0x3ef6813a, 0x3eea685e, 0x3ed100ff]);
    assert_eq!(bits(c.image_std), [0x3e8989d0, 0x3e85c974, 0x3e8d32a8]);
    assert_eq!((c.factor(), c.patch_dim()), (28, 1176));
}
