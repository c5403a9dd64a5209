//! Pillow's bicubic resize of 8-bit images, bit for bit.
//!
//! A port of `ImagingResample` (Pillow 13, `src/libImaging/Resample.c`) for `Image.resize(size,
//! Image.BICUBIC)` with the default box (the whole image) and no `reducing_gap`, which is what
//! transformers' `image_transforms.resize` asks of PIL:
//!
//! * separable: a horizontal and a vertical pass, each writing 8-bit pixels, in Pillow 13's
//!   order (see [`resize_bicubic`]); a pass is skipped when its dimension does not change, and
//!   when both are skipped the image is copied;
//! * per output pixel, `precompute_coeffs`: the filter's support (2 for bicubic, `a = -0.5`) is
//!   widened by the downscale factor (antialiasing), the taps are the input pixels whose
//!   centres fall in it, the weights are normalised to sum 1 in `f64`, then turned into fixed
//!   point with 22 fraction bits (`PRECISION_BITS = 32 - 8 - 2`), rounding half away from zero;
//! * per output sample, an `i32` sum started at `1 << 21` (rounding), shifted right by 22 and
//!   clamped to 0..=255 (`clip8`).
//!
//! When it runs first, the horizontal pass only computes the rows the vertical pass reads (as
//! Pillow does); this changes no value.

use crate::RgbImage;

/// Fraction bits of the fixed-point weights for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel (Keys, `a = -0.5`), support 2.
#[inline]
fn bicubic_filter(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

const BICUBIC_SUPPORT: f64 = 2.0;

/// The taps of one pass: for output index `i`, input indices `start[i] .. start[i] + len[i]`
/// with fixed-point weights `weights[i * ksize ..][.. len[i]]`.
struct Coeffs {
    ksize: usize,
    start: Vec<usize>,
    len: Vec<usize>,
    weights: Vec<i32>,
}

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for the box `in0..in1` of an input of
/// `in_size` samples resampled to `out_size`.
fn precompute_coeffs(in_size: usize, in0: f32, in1: f32, out_size: usize) -> Coeffs {
    // `(double)(in1 - in0) / outSize`: the difference is taken in f32, as in C.
    let scale = f64::from(in1 - in0) / out_size as f64;
    let filterscale = if scale < 1.0 { 1.0 } else { scale };
    let support = BICUBIC_SUPPORT * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let inv_filterscale = 1.0 / filterscale;

    let mut start = Vec::with_capacity(out_size);
    let mut len = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = f64::from(in0) + (xx as f64 + 0.5) * scale;
        // `(int)` truncates toward zero, like `as`.
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
        let xmax = xmax.max(0) as usize;
        let mut ww = 0.0f64;
        for (x, kx) in k.iter_mut().enumerate().take(xmax) {
            let w = bicubic_filter(((x as i64 + xmin) as f64 - center + 0.5) * inv_filterscale);
            *kx = w;
            ww += w;
        }
        let out = &mut weights[xx * ksize..xx * ksize + xmax];
        for (o, &kx) in out.iter_mut().zip(&k[..xmax]) {
            let kx = if ww != 0.0 { kx / ww } else { kx };
            let scaled = kx * f64::from(1u32 << PRECISION_BITS);
            *o = if kx < 0.0 {
                (-0.5 + scaled) as i32
            } else {
                (0.5 + scaled) as i32
            };
        }
        start.push(xmin as usize);
        len.push(xmax);
    }
    Coeffs {
        ksize,
        start,
        len,
        weights,
    }
}

/// `clip8`: the rounded fixed-point sum back to a byte.
#[inline]
fn clip8(ss: i32) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// The horizontal pass: rows `row0 .. row0 + rows` of `src` (`src_w` pixels wide) to
/// `out_w` pixels wide.
fn horizontal_pass(src: &[u8], src_w: usize, row0: usize, rows: usize, c: &Coeffs) -> Vec<u8> {
    let out_w = c.start.len();
    let mut out = vec![0u8; rows * out_w * 3];
    for (r, line_out) in out.chunks_exact_mut(out_w * 3).enumerate() {
        let line_in = &src[(row0 + r) * src_w * 3..(row0 + r + 1) * src_w * 3];
        for (xx, px) in line_out.chunks_exact_mut(3).enumerate() {
            let xmin = c.start[xx];
            let k = &c.weights[xx * c.ksize..xx * c.ksize + c.len[xx]];
            let (mut s0, mut s1, mut s2) = (HALF, HALF, HALF);
            for (p, &kx) in line_in[xmin * 3..].chunks_exact(3).zip(k) {
                s0 += i32::from(p[0]) * kx;
                s1 += i32::from(p[1]) * kx;
                s2 += i32::from(p[2]) * kx;
            }
            px[0] = clip8(s0);
            px[1] = clip8(s1);
            px[2] = clip8(s2);
        }
    }
    out
}

