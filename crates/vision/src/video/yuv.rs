//! 8-bit 4:2:0 YUV to RGB, as FFmpeg's libswscale converts a decoded frame for
//! `frame.to_ndarray(format="rgb24")` in PyAV (FFmpeg 8, x86 SIMD `yuv2rgb`).
//!
//! swscale's unscaled YUV 4:2:0 → RGB24 converter (the path for an even-height frame with
//! swscale's default flags) does, per pixel:
//!
//! * chroma: nearest sample, no interpolation: pixel `(x, y)` takes `U[y / 2][x / 2]`;
//! * 16-bit fixed point with `pmulhw` (the high half of a signed 16 × 16 product, i.e. a
//!   flooring `>> 16`): with `Y8 = 8·Y − y_offset`, `U8 = 8·U − 1024`, `V8 = 8·V − 1024`,
//!   `y = (Y8 · cy) >> 16`, then `R = y + (V8 · crv) >> 16`,
//!   `G = y + (U8 · cgu) >> 16 + (V8 · cgv) >> 16`, `B = y + (U8 · cbu) >> 16`, each saturated
//!   to 0..=255;
//! * the coefficients are swscale's `ff_yuv2rgb_coeffs` for the stream's matrix
//!   (`matrix_coefficients` of the SPS's VUI: BT.709, FCC, SMPTE 240M, BT.2020; everything
//!   else, and no VUI, is BT.601), scaled by `255/219` (luma) for limited range or by
//!   `224/255` (chroma) for full range, rounded to 16 bits after a `<< 13`, exactly as
//!   `ff_yuv2rgb_c_init_tables` does.
//!
//! This reproduces the reference frames bit for bit (`tests/video.rs`: a BT.601 limited-range
//! and a BT.709 full-range stream; the same formula in Python matched PyAV on FCC, SMPTE 240M,
//! BT.470BG and BT.2020 streams too). swscale's plain C converter (table based, used where no SIMD version
//! exists) and other readers (torchcodec's filter graph, decord's FFmpeg 4) round differently
//! and were not measured; expect a level here and there.

use crate::RgbImage;

/// `ff_yuv2rgb_coeffs[colorspace]`: `crv, cbu, cgu, cgv` in 16.16 fixed point for
/// limited-range input.
fn table(matrix: u8) -> [i64; 4] {
    match matrix {
        1 => [117489, 138438, 13975, 34925],      // BT.709
        4 => [104448, 132798, 24759, 53109],      // FCC
        7 => [117579, 136230, 16907, 35559],      // SMPTE 240M
        9 | 10 => [110013, 140363, 12277, 42626], // BT.2020 (NCL, CL)
        _ => [104597, 132201, 25675, 53279],      // BT.601 (and unspecified, reserved, ...)
    }
}

/// swscale's `roundToInt16`: `(f + 2^15) >> 16`, clamped to the int16 range.
fn round_to_i16(f: i64) -> i32 {
    let r = (f + (1 << 15)) >> 16;
    r.clamp(-0x7fff, 0x7fff) as i32
}

/// The colour conversion of one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct YuvToRgb {
    y_offset: i32,
    cy: i32,
    crv: i32,
    cbu: i32,
    cgu: i32,
    cgv: i32,
}

impl YuvToRgb {
    /// The conversion for a stream with this `matrix_coefficients` value (2 = unspecified)
    /// and range (`full_range` = JPEG range, `video_full_range_flag`).
    pub fn new(matrix: u8, full_range: bool) -> Self {
        let [crv, cbu, cgu, cgv] = table(matrix);
        let (mut crv, mut cbu, mut cgu, mut cgv) = (crv, cbu, -cgu, -cgv);
        let (mut cy, mut oy) = (1i64 << 16, 0i64);
        if full_range {
            // C integer division truncates toward zero, as Rust's does.
            crv = crv * 224 / 255;
            cbu = cbu * 224 / 255;
            cgu = cgu * 224 / 255;
            cgv = cgv * 224 / 255;
        } else {
            cy = cy * 255 / 219;
            oy = 16 << 16;
        }
        YuvToRgb {
            y_offset: round_to_i16(oy * (1 << 3)),
            cy: round_to_i16(cy * (1 << 13)),
            crv: round_to_i16(crv * (1 << 13)),
            cbu: round_to_i16(cbu * (1 << 13)),
            cgu: round_to_i16(cgu * (1 << 13)),
            cgv: round_to_i16(cgv * (1 << 13)),
        }
    }

    /// Converts one frame: `y` / `u` / `v` planes with their strides, `width × height`
    /// luma samples (both even or not: chroma is read at `x / 2`, `y / 2`).
    #[allow(clippy::too_many_arguments)]
    pub fn convert(
        &self,
        y: &[u8],
        u: &[u8],
        v: &[u8],
        strides: (usize, usize, usize),
        width: usize,
        height: usize,
    ) -> RgbImage {
        let mut out = vec![0u8; width * height * 3];
        // Per chroma sample: the three chroma terms, computed once per row pair.
        let mut terms = vec![(0i32, 0i32, 0i32); width.div_ceil(2)];
        for row in 0..height {
            if row % 2 == 0 {
                let (ur, vr) = (&u[(row / 2) * strides.1..], &v[(row / 2) * strides.2..]);
                for (cx, t) in terms.iter_mut().enumerate() {
                    let u8_ = i32::from(ur[cx]) * 8 - 1024;
                    let v8 = i32::from(vr[cx]) * 8 - 1024;
                    *t = (
                        (v8 * self.crv) >> 16,
                        ((u8_ * self.cgu) >> 16) + ((v8 * self.cgv) >> 16),
                        (u8_ * self.cbu) >> 16,
                    );
                }
            }
            let yr = &y[row * strides.0..row * strides.0 + width];
            let line = &mut out[row * width * 3..(row + 1) * width * 3];
            for (x, (px, &yv)) in line.chunks_exact_mut(3).zip(yr).enumerate() {
                let luma = ((i32::from(yv) * 8 - self.y_offset) * self.cy) >> 16;
                let (r, g, b) = terms[x / 2];
                px[0] = (luma + r).clamp(0, 255) as u8;
                px[1] = (luma + g).clamp(0, 255) as u8;
                px[2] = (luma + b).clamp(0, 255) as u8;
            }
        }
        RgbImage::new(width, height, out).expect("a buffer of the stated size")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt601_limited_coefficients_are_swscales() {
        let c = YuvToRgb::new(2, false);
        assert_eq!(
            (c.y_offset, c.cy, c.crv, c.cbu, c.cgu, c.cgv),
            (128, 9539, 13075, 16525, -3209, -6660)
        );
        let f = YuvToRgb::new(1, true);
        assert_eq!((f.y_offset, f.cy), (0, 8192));
    }

    #[test]
    fn grey_stays_grey() {
        let c = YuvToRgb::new(2, false);
        let img = c.convert(&[16, 235, 126, 126], &[128], &[128], (2, 1, 1), 2, 2);
        assert_eq!(img.pixel(0, 0), [0, 0, 0]);
        assert_eq!(img.pixel(1, 0), [255, 255, 255]);
        let p = img.pixel(0, 1);
        assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
    }
}
