//! Image files to 8-bit RGB, the way `PIL.Image.open(path).convert("RGB")` does.
//!
//! The format is told by the content (the file's first bytes), never by its name, as PIL does:
//! a PNG named `.jpg` decodes, a text file named `.png` is an [`Error::UnsupportedFormat`].
//!
//! The conversion to RGB follows Pillow 13's `convert("RGB")` for what each decoder yields:
//!
//! | decoded as | RGB |
//! |---|---|
//! | RGB, 8 bit | as is |
//! | RGBA, 8 bit; palette (with or without `tRNS`) | alpha dropped, never composited |
//! | grey, 1/2/4/8 bit; grey + alpha | grey repeated in R, G and B (low bit depths scaled to 0..255: ×255, ×85, ×17); alpha dropped |
//! | RGB / RGBA / grey + alpha, 16 bit (PNG) | the high byte of each sample (Pillow's `;16B` unpackers) |
//! | grey, 16 bit (PNG, with or without `tRNS`) | `min(v, 255)`: Pillow opens it as mode `I;16`, whose conversion to RGB saturates instead of scaling |
//!
//! Like `Image.open`, nothing else is applied: no EXIF orientation, no ICC profile, no gamma.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageError, ImageFormat, ImageReader};

use crate::{Error, Result, RgbImage};

/// Reads and decodes an image file (PNG, JPEG or WebP) to 8-bit RGB. Every failure is an
/// [`Error`] naming `path`.
pub fn decode_file(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    decode_bytes(&bytes, path)
}

/// Decodes an encoded image held in memory (PNG, JPEG or WebP) to 8-bit RGB; `origin` (a
/// file name, an archive member, a URL) only names the image in error messages.
pub fn decode_bytes(bytes: &[u8], origin: &Path) -> Result<RgbImage> {
    let (decoded, format) = decode_dynamic(bytes, origin)?;
    let grey16_png = format == ImageFormat::Png && png_is_grey16(bytes);
    to_rgb(decoded, grey16_png, origin)
}

/// Reads and decodes an image file as `qwen_vl_utils`' `fetch_image` does (`to_rgb`), which is
/// how the frames of a video given as a list of images are read: an image PIL opens in mode
/// `RGBA` (a PNG of colour type 6, a WebP with alpha) is pasted on white with its alpha as the
/// mask (Pillow's `paste(mask=...)`: `t = 255·(255 − a) + c·a + 128`, then `(t + t/256) / 256`
/// in integers; bit-exact on the fixture); any other image is `convert("RGB")`ed as
/// [`decode_file`] does. (transformers' image processor, by contrast, drops alpha.)
pub fn decode_frame_file(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let (decoded, format) = decode_dynamic(&bytes, path)?;
    let rgba_mode = match format {
        ImageFormat::Png => bytes.len() > 25 && &bytes[12..16] == b"IHDR" && bytes[25] == 6,
        ImageFormat::WebP => decoded.color().has_alpha(),
        _ => false,
    };
    if !rgba_mode {
        let grey16_png = format == ImageFormat::Png && png_is_grey16(&bytes);
        return to_rgb(decoded, grey16_png, path);
    }
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    let rgba: Vec<[u8; 4]> = match decoded {
        DynamicImage::ImageRgba8(b) => b
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect(),
        DynamicImage::ImageRgba16(b) => b
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2], p[3]].map(|v| (v >> 8) as u8))
            .collect(),
        other => {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                reason: format!(
                    "unexpected pixel type {:?} for an RGBA image",
                    other.color()
                ),
            })
        }
    };
    let blend = |c: u8, a: u8| -> u8 {
        let t = 255 * (255 - u32::from(a)) + u32::from(c) * u32::from(a) + 128;
        (((t >> 8) + t) >> 8) as u8
    };
    let data = rgba
        .iter()
        .flat_map(|p| [blend(p[0], p[3]), blend(p[1], p[3]), blend(p[2], p[3])])
        .collect();
    RgbImage::new(w, h, data).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Checks and decodes an encoded image (PNG, JPEG or WebP): what the decoder produced, and the
/// format told by the content.
fn decode_dynamic(bytes: &[u8], origin: &Path) -> Result<(DynamicImage, ImageFormat)> {
    let path = || origin.to_path_buf();
    if bytes.is_empty() {
        return Err(Error::EmptyFile { path: path() });
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => f,
        Ok(other) => {
            return Err(Error::UnsupportedFormat {
                path: path(),
                reason: format!("{other:?} images are not supported"),
            })
        }
        Err(_) => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(Error::UnsupportedFormat {
                path: path(),
                reason: format!("no known image signature (first bytes: {})", head.join(" ")),
            });
        }
    };
    if format == ImageFormat::Jpeg && jpeg_truncated(bytes) {
        // zune-jpeg fills a cut-off scan with grey and succeeds; PIL refuses ("image file is
        // truncated"), even when only the end-of-image marker is missing.
        return Err(Error::Truncated {
            path: path(),
            reason: "the JPEG stream ends before its end-of-image marker".into(),
        });
    }
    if format == ImageFormat::WebP {
        // The RIFF header states the file's length: a shorter file was cut off.
        let stated = bytes
            .get(4..8)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize + 8);
        if stated.is_none_or(|n| n > bytes.len()) {
            return Err(Error::Truncated {
                path: path(),
                reason: format!(
                    "{} bytes, the RIFF header states {}",
                    bytes.len(),
                    stated.map_or("more".into(), |n| n.to_string())
                ),
            });
        }
    }
    let decoded = ImageReader::with_format(Cursor::new(bytes), format)
        .decode()
        .map_err(|e| map_error(e, origin))?;
    Ok((decoded, format))
}

