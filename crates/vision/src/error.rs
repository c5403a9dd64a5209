//! The crate's one error type.
//!
//! Every variant that concerns a file names its path first, then the reason, so a message
//! read in a training log points straight at the bad image.

use std::path::PathBuf;

/// Everything that can go wrong between an image file and its Qwen2-VL patches.
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

    /// `preprocessor_config.json` could not be read.
    #[error("{}: cannot read image processor config: {source}", path.display())]
    ConfigUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `preprocessor_config.json` is not valid JSON of the expected shape.
    #[error("{}: invalid image processor config: {source}", path.display())]
    ConfigParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A config value this crate cannot honour (a zero patch size, a filter other than
    /// bicubic, an incomplete `size`, ...).
    #[error("invalid image processor config: {0}")]
    InvalidConfig(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
