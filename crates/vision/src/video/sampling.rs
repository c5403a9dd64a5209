//! Frame sampling and per-video sizing as `qwen_vl_utils` 0.0.14 does it (`smart_nframes`,
//! `calculate_video_frame_range`, the `linspace(...).round()` index rule, `fetch_video`'s
//! pixel budget and its `smart_resize`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `FPS`: frames per second sampled from a video file when neither `fps` nor `nframes` is
/// given.
pub const FPS: f64 = 2.0;
/// `FRAME_FACTOR`: the number of sampled frames is a multiple of this.
pub const FRAME_FACTOR: usize = 2;
/// `FPS_MIN_FRAMES`: the least frames sampled at a frame rate.
pub const FPS_MIN_FRAMES: usize = 4;
/// `FPS_MAX_FRAMES`: the most frames sampled at a frame rate.
pub const FPS_MAX_FRAMES: usize = 768;
/// `VIDEO_MIN_TOKEN_NUM`: a video frame's least pixels, in `factor²` units (128 · 28² =
/// 100 352 pixels for Qwen2-VL: qwen_vl_utils ≤ 0.0.11 called it `VIDEO_MIN_PIXELS`).
pub const VIDEO_MIN_TOKENS: usize = 128;
/// `VIDEO_MAX_TOKEN_NUM`: a video frame's most pixels, in `factor²` units (768 · 28² =
/// 602 112 pixels: `VIDEO_MAX_PIXELS`).
pub const VIDEO_MAX_TOKENS: usize = 768;
/// `MODEL_SEQ_LEN`'s default: the whole video's pixel budget is `MODEL_SEQ_LEN · factor² ·
/// 0.9` (90 316 800 for Qwen2-VL: `VIDEO_TOTAL_PIXELS`). qwen_vl_utils reads the
/// environment variable `MODEL_SEQ_LEN`; here the option `total_pixels` sets the budget.
pub const MODEL_SEQ_LEN: usize = 128_000;
/// `IMAGE_MIN_TOKEN_NUM`: an image's (and a listed frame's) least pixels, in `factor²` units.
pub const IMAGE_MIN_TOKENS: usize = 4;
/// `IMAGE_MAX_TOKEN_NUM`: an image's (and a listed frame's) most pixels, in `factor²` units.
pub const IMAGE_MAX_TOKENS: usize = 16384;
/// `sample_fps`'s default for a list (folder) of frames.
pub const SAMPLE_FPS: f64 = 2.0;
/// `MAX_RATIO`: the longest side may be at most this many times the shortest.
const MAX_RATIO: f64 = 200.0;

/// How a video is sampled and sized: the keys of a `{"type": "video", ...}` content element
/// that `qwen_vl_utils.fetch_video` reads, with its defaults. Unknown keys are refused.
///
/// A video file is sampled at `fps` (default [`FPS`] = 2) or to exactly `nframes` frames
/// (rounded to a multiple of 2), never both; a folder of frames uses every frame (padded to
/// an even count by repeating the last) and only records `sample_fps`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoOptions {
    /// Frames sampled per second of video (`None`: 2, unless `nframes` is given).
    pub fps: Option<f64>,
    /// Exactly this many frames (rounded half to even to a multiple of 2); excludes `fps`.
    pub nframes: Option<usize>,
    /// With `fps`: the least frames (rounded up to even; default 4).
    pub min_frames: Option<usize>,
    /// With `fps`: the most frames (rounded down to even; default `min(768, frames)`).
    pub max_frames: Option<usize>,
    /// A frame's least pixels after resizing (default 128 · factor², 100 352; for a folder's
    /// per-frame resize, 4 · factor²).
    pub min_pixels: Option<usize>,
    /// A frame's most pixels after resizing; capped by the video's share of `total_pixels`
    /// (default 768 · factor² = 602 112; for a folder's per-frame resize 16384 · factor²).
    pub max_pixels: Option<usize>,
    /// The whole video's pixel budget (default 128 000 · factor² · 0.9 = 90 316 800):
    /// a frame gets at most `total_pixels / frames · 2`, but never less than
    /// `1.05 · min_pixels`.
    pub total_pixels: Option<usize>,
    /// Start of the clip, seconds (video files only).
    pub video_start: Option<f64>,
    /// End of the clip, seconds (video files only).
    pub video_end: Option<f64>,
    /// Frame rate attributed to a folder of frames (default 2).
    pub sample_fps: Option<f64>,
    /// Resize every frame to `smart_resize(resized_height, resized_width)` instead (both or
    /// neither).
    pub resized_height: Option<usize>,
    /// See `resized_height`.
    pub resized_width: Option<usize>,
}

