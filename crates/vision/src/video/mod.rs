//! Videos: MP4 / MOV files with H.264, and folders of frame images, to Qwen2-VL patches.
//!
//! The reference is what a Qwen2-VL user runs: `qwen_vl_utils` 0.0.14's `fetch_video`
//! (decode, sample frames at 2 fps as `linspace(...).round()` indices, resize every frame to a
//! per-video size with torchvision's antialiased bicubic), then transformers 4.57's
//! `Qwen2VLVideoProcessor` (resize again if its own limits disagree, fused rescale +
//! normalise in `float32`, frame count padded to the temporal patch with the last frame,
//! patches in `pixel_values_videos` order, `video_grid_thw`).
//!
//! ## Decoding, and why these crates
//!
//! * **Container**: a small MP4 / QuickTime demuxer of our own (module `mp4`): the first
//!   video track's `mdhd` timescale, `stsd` sample entry and `avcC`, and its sample table
//!   (`stts`, `ctts`, `stsc`, `stsz`, `stco` / `co64`), then each sample read at its offset.
//!   The `mp4` crate (0.14) was considered and not used: it refuses an `avc1` entry whose
//!   first child box is not `avcC` and its track API hands out only the first SPS/PPS;
//!   Mozilla's `mp4parse` (MPL-2.0) exposes its sample table only behind its `unstable-api`
//!   feature. The subset needed here is ~600 lines with its checks and lets every failure
//!   become a typed error naming the file.
//! * **H.264**: the [`openh264`](https://docs.rs/openh264) crate (0.9.9), Cisco's OpenH264
//!   decoder built from its bundled C++ source by `cc`: no system library, so the binaries stay
//!   self-contained. Its README lists Constrained Baseline, but the decoder also handles
//!   CABAC, B-slices and 8x8 transforms, i.e. the Main / High profile 8-bit 4:2:0 progressive
//!   streams cameras and encoders make (the fixture is libx264's High profile with B-frames),
//!   and with its reordering it returns frames in display order. (A cold
//!   build adds ~35 s on 2 cores, 30 s of it `openh264-sys2`'s build script compiling the C++;
//!   without `nasm` on the build machine its assembly is skipped and the C++ fallback is used:
//!   the same pixels, slower.) 4:2:2 / 4:4:4 / 10-bit / interlaced
//!   streams, and other codecs (HEVC, AV1, VP9, MPEG-4 Part 2), are refused with
//!   [`Error::UnsupportedCodec`](crate::Error::UnsupportedCodec).
//! * **Frame rate and count** come from the container: the frame count is the sample count,
//!   the rate FFmpeg's `avg_frame_rate` for MP4 (`frames × timescale / Σ durations`), which is
//!   what decord, torchcodec and PyAV report.
//! * **YUV → RGB**: FFmpeg 8 libswscale's conversion as PyAV's `to_ndarray(format="rgb24")`
//!   runs it (nearest chroma, swscale's 16-bit fixed point; BT.601 unless the SPS's VUI names
//!   BT.709 / FCC / SMPTE 240M / BT.2020; limited range unless it says full range): bit-exact
//!   against the reference frames (see the `yuv` module).
//!
//! ## Resizing
//!
//! Three resizes, each bit-exact against its reference (`tests/video.rs`):
//!
//! * `fetch_video` resizes with torchvision's v1 `transforms.functional.resize(...,
//!   BICUBIC, antialias=True)`, which runs a `uint8` tensor through PyTorch's `float32`
//!   kernel and rounds: [`resize_bicubic_torch_via_f32`](crate::resize_bicubic_torch_via_f32).
//!   The float kernel is reproduced with the FMA contractions and the four-wide vectorised
//!   sums of the x86-64 PyTorch 2.11 wheel as it runs on an AVX-512 CPU (where the fixtures
//!   were made); another build of PyTorch may round differently in the last bit, which after
//!   rounding moves a rare sample by one level.
//! * The processor resizes `fetch_video`'s float frames (when its own limits ask for another
//!   size) with the same float kernel, unrounded:
//!   [`resize_bicubic_torch_f32`](crate::resize_bicubic_torch_f32).
//! * The processor given `uint8` frames uses torchvision v2, which keeps `uint8` and runs
//!   PyTorch's Pillow-SIMD port with `int16` weights:
//!   [`resize_bicubic_torch_u8`](crate::resize_bicubic_torch_u8).
//!
//! A folder's frames are first resized one by one with PIL (`fetch_image`), i.e. Pillow's
//! bicubic ([`resize_bicubic`](crate::resize_bicubic)), as images are. These four resizes of
//! the same picture differ from each other by a level or more on some samples (up to ~15
//! between the `uint8` and the float kernels, where overshoot is clamped between passes).
//!
//! ```no_run
//! # fn main() -> vision::Result<()> {
//! use std::path::Path;
//! let processor = vision::VideoProcessor::from_model_dir(Path::new("Qwen2-VL-7B-Instruct"))?;
//! let pv = processor.preprocess_file(Path::new("clip.mp4"), &vision::VideoOptions::default())?;
//! let tokens = pv.grids[0].tokens(processor.config().merge_size); // <|video_pad|> copies
//! # let _ = tokens; Ok(()) }
//! ```

mod decode;
mod h264;
mod mp4;
mod processor;
mod sampling;
mod yuv;

pub use decode::{decode_video, decode_video_frames, frame_files, probe_video, VideoInfo};
pub use processor::{FetchedVideo, VideoProcessor};
pub use sampling::{
    linspace_round, qwen_smart_resize, FrameSampling, VideoOptions, FPS, FPS_MAX_FRAMES,
    FPS_MIN_FRAMES, FRAME_FACTOR, IMAGE_MAX_TOKENS, IMAGE_MIN_TOKENS, MODEL_SEQ_LEN, SAMPLE_FPS,
    VIDEO_MAX_TOKENS, VIDEO_MIN_TOKENS,
};
