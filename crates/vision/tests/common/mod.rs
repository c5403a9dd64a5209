//! Helpers of the vision crate's integration tests: its fixtures, safetensors reading without
//! tensors, hand-made PNG bytes, temporary files. (The fixture root is `testkit::fixtures`.)
//!
//! Fixtures are made by `scripts/make_vision_fixtures.py` (transformers 4.57.6, Pillow 13.0.0)
//! and live in `tests/fixtures/vision/` at the workspace root.

#![allow(dead_code)]

use std::path::PathBuf;

use safetensors::{Dtype, SafeTensors};
use vision::{ImageProcessor, RgbImage};

/// The fixture images, by the names `reference.safetensors` uses.
pub const NAMES: [&str; 4] = ["small", "wide", "large", "alpha"];

/// `tests/fixtures/vision/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    testkit::fixtures().join("vision").join(rel)
}

/// The file of a fixture image, from `cases.json`.
pub fn image_path(name: &str) -> PathBuf {
    let cases: serde_json::Value = testkit::read_json(fixture("cases.json"));
    let file = cases["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no image {name} in cases.json"))["file"]
        .as_str()
        .unwrap()
        .to_string();
    fixture(&file)
}

/// The processor the fixtures were made with: the defaults but `min_pixels` / `max_pixels`
/// from `cases.json`.
pub fn processor() -> ImageProcessor {
    let cases: serde_json::Value = testkit::read_json(fixture("cases.json"));
    let p = &cases["processor"];
    let config = vision::ProcessorConfig {
        min_pixels: p["min_pixels"].as_u64().unwrap() as usize,
        max_pixels: p["max_pixels"].as_u64().unwrap() as usize,
        ..Default::default()
    };
    ImageProcessor::new(config).unwrap()
}

/// `reference.safetensors`, held in memory.
pub struct Reference {
    bytes: Vec<u8>,
}

/// One tensor copied out, with its shape.
pub struct Tensor<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl Reference {
    pub fn load() -> Self {
        Self::load_file("reference.safetensors")
    }

    /// `tests/fixtures/vision/<rel>` (another safetensors file of the vision fixtures).
    pub fn load_file(rel: &str) -> Self {
        let path = fixture(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "missing fixture {} ({e}); regenerate with scripts/make_vision_fixtures.py \
                 (video/: scripts/make_video_fixtures.py)",
                path.display()
            )
        });
        Reference { bytes }
    }

    fn raw(&self, name: &str, dtype: Dtype) -> (Vec<usize>, Vec<u8>) {
        let st = SafeTensors::deserialize(&self.bytes).expect("fixture is valid safetensors");
        let t = st
            .tensor(name)
            .unwrap_or_else(|e| panic!("tensor {name}: {e}"));
        assert_eq!(t.dtype(), dtype, "{name}");
        (t.shape().to_vec(), t.data().to_vec())
    }

    pub fn u8(&self, name: &str) -> Tensor<u8> {
        let (shape, data) = self.raw(name, Dtype::U8);
        Tensor { shape, data }
    }

    pub fn f32(&self, name: &str) -> Tensor<f32> {
        let (shape, data) = self.raw(name, Dtype::F32);
        let data = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Tensor { shape, data }
    }

    pub fn i64(&self, name: &str) -> Tensor<i64> {
        let (shape, data) = self.raw(name, Dtype::I64);
        let data = data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        Tensor { shape, data }
    }

    /// A `[H, W, 3]` uint8 tensor as an image.
    pub fn image(&self, name: &str) -> RgbImage {
        let t = self.u8(name);
        assert_eq!(t.shape.len(), 3, "{name}: {:?}", t.shape);
        assert_eq!(t.shape[2], 3, "{name}: {:?}", t.shape);
        RgbImage::new(t.shape[1], t.shape[0], t.data).unwrap()
    }

    /// `<name>.grid_thw` rows as `[t, h, w]`.
    pub fn grids(&self, name: &str) -> Vec<[usize; 3]> {
        let t = self.i64(name);
        assert_eq!(t.shape[1], 3);
        t.data
            .chunks_exact(3)
            .map(|g| [g[0] as usize, g[1] as usize, g[2] as usize])
            .collect()
    }
}

/// Per-byte comparison of two equally sized images: (largest absolute difference, number of
/// samples that differ, number of pixels that differ).
pub fn byte_diff(ours: &RgbImage, reference: &RgbImage) -> (u8, usize, usize) {
    assert_eq!(
        (ours.width(), ours.height()),
        (reference.width(), reference.height()),
        "sizes differ"
    );
    let (a, b) = (ours.as_bytes(), reference.as_bytes());
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    let samples = a.iter().zip(b).filter(|(x, y)| x != y).count();
    let pixels = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(x, y)| x != y)
        .count();
    (max, samples, pixels)
}

/// A file in a fresh scratch directory, with these bytes.
pub fn temp_file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let path = testkit::scratch(&format!("vision-{test}")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// zlib stream with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let n = c.len() as u16;
        out.extend(n.to_le_bytes());
        out.extend((!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A PNG file of any bit depth and colour type (the IHDR's), from its scanlines (each without
/// the filter byte: filter 0 is added); `extra` chunks go between IHDR and IDAT (PLTE, tRNS).
pub fn png(
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    rows: &[Vec<u8>],
    extra: &[(&[u8; 4], Vec<u8>)],
) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    for (kind, data) in extra {
        chunk(&mut out, kind, data);
    }
    let raw: Vec<u8> = rows
        .iter()
        .flat_map(|r| std::iter::once(0u8).chain(r.iter().copied()))
        .collect();
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}