/// Python's `round(x / factor) * factor` (half to even).
fn round_by_factor(x: f64, factor: usize) -> usize {
    (x / factor as f64).round_ties_even() as usize * factor
}

/// `math.ceil(x / factor) * factor`.
fn ceil_by_factor(x: f64, factor: usize) -> usize {
    (x / factor as f64).ceil() as usize * factor
}

/// `math.floor(x / factor) * factor`.
fn floor_by_factor(x: f64, factor: usize) -> usize {
    (x / factor as f64).floor().max(0.0) as usize * factor
}

/// `qwen_vl_utils.smart_resize` (which differs from transformers' in where it applies
/// `max(factor, ·)`: before the pixel limits, not after): the `(height, width)` with both sides
/// multiples of `factor`, near the aspect ratio, within the pixel limits. Limits may be
/// fractional (the per-video budget is).
pub fn qwen_smart_resize(
    height: usize,
    width: usize,
    factor: usize,
    min_pixels: f64,
    max_pixels: f64,
) -> Result<(usize, usize)> {
    if height == 0 || width == 0 {
        return Err(Error::EmptyImage { width, height });
    }
    if max_pixels < min_pixels {
        return Err(Error::VideoOptions(format!(
            "max_pixels ({max_pixels}) must be at least min_pixels ({min_pixels})"
        )));
    }
    let (h, w) = (height as f64, width as f64);
    let ratio = h.max(w) / h.min(w);
    if ratio > MAX_RATIO {
        return Err(Error::AspectRatio {
            height,
            width,
            ratio,
        });
    }
    let mut h_bar = factor.max(round_by_factor(h, factor));
    let mut w_bar = factor.max(round_by_factor(w, factor));
    if (h_bar * w_bar) as f64 > max_pixels {
        let beta = ((height * width) as f64 / max_pixels).sqrt();
        h_bar = floor_by_factor(h / beta, factor);
        w_bar = floor_by_factor(w / beta, factor);
    } else if ((h_bar * w_bar) as f64) < min_pixels {
        let beta = (min_pixels / (height * width) as f64).sqrt();
        h_bar = ceil_by_factor(h * beta, factor);
        w_bar = ceil_by_factor(w * beta, factor);
    }
    if h_bar == 0 || w_bar == 0 {
        return Err(Error::VideoOptions(format!(
            "a {height}x{width} frame resizes to {h_bar}x{w_bar} under max_pixels {max_pixels}"
        )));
    }
    Ok((h_bar, w_bar))
}

/// Which frames of a video file are kept, and at what rate they are.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameSampling {
    /// Frame indices (0-based, presentation order), non-decreasing.
    pub indices: Vec<usize>,
    /// Frames in the sampled range (`video_start`..`video_end`, else the whole video).
    pub total_frames: usize,
    /// `nframes / total_frames · fps`: the rate of the sampled frames.
    pub sample_fps: f64,
}

