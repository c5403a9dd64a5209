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
//!
//! The same file holds PyTorch's antialiased bicubic, which torchvision runs for the video
//! path, in its three forms (each bit-exact against torch 2.11, `tests/video.rs`):
//! [`resize_bicubic_torch_u8`] (the native `uint8` kernel: Pillow's algorithm with `int16`
//! weights), [`resize_bicubic_torch_f32`] (the `float32` kernel) and
//! [`resize_bicubic_torch_via_f32`] (torchvision v1 on `uint8`: float kernel, clamp, round).

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
    /// Fraction bits of `weights`.
    precision: u32,
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
        precision: PRECISION_BITS,
    }
}

/// `clip8`: the rounded fixed-point sum back to a byte.
#[inline]
fn clip8(ss: i32, precision: u32) -> u8 {
    (ss >> precision).clamp(0, 255) as u8
}

/// The horizontal pass: rows `row0 .. row0 + rows` of `src` (`src_w` pixels wide) to
/// `out_w` pixels wide.
fn horizontal_pass(src: &[u8], src_w: usize, row0: usize, rows: usize, c: &Coeffs) -> Vec<u8> {
    let out_w = c.start.len();
    let (half, prec) = (1i32 << (c.precision - 1), c.precision);
    let mut out = vec![0u8; rows * out_w * 3];
    for (r, line_out) in out.chunks_exact_mut(out_w * 3).enumerate() {
        let line_in = &src[(row0 + r) * src_w * 3..(row0 + r + 1) * src_w * 3];
        for (xx, px) in line_out.chunks_exact_mut(3).enumerate() {
            let xmin = c.start[xx];
            let k = &c.weights[xx * c.ksize..xx * c.ksize + c.len[xx]];
            let (mut s0, mut s1, mut s2) = (half, half, half);
            for (p, &kx) in line_in[xmin * 3..].chunks_exact(3).zip(k) {
                s0 += i32::from(p[0]) * kx;
                s1 += i32::from(p[1]) * kx;
                s2 += i32::from(p[2]) * kx;
            }
            px[0] = clip8(s0, prec);
            px[1] = clip8(s1, prec);
            px[2] = clip8(s2, prec);
        }
    }
    out
}

/// The vertical pass: `src` (`w` pixels wide) to `c.start.len()` rows, with the taps' rows
/// counted from `row0` of the original image.
fn vertical_pass(src: &[u8], w: usize, row0: usize, c: &Coeffs) -> Vec<u8> {
    let stride = w * 3;
    let out_h = c.start.len();
    let (half, prec) = (1i32 << (c.precision - 1), c.precision);
    let mut out = vec![0u8; out_h * stride];
    let mut acc = vec![0i32; stride];
    for (yy, line_out) in out.chunks_exact_mut(stride).enumerate() {
        let ymin = c.start[yy] - row0;
        let k = &c.weights[yy * c.ksize..yy * c.ksize + c.len[yy]];
        acc.fill(half);
        for (y, &ky) in k.iter().enumerate() {
            let line_in = &src[(ymin + y) * stride..(ymin + y + 1) * stride];
            for (a, &v) in acc.iter_mut().zip(line_in) {
                *a += i32::from(v) * ky;
            }
        }
        for (o, &a) in line_out.iter_mut().zip(&acc) {
            *o = clip8(a, prec);
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

/// The bicubic kernel of PyTorch's antialiased interpolation (`HelperInterpCubic::aa_filter`,
/// Keys with `a = -0.5`), written as ATen writes it (`cubic_convolution1/2`: the same
/// polynomial as Pillow's, evaluated in another order), with the multiply-adds fused as the
/// x86-64 PyTorch 2.11 wheels compile it (GCC contracts `a * b + c` into FMA). Measured: the
/// float weights this gives are the reference's bit for bit (`tests/video.rs`).
#[inline]
fn torch_cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        let t = (A + 2.0).mul_add(x, -(A + 3.0));
        (t * x).mul_add(x, 1.0)
    } else if x < 2.0 {
        let t = A.mul_add(x, -(5.0 * A));
        let t = t.mul_add(x, 8.0 * A);
        t.mul_add(x, -(4.0 * A))
    } else {
        0.0
    }
}

/// `f32` version of [`torch_cubic`], for float tensors (`aa_filter<float>`).
#[inline]
fn torch_cubic_f32(x: f32) -> f32 {
    const A: f32 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        let t = (A + 2.0).mul_add(x, -(A + 3.0));
        (t * x).mul_add(x, 1.0)
    } else if x < 2.0 {
        let t = A.mul_add(x, -(5.0 * A));
        let t = t.mul_add(x, 8.0 * A);
        t.mul_add(x, -(4.0 * A))
    } else {
        0.0
    }
}

