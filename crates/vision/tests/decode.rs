//! Decoding against PIL's `Image.open(path).convert("RGB")` (Pillow 13.0.0, the pixels in
//! `<name>.rgb`): PNG exactly; JPEG (zune-jpeg vs libjpeg-turbo) and lossy WebP (image-webp
//! vs libwebp) within measured bounds. Then PIL's conversions to RGB of the pixel types a
//! PNG can hold, on hand-made files.

mod common;

use common::{byte_diff, image_path, png, temp_file, Reference};
use vision::{decode_bytes, decode_file};

#[test]
fn png_decodes_exactly() {
    let r = Reference::load();
    for name in ["small", "alpha"] {
        let ours = decode_file(&image_path(name)).unwrap();
        let want = r.image(&format!("{name}.rgb"));
        assert!(ours == want, "{name}: {:?}", byte_diff(&ours, &want));
    }
}

/// Histogram of |ours - PIL| over all samples, printed, and the largest difference.
fn measure(name: &str) -> (u8, f64) {
    let r = Reference::load();
    let ours = decode_file(&image_path(name)).unwrap();
    let want = r.image(&format!("{name}.rgb"));
    let (max, samples, pixels) = byte_diff(&ours, &want);
    let mut hist = [0usize; 256];
    for (a, b) in ours.as_bytes().iter().zip(want.as_bytes()) {
        hist[a.abs_diff(*b) as usize] += 1;
    }
    let n = ours.as_bytes().len();
    let mean = hist.iter().enumerate().map(|(d, &c)| d * c).sum::<usize>() as f64 / n as f64;
    let hist: Vec<String> = hist[..=max as usize]
        .iter()
        .enumerate()
        .map(|(d, c)| format!("{d}:{c}"))
        .collect();
    println!(
        "{name}: {}x{}: max {max}, mean {mean:.4}, {samples}/{n} samples, {pixels} pixels differ; \
         histogram {}",
        ours.width(),
        ours.height(),
        hist.join(" ")
    );
    (max, mean)
}

/// zune-jpeg vs libjpeg-turbo (PIL's default ISLOW IDCT, fancy upsampling) on a 4:2:0,
/// quality-90 JPEG. Measured: max 4, mean 0.366, 26% of samples differ (histogram 0: 71420,
/// 1: 15607, 2: 9823, 3: 51, 4: 2 of 96903). Luma alone is within 1 (0.6% differ): nearly all
/// of it is the chroma upsampling and colour conversion.
#[test]
fn jpeg_is_within_measured_bound() {
    let (max, mean) = measure("wide");
    assert!(max <= 4, "max {max}");
    assert!(mean <= 0.4, "mean {mean}");
}

/// image-webp vs libwebp on a lossy (quality 90) WebP: measured identical.
#[test]
fn webp_decodes_exactly() {
    let (max, _) = measure("large");
    assert_eq!(max, 0);
}

