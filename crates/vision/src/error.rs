//! The crate's one error type.
//!
//! Every variant that concerns a file names its path first, then the reason, so a message
//! read in a training log points straight at the bad image, video or frame folder.

use std::path::PathBuf;

/// Everything that can go wrong between an image or video file and its Qwen2-VL patches.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read (missing, permissions, a directory, ...).
    #[error("{}: cannot read image file: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file exists but holds zero bytes.
    #[error("{}: image file is empty (0 bytes)", path.display())]
    EmptyFile { path: PathBuf },

    /// The content is not an image format this crate decodes (text, random bytes, GIF, ...).
    /// The format is told by the content, never by the file name, as PIL does.
    #[error(
        "{}: unrecognised or unsupported image format (supported: PNG, JPEG, WebP): {reason}",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf, reason: String },

    /// The file ends before its headers or its declared data do.
    #[error("{}: truncated image file (unexpected end of data): {reason}", path.display())]
    Truncated { path: PathBuf, reason: String },

    /// The stream is malformed (bad header fields, bad checksums, undecodable data, ...).
    #[error("{}: corrupt image data: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    /// The image is larger than the decoder's memory limits allow.
    #[error("{}: image too large to decode: {reason}", path.display())]
    TooLarge { path: PathBuf, reason: String },

    /// A pixel buffer whose length does not match its stated size.
    #[error("pixel buffer of {len} bytes does not hold a {width}x{height} RGB image")]
    BadBuffer {
        width: usize,
        height: usize,
        len: usize,
    },

    /// An image with no pixels (zero width or height).
    #[error("image has no pixels ({width}x{height})")]
    EmptyImage { width: usize, height: usize },

    /// `smart_resize` refuses images whose longer side is more than 200 times the shorter.
    #[error("absolute aspect ratio must be smaller than 200, got {ratio} ({width}x{height})")]
    AspectRatio {
        height: usize,
        width: usize,
        ratio: f64,
    },

    /// Without resizing, the image's sides must already be multiples of `patch_size *
    /// merge_size`.
    #[error("a {width}x{height} image cannot be cut into {factor}x{factor} merged patches")]
    NotDivisible {
        height: usize,
        width: usize,
        factor: usize,
    },

    /// A decoded file's image could not be processed (an aspect ratio over 200, ...): the
    /// file, then the reason.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },

    /// A video file could not be opened or read (missing, permissions, a directory, ...).
    #[error("{}: cannot read video file: {source}", path.display())]
    VideoUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The video file holds zero bytes.
    #[error("{}: video file is empty (0 bytes)", path.display())]
    VideoEmpty { path: PathBuf },

    /// The content is not an MP4 / QuickTime file (text, another container, ...). Told by the
    /// content, never by the file name.
    #[error(
        "{}: not an MP4/MOV video file (supported: MP4/MOV with H.264): {reason}",
        path.display()
    )]
    NotMp4 { path: PathBuf, reason: String },

    /// The video file ends before its boxes or its samples do.
    #[error("{}: truncated video file: {reason}", path.display())]
    VideoTruncated { path: PathBuf, reason: String },

    /// The container or the H.264 configuration is malformed.
    #[error("{}: corrupt video file: {reason}", path.display())]
    VideoCorrupt { path: PathBuf, reason: String },

    /// The movie has no video track (audio only, ...).
    #[error("{}: no video track", path.display())]
    NoVideoTrack { path: PathBuf },

    /// The video track is not in a codec (or an H.264 variant) this crate decodes.
    #[error("{}: unsupported video codec '{codec}': {reason}", path.display())]
    UnsupportedCodec {
        path: PathBuf,
        codec: String,
        reason: String,
    },

    /// The video track has no frames.
    #[error("{}: video track has no frames", path.display())]
    NoFrames { path: PathBuf },

    /// The H.264 decoder rejected a sample (0-based, in decoding order).
    #[error("{}: H.264 decoding failed at sample {sample}: {reason}", path.display())]
    DecodeFailed {
        path: PathBuf,
        sample: usize,
        reason: String,
    },

    /// A frame index past the video's last frame.
    #[error("{}: frame {index} asked of a video of {frames} frames", path.display())]
    FrameIndex {
        path: PathBuf,
        index: usize,
        frames: usize,
    },

    /// A folder of frames could not be listed.
    #[error("{}: cannot read frame folder: {source}", path.display())]
    FolderUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A folder of frames holds no image file (PNG, JPEG, WebP).
    #[error("{}: frame folder holds no image file (.png, .jpg, .jpeg, .webp)", path.display())]
    EmptyFrameFolder { path: PathBuf },

    /// The frames of one video do not all have the same size (after their per-frame resize).
    #[error(
        "{}: frames differ in size: {}x{} then {}x{} (frame {frame})",
        path.display(), first.0, first.1, other.0, other.1
    )]
    FrameSizes {
        path: PathBuf,
        first: (usize, usize),
        other: (usize, usize),
        frame: usize,
    },

    /// Video options or frame sampling that cannot be honoured (both `fps` and `nframes`, a
    /// frame count outside `2..=frames`, an empty time range, ...).
    #[error("invalid video options: {0}")]
    VideoOptions(String),

    /// `preprocessor_config.json` could not be read.
    #[error("{}: cannot read processor config: {source}", path.display())]
    ConfigUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `preprocessor_config.json` is not valid JSON of the expected shape.
    #[error("{}: invalid processor config: {source}", path.display())]
    ConfigParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A config value this crate cannot honour (a zero patch size, a filter other than
    /// bicubic, an incomplete `size`, ...).
    #[error("invalid processor config: {0}")]
    InvalidConfig(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