/// One output of the float kernel: `Σ in[j]·w[j]` from the first tap, as the compiled ATen
/// loop (`interpolate_aa_single_dim`) sums it: GCC vectorises the first `4·⌊(n−1)/4⌋`
/// accumulation steps four at a time (products rounded, then added in order) and fuses the
/// remaining ones into FMAs. (Found by solving for the pattern on the reference's outputs;
/// every output of the fixtures follows it.)
#[inline]
fn torch_dot_f32(taps: &[f32], value: impl Fn(usize) -> f32) -> f32 {
    let n = taps.len();
    let mut acc = value(0) * taps[0];
    let plain = 4 * ((n - 1) / 4);
    for (j, &w) in taps.iter().enumerate().skip(1) {
        acc = if j <= plain {
            acc + value(j) * w
        } else {
            value(j).mul_add(w, acc)
        };
    }
    acc
}

/// PyTorch's `_compute_index_ranges_int16_weights` for antialiased bicubic (uint8 input):
/// taps and normalised weights in `f64` as Pillow computes them, then a precision chosen for
/// the whole axis — the most fraction bits (at most 22) that keep the largest weight under
/// 2^15, since the weights are `int16` — and weights rounded half away from zero.
fn precompute_coeffs_torch(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let support = if scale >= 1.0 { 2.0 * scale } else { 2.0 };
    let ksize = support.ceil() as usize * 2 + 1;
    let invscale = if scale >= 1.0 { 1.0 / scale } else { 1.0 };
    let mut start = Vec::with_capacity(out_size);
    let mut len = Vec::with_capacity(out_size);
    let mut wf = vec![0f64; out_size * ksize];
    let mut wt_max = 0f64;
    for i in 0..out_size {
        let center = scale * (i as f64 + 0.5);
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xsize = (((center + support + 0.5) as i64).min(in_size as i64) - xmin)
            .clamp(0, ksize as i64) as usize;
        let w = &mut wf[i * ksize..i * ksize + xsize];
        let mut total = 0f64;
        for (j, wj) in w.iter_mut().enumerate() {
            *wj = torch_cubic(((j as i64 + xmin) as f64 - center + 0.5) * invscale);
            total += *wj;
        }
        if total != 0.0 {
            for wj in w.iter_mut() {
                *wj /= total;
                wt_max = wt_max.max(*wj);
            }
        }
        start.push(xmin as usize);
        len.push(xsize);
    }
    let mut precision = 0u32;
    while precision < 22 {
        let next = (0.5 + wt_max * f64::from(1u32 << (precision + 1))) as i32;
        if next >= 1 << 15 {
            break;
        }
        precision += 1;
    }
    let weights = wf
        .iter()
        .map(|&w| {
            let v = w * f64::from(1u32 << precision);
            let r = if v < 0.0 {
                (-0.5 + v) as i32
            } else {
                (0.5 + v) as i32
            };
            i32::from(r as i16)
        })
        .collect();
    Coeffs {
        ksize,
        start,
        len,
        weights,
        precision: precision.max(1),
    }
}

/// Resizes `img` to `width` x `height` as `torchvision.transforms.v2.functional.resize(tensor,
/// (height, width), InterpolationMode.BICUBIC, antialias=True)` does for a `uint8` tensor on
/// the CPU: PyTorch 2.11's native `uint8` kernel of `_upsample_bicubic2d_aa`, which
/// transformers' video processor runs on `uint8` frames. Sizes of zero are not allowed
/// (panics).
///
/// It is Pillow's algorithm (Pillow-SIMD's, ported to ATen) with two differences: the
/// weights are `int16` with a per-axis precision (see `precompute_coeffs_torch`) instead of
/// 22 fraction bits, and the horizontal pass always runs first, over every row. Against
/// Pillow ([`resize_bicubic`]) this moves a sample by a level now and then.
pub fn resize_bicubic_torch_u8(img: &RgbImage, width: usize, height: usize) -> RgbImage {
    assert!(
        width > 0 && height > 0,
        "resize to an empty image ({width}x{height})"
    );
    let (in_w, in_h) = (img.width(), img.height());
    if width == in_w && height == in_h {
        return img.clone();
    }
    let mut data = img.as_bytes().to_vec();
    let mut w = in_w;
    if width != in_w {
        let h = precompute_coeffs_torch(in_w, width);
        data = horizontal_pass(&data, in_w, 0, in_h, &h);
        w = width;
    }
    if height != in_h {
        let v = precompute_coeffs_torch(in_h, height);
        data = vertical_pass(&data, w, 0, &v);
    }
    RgbImage::new(width, height, data).expect("resize makes a buffer of its stated size")
}