impl VideoOptions {
    /// Refuses option combinations `qwen_vl_utils` refuses.
    pub fn validate(&self) -> Result<()> {
        if self.fps.is_some() && self.nframes.is_some() {
            return Err(Error::VideoOptions(
                "only accept either `fps` or `nframes`".into(),
            ));
        }
        if self.resized_height.is_some() != self.resized_width.is_some() {
            return Err(Error::VideoOptions(
                "give both resized_height and resized_width, or neither".into(),
            ));
        }
        for (name, v) in [("fps", self.fps), ("sample_fps", self.sample_fps)] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(Error::VideoOptions(format!(
                    "{name} must be a positive number"
                )));
            }
        }
        Ok(())
    }

    /// `calculate_video_frame_range`: the first and last frame (inclusive) of
    /// `video_start`..`video_end` and their count.
    pub fn frame_range(
        &self,
        total_frames: usize,
        video_fps: f64,
    ) -> Result<(usize, usize, usize)> {
        if video_fps <= 0.0 {
            return Err(Error::VideoOptions(
                "video_fps must be a positive number".into(),
            ));
        }
        if total_frames == 0 {
            return Err(Error::VideoOptions(
                "total_frames must be a positive integer".into(),
            ));
        }
        if self.video_start.is_none() && self.video_end.is_none() {
            return Ok((0, total_frames - 1, total_frames));
        }
        let max_duration = total_frames as f64 / video_fps;
        let clamp = |t: f64| t.min(max_duration).max(0.0);
        let start = self
            .video_start
            .map_or(0, |t| (clamp(t) * video_fps).ceil() as usize);
        let end = self.video_end.map_or(total_frames - 1, |t| {
            ((clamp(t) * video_fps).floor() as usize).min(total_frames - 1)
        });
        if start >= end {
            return Err(Error::VideoOptions(format!(
                "invalid time range: start frame {start} is not before end frame {end} \
                 ({total_frames} frames at {video_fps} fps)"
            )));
        }
        Ok((start, end, end - start + 1))
    }

    /// `smart_nframes`: how many frames to sample from `total_frames` at `video_fps`.
    pub fn nframes(&self, total_frames: usize, video_fps: f64) -> Result<usize> {
        self.validate()?;
        let n = match self.nframes {
            Some(n) => round_by_factor(n as f64, FRAME_FACTOR),
            None => {
                let fps = self.fps.unwrap_or(FPS);
                let min_frames = ceil_by_factor(
                    self.min_frames.unwrap_or(FPS_MIN_FRAMES) as f64,
                    FRAME_FACTOR,
                );
                let max_frames = floor_by_factor(
                    self.max_frames.unwrap_or(FPS_MAX_FRAMES.min(total_frames)) as f64,
                    FRAME_FACTOR,
                );
                let n = total_frames as f64 / video_fps * fps;
                let n = n
                    .max(min_frames as f64)
                    .min(max_frames as f64)
                    .min(total_frames as f64);
                floor_by_factor(n, FRAME_FACTOR)
            }
        };
        if !(FRAME_FACTOR..=total_frames).contains(&n) {
            return Err(Error::VideoOptions(format!(
                "nframes should in interval [{FRAME_FACTOR}, {total_frames}], but got {n}"
            )));
        }
        Ok(n)
    }

    /// The frames `fetch_video` keeps from a video of `total_frames` frames at `video_fps`
    /// (decord / torchcodec readers): the range, `smart_nframes`, then
    /// `torch.linspace(start, end, nframes).round()`.
    pub fn sample(&self, total_frames: usize, video_fps: f64) -> Result<FrameSampling> {
        let (start, end, count) = self.frame_range(total_frames, video_fps)?;
        let n = self.nframes(count, video_fps)?;
        Ok(FrameSampling {
            indices: linspace_round(start, end, n),
            total_frames: count,
            sample_fps: n as f64 / (count as f64).max(1e-6) * video_fps,
        })
    }

    /// `fetch_video`'s size for `nframes` frames of `height` x `width`: `min_pixels`, the
    /// per-video `max_pixels` (`max(min(768·f², total_pixels / nframes · 2), ⌊1.05 ·
    /// min_pixels⌋)`, lowered to the option's `max_pixels`), then [`qwen_smart_resize`];
    /// or `smart_resize(resized_height, resized_width)` with the image limits.
    pub fn video_size(
        &self,
        nframes: usize,
        height: usize,
        width: usize,
        factor: usize,
    ) -> Result<(usize, usize)> {
        let f2 = factor * factor;
        if let (Some(rh), Some(rw)) = (self.resized_height, self.resized_width) {
            return qwen_smart_resize(
                rh,
                rw,
                factor,
                (IMAGE_MIN_TOKENS * f2) as f64,
                (IMAGE_MAX_TOKENS * f2) as f64,
            );
        }
        let min_pixels = self.min_pixels.unwrap_or(VIDEO_MIN_TOKENS * f2) as f64;
        let total_pixels = self
            .total_pixels
            .map_or(MODEL_SEQ_LEN as f64 * f2 as f64 * 0.9, |t| t as f64);
        let budget = ((VIDEO_MAX_TOKENS * f2) as f64)
            .min(total_pixels / nframes.max(1) as f64 * FRAME_FACTOR as f64)
            .max((min_pixels * 1.05).floor());
        let max_pixels = self.max_pixels.map_or(budget, |m| (m as f64).min(budget));
        qwen_smart_resize(height, width, factor, min_pixels, max_pixels)
    }

    /// `fetch_image`'s size for one listed frame of `height` x `width` (the image limits,
    /// `min_pixels` / `max_pixels` when given).
    pub fn frame_size(&self, height: usize, width: usize, factor: usize) -> Result<(usize, usize)> {
        let f2 = factor * factor;
        let (h, w) = match (self.resized_height, self.resized_width) {
            (Some(rh), Some(rw)) => (rh, rw),
            _ => (height, width),
        };
        let (min, max) = if self.resized_height.is_some() {
            (IMAGE_MIN_TOKENS * f2, IMAGE_MAX_TOKENS * f2)
        } else {
            (
                self.min_pixels.unwrap_or(IMAGE_MIN_TOKENS * f2),
                self.max_pixels.unwrap_or(IMAGE_MAX_TOKENS * f2),
            )
        };
        qwen_smart_resize(h, w, factor, min as f64, max as f64)
    }

    /// `sample_fps` for a folder of frames.
    pub fn folder_fps(&self) -> f64 {
        self.sample_fps.unwrap_or(SAMPLE_FPS)
    }
}

