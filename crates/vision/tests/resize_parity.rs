//! Our bicubic resize against Pillow 13's `Image.resize(size, Image.BICUBIC)`: from the
//! pixels PIL decoded (`<name>.rgb`) to the size the processor chose, every byte equal to
//! `<name>.resized`. The four images cover upscaling both sides (small), downscaling one
//! side and upscaling the other (wide, alpha) and downscaling both by ~3x (large).

mod common;

use common::{byte_diff, Reference, NAMES};
use vision::resize_bicubic;

#[test]
fn resize_is_bit_identical_to_pillow() {
    let r = Reference::load();
    for name in NAMES {
        let rgb = r.image(&format!("{name}.rgb"));
        let want = r.image(&format!("{name}.resized"));
        let ours = resize_bicubic(&rgb, want.width(), want.height());
        let (max, samples, pixels) = byte_diff(&ours, &want);
        println!(
            "{name}: {}x{} -> {}x{}: max diff {max}, {samples} samples / {pixels} pixels differ",
            rgb.width(),
            rgb.height(),
            want.width(),
            want.height()
        );
        assert_eq!((max, samples), (0, 0), "{name}");
    }
}

#[test]
fn processor_resize_picks_the_reference_size() {
    let r = Reference::load();
    let p = common::processor();
    for name in NAMES {
        let rgb = r.image(&format!("{name}.rgb"));
        let want = r.image(&format!("{name}.resized"));
        assert!(p.resize(&rgb).unwrap() == want, "{name}");
    }
}

/// The branches the fixture images miss (`scripts/make_resize_cases.py`, Pillow 13.0.0):
/// one pass only, either order of two passes, strong downscaling, one-pixel images.
#[test]
fn resize_cases_are_bit_identical_to_pillow() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/resize_cases.safetensors"
    );
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let cases = meta.metadata().clone().unwrap();
    assert_eq!(cases["pillow"], "13.0.0");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let image = |name: &str| {
        let t = st.tensor(name).unwrap();
        let s = t.shape();
        vision::RgbImage::new(s[1], s[0], t.data().to_vec()).unwrap()
    };
    let mut names: Vec<&String> = cases.keys().filter(|k| *k != "pillow").collect();
    names.sort();
    assert_eq!(names.len(), 12);
    for name in names {
        let input = image(&cases[name]);
        let want = image(&format!("{name}.output"));
        let ours = resize_bicubic(&input, want.width(), want.height());
        let (max, samples, _) = byte_diff(&ours, &want);
        println!(
            "{name}: {}x{} -> {}x{}: max diff {max}, {samples} samples differ",
            input.width(),
            input.height(),
            want.width(),
            want.height()
        );
        assert_eq!((max, samples), (0, 0), "{name}");
    }
}
