//! `qwen_vl_utils.fetch_video` (decode, sample, size) followed by transformers'
//! `Qwen2VLVideoProcessor` (resize, rescale + normalise, pad to the temporal patch, patchify).

use std::path::{Path, PathBuf};

use super::decode::{decode_video_frames, frame_files, probe_video};
use super::sampling::{VideoOptions, FRAME_FACTOR};
use crate::{
    decode_frame_file, resize_bicubic, resize_bicubic_torch_f32, resize_bicubic_torch_u8,
    resize_bicubic_torch_via_f32, smart_resize, Error, GridThw, PixelValues, ProcessorConfig,
    Result, RgbImage,
};

/// A video as `qwen_vl_utils.fetch_video` hands it to the processor: the sampled frames,
/// resized to the per-video size (8-bit values: fetch_video's `float` tensor holds whole
/// numbers), and where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedVideo {
    /// The frames, all of one size, in order.
    pub frames: Vec<RgbImage>,
    /// The frame index of each frame in the source (presentation order); for a folder, the
    /// position of each file, the repeated last frame included.
    pub indices: Vec<usize>,
    /// The source's frame rate (the container's; for a folder, `sample_fps`).
    pub video_fps: f64,
    /// Frames in the source's sampled range (for a folder: the padded frame count).
    pub total_frames: usize,
    /// The rate of the kept frames (`nframes / total_frames · video_fps`; for a folder,
    /// `sample_fps`): Qwen2.5-VL's `second_per_grid_t` is `temporal_patch_size / sample_fps`.
    pub sample_fps: f64,
}

/// `Qwen2VLVideoProcessor` (transformers 4.57), with `qwen_vl_utils` 0.0.14 in front of it
/// for files and folders. [`Default`] has the class defaults.
#[derive(Clone, Debug)]
pub struct VideoProcessor {
    config: ProcessorConfig,
}

impl Default for VideoProcessor {
    fn default() -> Self {
        VideoProcessor {
            config: ProcessorConfig::video_default(),
        }
    }
}

/// The config files `BaseVideoProcessor.from_pretrained` tries, in order.
const CONFIG_FILES: [&str; 3] = [
    "video_preprocessor_config.json",
    "preprocessor_config.json",
    "processor_config.json",
];

/// The frames of one video in the processor: 8-bit frames, or floats after a resize of
/// `qwen_vl_utils`' float frames.
enum Frames<'a> {
    Bytes(&'a [RgbImage]),
    Floats {
        frames: Vec<Vec<f32>>,
        width: usize,
        height: usize,
    },
}