/// The vertical pass: `src` (`w` pixels wide) to `c.start.len()` rows, with the taps' rows
/// counted from `row0` of the original image.
fn vertical_pass(src: &[u8], w: usize, row0: usize, c: &Coeffs) -> Vec<u8> {
    let stride = w * 3;
    let out_h = c.start.len();
    let mut out = vec![0u8; out_h * stride];
    let mut acc = vec![0i32; stride];
    for (yy, line_out) in out.chunks_exact_mut(stride).enumerate() {
        let ymin = c.start[yy] - row0;
        let k = &c.weights[yy * c.ksize..yy * c.ksize + c.len[yy]];
        acc.fill(HALF);
        for (y, &ky) in k.iter().enumerate() {
            let line_in = &src[(ymin + y) * stride..(ymin + y + 1) * stride];
            for (a, &v) in acc.iter_mut().zip(line_in) {
                *a += i32::from(v) * ky;
            }
        }
        for (o, &a) in line_out.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

/// Resizes `img` to `width` x `height` exactly as Pillow 13's `img.resize((width, height),
/// Image.BICUBIC)` does for an `RGB` image. Sizes of zero are not allowed (panics).
///
/// The order of the passes is Pillow 13's: vertical first when the height shrinks by more
/// than twice as many pixels as the width does (`in_h - h > 0 && in_h - h > 2 * (in_w - w)`),
/// horizontal first otherwise. (Pillow ≤ 12 always ran the horizontal pass first; the order
/// changes the intermediate rounding, so results differ by a level or two on such images.)
pub fn resize_bicubic(img: &RgbImage, width: usize, height: usize) -> RgbImage {
    assert!(
        width > 0 && height > 0,
        "resize to an empty image ({width}x{height})"
    );
    let (in_w, in_h) = (img.width(), img.height());
    let need_horizontal = width != in_w;
    let need_vertical = height != in_h;
    if !need_horizontal && !need_vertical {
        return img.clone();
    }
    let shrink_h = in_h as i64 - height as i64;
    let shrink_w = in_w as i64 - width as i64;
    let horizontal_first = !(shrink_h > 0 && shrink_h > shrink_w * 2);
    let src = img.as_bytes();
    let horiz = need_horizontal.then(|| precompute_coeffs(in_w, 0.0, in_w as f32, width));
    let vert = need_vertical.then(|| precompute_coeffs(in_h, 0.0, in_h as f32, height));

    let data = match (horizontal_first, &horiz, &vert) {
        (_, Some(h), None) => horizontal_pass(src, in_w, 0, in_h, h),
        (_, None, Some(v)) => vertical_pass(src, in_w, 0, v),
        (true, Some(h), Some(v)) => {
            // Only the rows the vertical pass reads.
            let first = v.start[0];
            let last = v.start[height - 1] + v.len[height - 1];
            let tmp = horizontal_pass(src, in_w, first, last - first, h);
            vertical_pass(&tmp, width, first, v)
        }
        (false, Some(h), Some(v)) => {
            let tmp = vertical_pass(src, in_w, 0, v);
            horizontal_pass(&tmp, in_w, 0, height, h)
        }
        (_, None, None) => unreachable!("handled above"),
    };
    RgbImage::new(width, height, data).expect("resize makes a buffer of its stated size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (n_in, n_out) in [(40, 84), (700, 224), (500, 140), (97, 84), (3, 1), (1, 5)] {
            let c = precompute_coeffs(n_in, 0.0, n_in as f32, n_out);
            for i in 0..n_out {
                let s: i32 = c.weights[i * c.ksize..i * c.ksize + c.len[i]].iter().sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= c.len[i] as i32,
                    "{n_in}->{n_out} @{i}: {s}"
                );
                assert!(c.start[i] + c.len[i] <= n_in);
            }
        }
    }

    #[test]
    fn same_size_is_a_copy_and_constant_stays_constant() {
        let img = RgbImage::new(5, 4, (0..60).map(|i| (i * 7 % 256) as u8).collect()).unwrap();
        assert_eq!(resize_bicubic(&img, 5, 4), img);
        let flat = RgbImage::new(9, 7, vec![77; 9 * 7 * 3]).unwrap();
        for (w, h) in [(3, 2), (20, 15), (9, 3), (4, 7), (1, 1)] {
            let r = resize_bicubic(&flat, w, h);
            assert!(r.as_bytes().iter().all(|&v| v == 77), "{w}x{h}");
        }
    }
}