/// `torch.linspace(start, end, steps).round().long()` on the CPU in `float32`: `step = (end
/// − start) / (steps − 1)`, the first half of the points counted from `start`, the second half
/// back from `end`, rounded half to even. (ATen's vectorised kernel counts a whole SIMD
/// vector from the side its first element is on; the points differ by an ulp at most, which
/// changes no rounded index for the frame counts qwen_vl_utils makes: an even count never
/// puts a point on a .5, and the nearest is 1/(2·(steps−1)) away.)
pub fn linspace_round(start: usize, end: usize, steps: usize) -> Vec<usize> {
    if steps == 0 {
        return Vec::new();
    }
    if steps == 1 {
        return vec![start];
    }
    let (s, e) = (start as f32, end as f32);
    let step = (e - s) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            let v = if i < half {
                s + step * i as f32
            } else {
                e - step * (steps - i - 1) as f32
            };
            v.round_ties_even().max(0.0) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nframes_rules() {
        let o = VideoOptions::default();
        // 3 s at 10 fps, sampled at 2 fps: 6 frames.
        assert_eq!(o.nframes(30, 10.0).unwrap(), 6);
        // 1 s: 2 frames, raised to FPS_MIN_FRAMES.
        assert_eq!(o.nframes(10, 10.0).unwrap(), 4);
        // A 3-frame clip: min 4 capped at 3 frames, floored to 2.
        assert_eq!(o.nframes(3, 10.0).unwrap(), 2);
        assert!(o.nframes(1, 10.0).is_err());
        let n = |n| VideoOptions {
            nframes: Some(n),
            ..Default::default()
        };
        assert_eq!(n(5).nframes(30, 10.0).unwrap(), 4); // round(2.5) = 2
        assert_eq!(n(7).nframes(30, 10.0).unwrap(), 8); // round(3.5) = 4
        assert!(n(40).nframes(30, 10.0).is_err());
        let both = VideoOptions {
            fps: Some(1.0),
            nframes: Some(4),
            ..Default::default()
        };
        assert!(both.nframes(30, 10.0).is_err());
    }

    #[test]
    fn linspace_indices() {
        assert_eq!(linspace_round(0, 29, 6), [0, 6, 12, 17, 23, 29]);
        assert_eq!(linspace_round(3, 3, 1), [3]);
        assert_eq!(linspace_round(0, 9, 4), [0, 3, 6, 9]);
    }

    #[test]
    fn frame_range_rules() {
        let o = VideoOptions {
            video_start: Some(0.55),
            video_end: Some(2.0),
            ..Default::default()
        };
        assert_eq!(o.frame_range(30, 10.0).unwrap(), (6, 20, 15));
        let bad = VideoOptions {
            video_start: Some(2.0),
            video_end: Some(1.0),
            ..Default::default()
        };
        assert!(bad.frame_range(30, 10.0).is_err());
    }

    #[test]
    fn qwen_resize_differs_from_transformers_only_in_the_floor() {
        assert_eq!(
            qwen_smart_resize(46, 78, 28, 3136.0, 9408.0).unwrap(),
            (56, 84)
        );
        // Far over the budget: the floor may reach 0 (transformers keeps `factor`).
        assert!(qwen_smart_resize(20, 3000, 28, 10.0, 784.0).is_err());
    }
}
