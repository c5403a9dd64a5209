//! Image and video files to 8-bit RGB to Qwen2-VL patches: the vision counterpart of `audio`.
//!
//! Videos (MP4 / MOV with H.264, or folders of frame images) go through [`VideoProcessor`]:
//! `qwen_vl_utils.fetch_video`'s decoding, frame sampling and sizing, then transformers'
//! `Qwen2VLVideoProcessor`; the output is the same [`PixelValues`] (rows of
//! `pixel_values_videos`, one `video_grid_thw` per video). The [`video`] module says which
//! decoder crates are used and why, and what parity is measured.
//!
//! The one job of this crate is the slow (PIL) `Qwen2VLImageProcessor` of transformers 4.57
//! with Pillow 13, with the reference's numbers: [`decode_file`] (PIL's `Image.open(path)
//! .convert("RGB")`) → [`smart_resize`] (the target size) → [`resize_bicubic`] (Pillow's
//! antialiased bicubic `Image.resize`, bit-identical) → rescale ×1/255, normalise with the
//! CLIP mean/std (numpy's `float64`/`float32` steps) and cut into `temporal_patch_size ×
//! patch_size²` patches in the reference's order ([`ImageProcessor::patchify`]). Settings come
//! from `preprocessor_config.json` ([`ProcessorConfig`]). It knows nothing of tensors: the
//! output is a plain row-major `Vec<f32>` `[rows, 1176]` plus one [`GridThw`] per image.
//!
//! Decoding uses the [`image`](https://docs.rs/image) crate with only its `png`, `jpeg`
//! (zune-jpeg) and `webp` (image-webp) features: pure Rust (no C library to link or ship,
//! like the rest of the workspace), the maintained decoder family of the ecosystem, and it
//! hands back the file's own bit depth and channels, so PIL's conversions to RGB can be
//! reproduced exactly. Its own resizers are not used: none of them is Pillow's.
//! PNG and WebP (lossy and lossless) decode exactly as PIL does; JPEG differs from
//! libjpeg-turbo by up to 4 levels on some samples (4:2:0 chroma upsampling and colour
//! conversion; measured in `tests/decode.rs`).
//!
//! The resize follows Pillow 13, which runs the vertical pass first when the height shrinks
//! by more than twice as many pixels as the width; Pillow ≤ 12 always ran the horizontal
//! pass first, so its output differs by a level or two on such images.
//!
//! ```no_run
//! # fn main() -> vision::Result<()> {
//! use std::path::Path;
//! let processor = vision::ImageProcessor::from_model_dir(Path::new("Qwen2-VL-7B-Instruct"))?;
//! let image = vision::decode_file(Path::new("cat.jpg"))?;
//! let pv = processor.preprocess(&[image])?;
//! assert_eq!(pv.patch_dim, 1176);
//! let tokens = pv.grids[0].tokens(processor.config().merge_size); // <|image_pad|> copies
//! # let _ = tokens; Ok(()) }
//! ```

mod config;
mod decode;
mod error;
mod processor;
mod resize;
mod rgb;
mod smart_resize;
pub mod video;

pub use config::{
    ProcessorConfig, CLIP_MEAN, CLIP_STD, DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, PIL_BICUBIC,
    VIDEO_DEFAULT_MAX_PIXELS, VIDEO_DEFAULT_MIN_PIXELS,
};
pub use decode::{decode_bytes, decode_file, decode_frame_file};
pub use error::{Error, Result};
pub use processor::{GridThw, ImageProcessor, PixelValues};
pub use resize::{
    resize_bicubic, resize_bicubic_torch_f32, resize_bicubic_torch_u8, resize_bicubic_torch_via_f32,
};
pub use rgb::RgbImage;
pub use smart_resize::smart_resize;
pub use video::{
    decode_video, decode_video_frames, frame_files, linspace_round, probe_video, qwen_smart_resize,
    FetchedVideo, FrameSampling, VideoInfo, VideoOptions, VideoProcessor, FPS, FPS_MAX_FRAMES,
    FPS_MIN_FRAMES, FRAME_FACTOR, IMAGE_MAX_TOKENS, IMAGE_MIN_TOKENS, MODEL_SEQ_LEN, SAMPLE_FPS,
    VIDEO_MAX_TOKENS, VIDEO_MIN_TOKENS,
};