impl VideoProcessor {
    /// A processor with these settings (validated).
    pub fn new(config: ProcessorConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// A processor configured from a model directory as `AutoVideoProcessor.from_pretrained`
    /// does: the first of `video_preprocessor_config.json`, `preprocessor_config.json` (hub
    /// Qwen2-VL checkpoints have only this one, so their image limits apply to video frames
    /// too) and `processor_config.json` that exists, read by
    /// [`ProcessorConfig::video_from_file`]. None of them is an error naming the first.
    ///
    /// The config's `do_sample_frames` / `fps` / `num_frames` are not read: frames are
    /// sampled by `qwen_vl_utils` ([`VideoOptions`]), and Qwen2-VL's model card calls the
    /// processor with `do_sample_frames=False` (its configs say `false` too).
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        let found = CONFIG_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
        match found {
            Some(path) => Self::new(ProcessorConfig::video_from_file(&path)?),
            None => Err(Error::ConfigUnreadable {
                path: dir.join(CONFIG_FILES[0]),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no video_preprocessor_config.json, preprocessor_config.json or \
                     processor_config.json in the model directory",
                ),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// `patch_size · merge_size` (28): qwen_vl_utils' `image_factor`.
    fn factor(&self) -> usize {
        self.config.factor()
    }

    /// `qwen_vl_utils.fetch_video({"video": path, **options})` for a video file: the container's
    /// frame count and rate, the sampled indices, the frames decoded and resized to the
    /// per-video size (torchvision v1's antialiased bicubic on `uint8`, which goes through
    /// `float32`: [`resize_bicubic_torch_via_f32`]).
    pub fn fetch_video(&self, path: &Path, options: &VideoOptions) -> Result<FetchedVideo> {
        options.validate()?;
        let in_file = |e: Error| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let info = probe_video(path)?;
        let sampling = options.sample(info.frames, info.fps).map_err(in_file)?;
        let (_, frames) = decode_video_frames(path, &sampling.indices)?;
        let (h, w) = (frames[0].height(), frames[0].width());
        let (rh, rw) = options
            .video_size(frames.len(), h, w, self.factor())
            .map_err(in_file)?;
        let frames = resize_all(path, &frames, rw, rh, resize_bicubic_torch_via_f32)?;
        Ok(FetchedVideo {
            frames,
            indices: sampling.indices,
            video_fps: info.fps,
            total_frames: sampling.total_frames,
            sample_fps: sampling.sample_fps,
        })
    }

    /// `fetch_video({"video": [frame files], **options})` for a list of frame images: each
    /// file decoded as `fetch_image` does (RGBA composited on white, other modes converted to
    /// RGB) and resized with Pillow's bicubic to its own `smart_resize` size (the image
    /// limits, or `min_pixels` / `max_pixels`), the list padded to an even length with its last
    /// frame, then resized as a video ([`resize_bicubic_torch_via_f32`], usually no change).
    pub fn fetch_frames<P: AsRef<Path>>(
        &self,
        files: &[P],
        options: &VideoOptions,
    ) -> Result<FetchedVideo> {
        options.validate()?;
        let mut frames = Vec::with_capacity(files.len() + 1);
        for file in files {
            let file = file.as_ref();
            let img = decode_frame_file(file)?;
            let (h, w) = options
                .frame_size(img.height(), img.width(), self.factor())
                .map_err(|e| Error::InFile {
                    path: file.to_path_buf(),
                    source: Box::new(e),
                })?;
            frames.push(resize_bicubic(&img, w, h));
        }
        let origin: PathBuf = files
            .first()
            .and_then(|f| f.as_ref().parent())
            .map_or_else(PathBuf::new, Path::to_path_buf);
        let Some(last) = frames.last().cloned() else {
            return Err(Error::EmptyFrameFolder { path: origin });
        };
        let n = frames.len().div_ceil(FRAME_FACTOR) * FRAME_FACTOR;
        frames.resize(n, last);
        check_sizes(&origin, &frames)?;
        let (h, w) = (frames[0].height(), frames[0].width());
        let (rh, rw) = options
            .video_size(n, h, w, self.factor())
            .map_err(|e| Error::InFile {
                path: origin.clone(),
                source: Box::new(e),
            })?;
        let frames = resize_all(&origin, &frames, rw, rh, resize_bicubic_torch_via_f32)?;
        let fps = options.folder_fps();
        Ok(FetchedVideo {
            frames,
            indices: (0..n).collect(),
            video_fps: fps,
            total_frames: n,
            sample_fps: fps,
        })
    }

    /// [`Self::fetch_frames`] on the image files of a folder, sorted by name
    /// ([`frame_files`](crate::frame_files)).
    pub fn fetch_frame_folder(&self, dir: &Path, options: &VideoOptions) -> Result<FetchedVideo> {
        self.fetch_frames(&frame_files(dir)?, options)
    }

    /// A video file or a folder of frames to `pixel_values_videos` + `video_grid_thw`:
    /// `fetch_video` ([`Self::fetch_video`] or [`Self::fetch_frame_folder`]) then the
    /// processor ([`Self::preprocess_fetched`]).
    pub fn preprocess_file(&self, path: &Path, options: &VideoOptions) -> Result<PixelValues> {
        let fetched = if path.is_dir() {
            self.fetch_frame_folder(path, options)?
        } else {
            self.fetch_video(path, options)?
        };
        self.preprocess_fetched(&fetched)
            .map_err(|e| Error::InFile {
                path: path.to_path_buf(),
                source: Box::new(e),
            })
    }

    /// Several videos (files or folders), each at its own size, as `processor(videos=[...])`:
    /// the rows of all videos concatenated, one grid per video.
    pub fn preprocess_files<P: AsRef<Path>>(
        &self,
        paths: &[P],
        options: &VideoOptions,
    ) -> Result<PixelValues> {
        let mut out = self.empty(paths.len());
        for path in paths {
            out.append(self.preprocess_file(path.as_ref(), options)?);
        }
        Ok(out)
    }

    /// The processor on `qwen_vl_utils`' output: its frames are a `float32` tensor, so when the
    /// processor's `smart_resize` (with its own `min_pixels` / `max_pixels`) asks for another
    /// size, torchvision resizes floats ([`resize_bicubic_torch_f32`], no rounding); when it asks for the same size (the usual case) nothing is resized.
    pub fn preprocess_fetched(&self, video: &FetchedVideo) -> Result<PixelValues> {
        let first = video
            .frames
            .first()
            .ok_or_else(|| Error::VideoOptions("a video without frames".into()))?;
        let (h, w) = (first.height(), first.width());
        let (rh, rw) = self.resized_size(h, w)?;
        if (rh, rw) == (h, w) {
            return self.patchify(Frames::Bytes(&video.frames));
        }
        let frames = video
            .frames
            .iter()
            .map(|f| {
                let src: Vec<f32> = f.as_bytes().iter().map(|&v| f32::from(v)).collect();
                resize_bicubic_torch_f32(&src, w, h, rw, rh)
            })
            .collect();
        self.patchify(Frames::Floats {
            frames,
            width: rw,
            height: rh,
        })
    }

    /// The processor on 8-bit frames of one video (decoded elsewhere, already sampled):
    /// `smart_resize` with the processor's limits, torchvision's antialiased bicubic on
    /// `uint8` ([`resize_bicubic_torch_u8`]), rescale + normalise, frame count padded to a
    /// multiple of `temporal_patch_size` with the last frame, patches in the reference's order.
    pub fn preprocess_frames(&self, frames: &[RgbImage]) -> Result<PixelValues> {
        let first = frames
            .first()
            .ok_or_else(|| Error::VideoOptions("a video without frames".into()))?;
        check_sizes(Path::new("<frames>"), frames)?;
        let (rh, rw) = self.resized_size(first.height(), first.width())?;
        if (rh, rw) == (first.height(), first.width()) {
            return self.patchify(Frames::Bytes(frames));
        }
        let resized: Vec<RgbImage> = frames
            .iter()
            .map(|f| resize_bicubic_torch_u8(f, rw, rh))
            .collect();
        self.patchify(Frames::Bytes(&resized))
    }

    /// The `(height, width)` the processor resizes frames of this size to (their own size
    /// without `do_resize`).
    pub fn resized_size(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        let c = &self.config;
        if !c.do_resize {
            return Ok((height, width));
        }
        smart_resize(height, width, c.factor(), c.min_pixels, c.max_pixels)
    }

    /// The grid of `frames` processor-ready frames of `height` x `width` (the size
    /// [`FetchedVideo`] frames have), without touching pixels: `t` counts the padding frame.
    pub fn grid(&self, frames: usize, height: usize, width: usize) -> Result<GridThw> {
        let (h, w) = self.resized_size(height, width)?;
        let c = &self.config;
        if h % c.factor() != 0 || w % c.factor() != 0 {
            return Err(Error::NotDivisible {
                height: h,
                width: w,
                factor: c.factor(),
            });
        }
        Ok(GridThw {
            t: padded_len(frames, c.temporal_patch_size)? / c.temporal_patch_size,
            h: h / c.patch_size,
            w: w / c.patch_size,
        })
    }

    fn empty(&self, videos: usize) -> PixelValues {
        PixelValues {
            data: Vec::new(),
            patch_dim: self.config.patch_dim(),
            grids: Vec::with_capacity(videos),
        }
    }

    /// For each channel, the processor's value of every byte: transformers' fused
    /// rescale + normalise, all in `float32`: `(x − mean·(1/rescale)) / (std·(1/rescale))` with
    /// the mean and std multiplied in `float32` by `1/rescale_factor` rounded to `float32`
    /// (255); rescale alone is `x · float32(rescale_factor)`.
    fn fused(&self) -> ([f32; 3], [f32; 3], Option<f32>) {
        let c = &self.config;
        match (c.do_rescale, c.do_normalize) {
            (true, true) => {
                let inv = (1.0 / c.rescale_factor) as f32;
                (
                    c.image_mean.map(|m| m * inv),
                    c.image_std.map(|s| s * inv),
                    None,
                )
            }
            (false, true) => (c.image_mean, c.image_std, None),
            (true, false) => ([0.0; 3], [1.0; 3], Some(c.rescale_factor as f32)),
            (false, false) => ([0.0; 3], [1.0; 3], None),
        }
    }

    /// Rescale + normalise, pad the frame count, cut into patches:
    /// `patches.view(t', tp, c, h/m, m, p, w/m, m, p).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)`.
    /// Rows go by temporal patch, then merge block (row-major), then patch within the block;
    /// each row is `[channel][frame in the temporal patch][py][px]`.
    fn patchify(&self, frames: Frames<'_>) -> Result<PixelValues> {
        let c = &self.config;
        let (count, width, height) = match &frames {
            Frames::Bytes(f) => (f.len(), f[0].width(), f[0].height()),
            Frames::Floats {
                frames,
                width,
                height,
            } => (frames.len(), *width, *height),
        };
        let f = c.factor();
        if height % f != 0 || width % f != 0 {
            return Err(Error::NotDivisible {
                height,
                width,
                factor: f,
            });
        }
        let (mean, std, scale) = self.fused();
        let norm = |ch: usize, x: f32| -> f32 {
            match scale {
                Some(s) => x * s,
                None => (x - mean[ch]) / std[ch],
            }
        };
        let luts: [[f32; 256]; 3] =
            std::array::from_fn(|ch| std::array::from_fn(|v| norm(ch, v as f32)));
        let (p, m, tp) = (c.patch_size, c.merge_size, c.temporal_patch_size);
        let padded = padded_len(count, tp)?;
        let (gt, gh, gw) = (padded / tp, height / p, width / p);
        let mut data = Vec::with_capacity(gt * gh * gw * c.patch_dim());
        for t in 0..gt {
            for bh in 0..gh / m {
                for bw in 0..gw / m {
                    for mh in 0..m {
                        for mw in 0..m {
                            let (y0, x0) = ((bh * m + mh) * p, (bw * m + mw) * p);
                            for (ch, lut) in luts.iter().enumerate() {
                                for k in 0..tp {
                                    // Frames past the end repeat the last one.
                                    let fi = (t * tp + k).min(count - 1);
                                    for py in 0..p {
                                        let at = ((y0 + py) * width + x0) * 3;
                                        match &frames {
                                            Frames::Bytes(f) => data.extend(
                                                f[fi].as_bytes()[at..at + p * 3]
                                                    .iter()
                                                    .skip(ch)
                                                    .step_by(3)
                                                    .map(|&v| lut[v as usize]),
                                            ),
                                            Frames::Floats { frames, .. } => data.extend(
                                                frames[fi][at..at + p * 3]
                                                    .iter()
                                                    .skip(ch)
                                                    .step_by(3)
                                                    .map(|&v| norm(ch, v)),
                                            ),
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(PixelValues {
            data,
            patch_dim: c.patch_dim(),
            grids: vec![GridThw {
                t: gt,
                h: gh,
                w: gw,
            }],
        })
    }
}

/// The frame count after padding: unchanged when a multiple of `tp`, else `tp − 1` copies of
/// the last frame are added (as the reference does; for `tp = 2` that makes it even).
fn padded_len(count: usize, tp: usize) -> Result<usize> {
    if count == 0 {
        return Err(Error::VideoOptions("a video without frames".into()));
    }
    let n = if count.is_multiple_of(tp) {
        count
    } else {
        count + tp - 1
    };
    if !n.is_multiple_of(tp) {
        return Err(Error::VideoOptions(format!(
            "{count} frames padded with {} copies do not fill temporal patches of {tp}",
            tp - 1
        )));
    }
    Ok(n)
}

/// All frames of one video must have one size (the reference stacks them).
fn check_sizes(origin: &Path, frames: &[RgbImage]) -> Result<()> {
    let first = (frames[0].width(), frames[0].height());
    for (i, f) in frames.iter().enumerate() {
        let size = (f.width(), f.height());
        if size != first {
            return Err(Error::FrameSizes {
                path: origin.to_path_buf(),
                first,
                other: size,
                frame: i,
            });
        }
    }
    Ok(())
}

fn resize_all(
    origin: &Path,
    frames: &[RgbImage],
    width: usize,
    height: usize,
    resize: fn(&RgbImage, usize, usize) -> RgbImage,
) -> Result<Vec<RgbImage>> {
    check_sizes(origin, frames)?;
    Ok(frames.iter().map(|f| resize(f, width, height)).collect())
}