/// Sorts a decoder's error into this crate's variants.
fn map_error(err: ImageError, origin: &Path) -> Error {
    let path = origin.to_path_buf();
    match err {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated {
                path,
                reason: e.to_string(),
            }
        }
        ImageError::Unsupported(e) => Error::UnsupportedFormat {
            path,
            reason: e.to_string(),
        },
        ImageError::Limits(e) => Error::TooLarge {
            path,
            reason: e.to_string(),
        },
        other => {
            let reason = other.to_string();
            // The decoders report a stream that stops early in their own words.
            let lower = reason.to_ascii_lowercase();
            if [
                "eof",
                "end of file",
                "unexpected end",
                "truncated",
                "not enough data",
                "not enough bytes",
            ]
            .iter()
            .any(|k| lower.contains(k))
            {
                Error::Truncated { path, reason }
            } else {
                Error::Corrupt { path, reason }
            }
        }
    }
}

/// Whether a JPEG stream was cut off: its header segments run past the end, or no
/// end-of-image marker (`FF D9`) follows its first start-of-scan. The segments are walked from
/// the start (so that a thumbnail inside an APP segment does not count); entropy-coded data
/// cannot contain `FF D9` (a data byte `FF` is followed by `00`, restart markers are
/// `D0`..`D7`). Malformed headers are left to the decoder to report.
fn jpeg_truncated(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        if bytes.get(i) != Some(&0xff) {
            return i >= bytes.len();
        }
        // Markers may be preceded by fill bytes FF.
        while bytes.get(i) == Some(&0xff) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return true;
        };
        i += 1;
        match marker {
            0xda => break,                  // start of scan
            0xd9 => return false,           // end of image before any scan: malformed
            0x01 | 0xd0..=0xd7 => continue, // markers without a length
            _ => match bytes.get(i..i + 2) {
                Some(len) => i += usize::from(u16::from_be_bytes([len[0], len[1]])),
                None => return true,
            },
        }
    }
    !bytes
        .get(i..)
        .is_some_and(|rest| rest.windows(2).any(|w| w == [0xff, 0xd9]))
}

/// Whether a PNG's header declares 16-bit greyscale without alpha (colour type 0, depth 16),
/// which Pillow opens as mode `I;16` even when a `tRNS` chunk makes the decoder add alpha.
fn png_is_grey16(bytes: &[u8]) -> bool {
    // signature (8) | length (4) | "IHDR" | width (4) | height (4) | depth | colour type
    bytes.len() > 25 && &bytes[12..16] == b"IHDR" && bytes[24] == 16 && bytes[25] == 0
}

/// Pillow's `convert("RGB")` of what the decoder produced (see the module's table).
fn to_rgb(img: DynamicImage, grey16_png: bool, origin: &Path) -> Result<RgbImage> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let grey =
        |luma: &mut dyn Iterator<Item = u8>| -> Vec<u8> { luma.flat_map(|v| [v, v, v]).collect() };
    let sat16 = |v: u16| v.min(255) as u8;
    let high = |v: u16| (v >> 8) as u8;
    let data = match img {
        DynamicImage::ImageRgb8(b) => b.into_raw(),
        DynamicImage::ImageRgba8(b) => b.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        DynamicImage::ImageLuma8(b) => grey(&mut b.iter().copied()),
        DynamicImage::ImageLumaA8(b) => grey(&mut b.chunks_exact(2).map(|p| p[0])),
        DynamicImage::ImageLuma16(b) => {
            let f = if grey16_png { sat16 } else { high };
            grey(&mut b.iter().map(|&v| f(v)))
        }
        DynamicImage::ImageLumaA16(b) => {
            let f = if grey16_png { sat16 } else { high };
            grey(&mut b.chunks_exact(2).map(|p| f(p[0])))
        }
        DynamicImage::ImageRgb16(b) => b.iter().map(|&v| high(v)).collect(),
        DynamicImage::ImageRgba16(b) => b
            .chunks_exact(4)
            .flat_map(|p| [high(p[0]), high(p[1]), high(p[2])])
            .collect(),
        other => {
            return Err(Error::UnsupportedFormat {
                path: origin.to_path_buf(),
                reason: format!("unsupported pixel type {:?}", other.color()),
            })
        }
    };
    RgbImage::new(w, h, data).map_err(|e| Error::Corrupt {
        path: origin.to_path_buf(),
        reason: e.to_string(),
    })
}
