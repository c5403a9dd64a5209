//! The size Qwen2-VL resizes an image to.

use crate::{Error, Result};

/// `transformers.models.qwen2_vl.image_processing_qwen2_vl.smart_resize`, exactly: the
/// `(height, width)` closest to the image's with both sides multiples of `factor` and
/// `height * width` within `min_pixels..=max_pixels`, keeping the aspect ratio.
///
/// * Both sides are first rounded to the nearest multiple of `factor` (Python's `round`: half
///   to even, so 42 / 28 = 1.5 rounds to 2 and 70 / 28 = 2.5 also to 2).
/// * Over `max_pixels`: `beta = sqrt(h * w / max_pixels)`, sides `max(factor, floor(side /
///   beta / factor) * factor)`.
/// * Else under `min_pixels`: `beta = sqrt(min_pixels / (h * w))`, sides `ceil(side * beta /
///   factor) * factor`.
///
/// All of it in `f64`, in the reference's order of operations. As in the reference, the result
/// is not checked again against the limits after the second step.
///
/// Errors: a `factor` of zero ([`Error::InvalidConfig`]), a side of zero ([`Error::EmptyImage`]; Python would divide by zero) and a longer
/// side more than 200 times the shorter ([`Error::AspectRatio`]).
pub fn smart_resize(
    height: usize,
    width: usize,
    factor: usize,
    min_pixels: usize,
    max_pixels: usize,
) -> Result<(usize, usize)> {
    if height == 0 || width == 0 {
        return Err(Error::EmptyImage { width, height });
    }
    if factor == 0 {
        return Err(Error::InvalidConfig("smart_resize factor of 0".into()));
    }
    let (h, w, f) = (height as f64, width as f64, factor as f64);
    let ratio = h.max(w) / h.min(w);
    if ratio > 200.0 {
        return Err(Error::AspectRatio {
            height,
            width,
            ratio,
        });
    }
    let mut h_bar = (h / f).round_ties_even() as usize * factor;
    let mut w_bar = (w / f).round_ties_even() as usize * factor;
    if h_bar * w_bar > max_pixels {
        // Python: (height * width) is an exact integer product, then true division.
        let beta = ((height * width) as f64 / max_pixels as f64).sqrt();
        h_bar = factor.max((h / beta / f).floor() as usize * factor);
        w_bar = factor.max((w / beta / f).floor() as usize * factor);
    } else if h_bar * w_bar < min_pixels {
        let beta = (min_pixels as f64 / (height * width) as f64).sqrt();
        h_bar = (h * beta / f).ceil() as usize * factor;
        w_bar = (w * beta / f).ceil() as usize * factor;
    }
    Ok((h_bar, w_bar))
}