/// One image row of 16-bit samples, big-endian, as a PNG stores them.
fn be16(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// The R, G, B of each pixel of a one-row image.
fn row_of(bytes: &[u8]) -> Vec<[u8; 3]> {
    let img = decode_bytes(bytes, "test.png".as_ref()).unwrap();
    assert_eq!(img.height(), 1);
    (0..img.width()).map(|x| img.pixel(x, 0)).collect()
}

fn grey(v: &[u8]) -> Vec<[u8; 3]> {
    v.iter().map(|&g| [g, g, g]).collect()
}

// Expected values below were printed by Pillow 13.0.0 for the same bytes:
// `np.asarray(Image.open(path).convert("RGB"))`.
const V16: [u16; 8] = [0, 1, 255, 256, 0x1234, 0x80ff, 0xff00, 65535];
const HIGH: [u8; 8] = [0, 0, 0, 1, 0x12, 0x80, 0xff, 0xff];
const SATURATED: [u8; 8] = [0, 1, 255, 255, 255, 255, 255, 255];

#[test]
fn png_16_bit_rgb_takes_the_high_byte() {
    let rgb: Vec<u16> = V16.iter().flat_map(|&v| [v, v, v]).collect();
    assert_eq!(row_of(&png(8, 1, 16, 2, &[be16(&rgb)], &[])), grey(&HIGH));
    let rgba: Vec<u16> = V16.iter().flat_map(|&v| [v, v, v, v]).collect();
    assert_eq!(row_of(&png(8, 1, 16, 6, &[be16(&rgba)], &[])), grey(&HIGH));
    let la: Vec<u16> = V16.iter().flat_map(|&v| [v, v]).collect();
    assert_eq!(row_of(&png(8, 1, 16, 4, &[be16(&la)], &[])), grey(&HIGH));
}

#[test]
fn png_16_bit_grey_saturates_as_pillow_i16() {
    assert_eq!(
        row_of(&png(8, 1, 16, 0, &[be16(&V16)], &[])),
        grey(&SATURATED)
    );
    // A tRNS chunk makes the decoder add alpha; Pillow still opens it as I;16.
    let trns = (b"tRNS", 256u16.to_be_bytes().to_vec());
    assert_eq!(
        row_of(&png(8, 1, 16, 0, &[be16(&V16)], &[trns])),
        grey(&SATURATED)
    );
}

#[test]
fn png_low_bit_depth_grey_is_scaled() {
    assert_eq!(
        row_of(&png(3, 1, 1, 0, &[vec![0b1010_0000]], &[])),
        grey(&[255, 0, 255])
    );
    assert_eq!(
        row_of(&png(4, 1, 2, 0, &[vec![0b0001_1011]], &[])),
        grey(&[0, 85, 170, 255])
    );
    let l4: Vec<u8> = (0..16).map(|v| v * 17).collect();
    let packed = vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    assert_eq!(row_of(&png(16, 1, 4, 0, &[packed], &[])), grey(&l4));
}

#[test]
fn alpha_and_transparency_are_dropped_not_composited() {
    // RGBA with alpha 0 and 255: the colours stay as stored.
    let rgba = png(2, 1, 8, 6, &[vec![10, 20, 30, 0, 40, 50, 60, 255]], &[]);
    assert_eq!(row_of(&rgba), vec![[10, 20, 30], [40, 50, 60]]);
    let la = png(2, 1, 8, 4, &[vec![10, 0, 240, 77]], &[]);
    assert_eq!(row_of(&la), grey(&[10, 240]));
    let trns = (
        b"tRNS",
        [10u16, 20, 30]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect(),
    );
    let rgb_trns = png(2, 1, 8, 2, &[vec![10, 20, 30, 40, 50, 60]], &[trns]);
    assert_eq!(row_of(&rgb_trns), vec![[10, 20, 30], [40, 50, 60]]);
    // Palette (2 bit) with tRNS: the palette's colours.
    let plte = (b"PLTE", vec![10, 20, 30, 200, 100, 50, 0, 255, 7]);
    let trns = (b"tRNS", vec![0, 128]);
    let pal = png(4, 1, 2, 3, &[vec![0b0001_1000]], &[plte, trns]);
    assert_eq!(
        row_of(&pal),
        vec![[10, 20, 30], [200, 100, 50], [0, 255, 7], [10, 20, 30]]
    );
}

#[test]
fn alpha_fixture_drops_alpha_exactly() {
    // alpha.png is RGBA with alpha ramping 0..255 across; PIL's RGB equals ours.
    let r = Reference::load();
    let ours = decode_file(&image_path("alpha")).unwrap();
    assert!(ours == r.image("alpha.rgb"));
}

#[test]
fn format_is_told_by_content_not_name() {
    let bytes = std::fs::read(image_path("small")).unwrap();
    let path = temp_file("misnamed", "really-a-png.jpg", &bytes);
    let ours = decode_file(&path).unwrap();
    assert!(ours == Reference::load().image("small.rgb"));
}
