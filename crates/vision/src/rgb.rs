//! The one pixel type: 8-bit RGB, row-major, interleaved.

use crate::{Error, Result};

/// An 8-bit RGB image: `data[(y * width + x) * 3 + c]`, as numpy's `[H, W, 3]` uint8 array of
/// a PIL `RGB` image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl RgbImage {
    /// Wraps `data` (`height * width * 3` bytes, row-major, interleaved RGB). A buffer of the
    /// wrong length or an image without pixels is an error.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::EmptyImage { width, height });
        }
        if width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(data.len()) {
            return Err(Error::BadBuffer {
                width,
                height,
                len: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, `[height, width, 3]` row-major.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The pixels, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at column `x`, row `y`. Panics outside the image.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside {}x{}",
            self.width,
            self.height
        );
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}