/// One axis of PyTorch's antialiased bicubic weights for a `float32` tensor
/// (`_compute_index_ranges_weights<float>`): `(start, len, weights)` with `ksize` weights per
/// output, computed in `f32` where ATen uses `float` and in `f64` where it promotes.
fn coeffs_torch_f32(in_size: usize, out_size: usize) -> (usize, Vec<usize>, Vec<usize>, Vec<f32>) {
    let scale = in_size as f32 / out_size as f32;
    let support: f32 = if scale >= 1.0 {
        (2.0 * f64::from(scale)) as f32
    } else {
        2.0
    };
    let ksize = support.ceil() as usize * 2 + 1;
    let invscale: f32 = if scale >= 1.0 {
        (1.0 / f64::from(scale)) as f32
    } else {
        1.0
    };
    let mut start = Vec::with_capacity(out_size);
    let mut len = Vec::with_capacity(out_size);
    let mut weights = vec![0f32; out_size * ksize];
    for i in 0..out_size {
        let center = (f64::from(scale) * (i as f64 + 0.5)) as f32;
        let xmin = ((f64::from(center - support) + 0.5) as i64).max(0);
        let xsize = (((f64::from(center + support) + 0.5) as i64).min(in_size as i64) - xmin)
            .clamp(0, ksize as i64) as usize;
        let w = &mut weights[i * ksize..i * ksize + xsize];
        let mut total = 0f32;
        for (j, wj) in w.iter_mut().enumerate() {
            let arg =
                ((f64::from((j as i64 + xmin) as f32 - center) + 0.5) * f64::from(invscale)) as f32;
            *wj = torch_cubic_f32(arg);
            total += *wj;
        }
        if total != 0.0 {
            for wj in w.iter_mut() {
                *wj /= total;
            }
        }
        start.push(xmin as usize);
        len.push(xsize);
    }
    (ksize, start, len, weights)
}

/// Resizes a float image (`[height][width][3]` row-major, any values) to `width` x `height` as
/// torchvision's antialiased bicubic `F.resize` does for a `float32` tensor on the CPU
/// (PyTorch 2.11's separable float kernel): horizontal pass then vertical, `f32` weights,
/// each output accumulated in `f32` as the compiled kernel does (see `torch_dot_f32`), no
/// rounding and no clamping. transformers' video processor runs this on `qwen_vl_utils`'
/// frames (floats) when its own `smart_resize` disagrees with theirs.
pub fn resize_bicubic_torch_f32(
    src: &[f32],
    in_w: usize,
    in_h: usize,
    width: usize,
    height: usize,
) -> Vec<f32> {
    assert_eq!(src.len(), in_w * in_h * 3, "float image buffer size");
    let mut data = src.to_vec();
    let mut w = in_w;
    if width != in_w {
        let (k, start, len, wts) = coeffs_torch_f32(in_w, width);
        let mut out = vec![0f32; in_h * width * 3];
        for (row_in, row_out) in data
            .chunks_exact(in_w * 3)
            .zip(out.chunks_exact_mut(width * 3))
        {
            for (x, px) in row_out.chunks_exact_mut(3).enumerate() {
                let taps = &wts[x * k..x * k + len[x]];
                for (ch, o) in px.iter_mut().enumerate() {
                    *o = torch_dot_f32(taps, |j| row_in[(start[x] + j) * 3 + ch]);
                }
            }
        }
        data = out;
        w = width;
    }
    if height != in_h {
        let (k, start, len, wts) = coeffs_torch_f32(in_h, height);
        let stride = w * 3;
        let mut out = vec![0f32; height * stride];
        for (y, row_out) in out.chunks_exact_mut(stride).enumerate() {
            let taps = &wts[y * k..y * k + len[y]];
            for (i, o) in row_out.iter_mut().enumerate() {
                *o = torch_dot_f32(taps, |j| data[(start[y] + j) * stride + i]);
            }
        }
        data = out;
    }
    data
}

/// Resizes `img` as torchvision's v1 `transforms.functional.resize(tensor, [height, width],
/// InterpolationMode.BICUBIC, antialias=True)` does for a `uint8` tensor, which is what
/// `qwen_vl_utils.fetch_video` calls: the tensor is converted to `float32`, resized by the
/// float kernel ([`resize_bicubic_torch_f32`]), clamped to 0..=255 and rounded half to even.
/// (The v2 API keeps `uint8` and runs another kernel, [`resize_bicubic_torch_u8`]; the two
/// differ by up to ~15 levels where a bicubic overshoot is clamped between the passes.) The
/// same size is a copy; sizes of zero are not allowed (panics).
pub fn resize_bicubic_torch_via_f32(img: &RgbImage, width: usize, height: usize) -> RgbImage {
    assert!(
        width > 0 && height > 0,
        "resize to an empty image ({width}x{height})"
    );
    if width == img.width() && height == img.height() {
        return img.clone();
    }
    let src: Vec<f32> = img.as_bytes().iter().map(|&v| f32::from(v)).collect();
    let out = resize_bicubic_torch_f32(&src, img.width(), img.height(), width, height);
    let data = out
        .iter()
        .map(|&v| v.clamp(0.0, 255.0).round_ties_even() as u8)
        .collect();
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
