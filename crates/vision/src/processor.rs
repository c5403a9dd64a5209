//! `Qwen2VLImageProcessor` (the slow, PIL one): RGB images to `pixel_values` + `image_grid_thw`.

use std::path::Path;

use crate::{decode_file, resize_bicubic, smart_resize, Error, ProcessorConfig, Result, RgbImage};

/// An image's or a video's patch grid: `t` temporal patches (1 for a still image; a video's
/// frame count, padded, / `temporal_patch_size`) × `h` × `w` patches of `patch_size`², as
/// `image_grid_thw` / `video_grid_thw` hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GridThw {
    pub t: usize,
    pub h: usize,
    pub w: usize,
}

impl GridThw {
    /// Rows of `pixel_values` this image takes: `t * h * w`.
    pub fn patches(&self) -> usize {
        self.t * self.h * self.w
    }

    /// `<|image_pad|>` (or `<|video_pad|>`) tokens the input becomes after the `merge_size`²
    /// merge: `t * h * w / merge_size²`.
    pub fn tokens(&self, merge_size: usize) -> usize {
        self.patches() / (merge_size * merge_size)
    }

    /// `[t, h, w]`.
    pub fn to_array(self) -> [usize; 3] {
        [self.t, self.h, self.w]
    }
}

/// The processor's output for one or more images (or videos): `data` is `pixel_values`
/// (`pixel_values_videos`), row-major `[rows, patch_dim]` `f32`, the inputs' rows one after
/// another in call order; `grids` holds one `image_grid_thw` (`video_grid_thw`) entry per
/// input.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelValues {
    pub data: Vec<f32>,
    pub patch_dim: usize,
    pub grids: Vec<GridThw>,
}

impl PixelValues {
    /// Rows of `data` (patches of all images).
    pub fn rows(&self) -> usize {
        self.data.len() / self.patch_dim
    }

    /// Appends another call's images after these (same `patch_dim`, else panics).
    pub fn append(&mut self, other: PixelValues) {
        assert_eq!(self.patch_dim, other.patch_dim, "patch_dim differs");
        self.data.extend(other.data);
        self.grids.extend(other.grids);
    }
}

/// The slow `Qwen2VLImageProcessor`: resize (`smart_resize`, PIL bicubic), rescale,
/// normalise, cut into patches, with the reference's numbers. [`Default`] has the reference's
/// default settings.
#[derive(Clone, Debug, Default)]
pub struct ImageProcessor {
    config: ProcessorConfig,
}

impl ImageProcessor {
    /// A processor with these settings (validated).
    pub fn new(config: ProcessorConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    /// A processor configured by `dir/preprocessor_config.json` (a model directory).
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        Self::new(ProcessorConfig::from_file(
            &dir.join("preprocessor_config.json"),
        )?)
    }

    /// The settings.
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// The `(height, width)` an image of this size is resized to (its own size without
    /// `do_resize`).
    pub fn resized_size(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        let c = &self.config;
        if !c.do_resize {
            return Ok((height, width));
        }
        let (h, w) = smart_resize(height, width, c.factor(), c.min_pixels, c.max_pixels)?;
        if h == 0 || w == 0 {
            // Only with min_pixels = 0, when a side is under factor / 2 (PIL then refuses to
            // resize to it).
            return Err(Error::InvalidConfig(format!(
                "smart_resize makes a {height}x{width} image {h}x{w}: min_pixels = {} lets a \
                 side round to 0",
                c.min_pixels
            )));
        }
        Ok((h, w))
    }

    /// The patch grid of an image of this size, without touching pixels (the reference's
    /// `get_number_of_image_patches` is its `h * w`).
    pub fn grid(&self, height: usize, width: usize) -> Result<GridThw> {
        let (h, w) = self.resized_size(height, width)?;
        let f = self.config.factor();
        if h % f != 0 || w % f != 0 {
            return Err(Error::NotDivisible {
                height: h,
                width: w,
                factor: f,
            });
        }
        let p = self.config.patch_size;
        Ok(GridThw {
            t: 1,
            h: h / p,
            w: w / p,
        })
    }

    /// The resize step: `smart_resize` then PIL's bicubic resize (a copy without
    /// `do_resize`).
    pub fn resize(&self, img: &RgbImage) -> Result<RgbImage> {
        let (h, w) = self.resized_size(img.height(), img.width())?;
        Ok(resize_bicubic(img, w, h))
    }

    /// Rescale, normalise and cut an already resized image into patches: the reference's
    /// `_preprocess` after its `resize`. Its sides must be multiples of `patch_size *
    /// merge_size`.
    ///
    /// Numbers as numpy makes them: `rescale` multiplies the `uint8` value by
    /// `rescale_factor` in `float64` and casts to `float32`; `normalize` subtracts the `float32`
    /// mean and divides by the `float32` std in `float32`. The image is repeated
    /// `temporal_patch_size` times, and rows are ordered as the reference's
    /// `reshape(t, tp, c, h/m, m, p, w/m, m, p).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)`: by
    /// merge block (row-major), then patch within the block (row-major); each row is
    /// `[channel][frame][py][px]`.
    pub fn patchify(&self, resized: &RgbImage) -> Result<PixelValues> {
        let c = &self.config;
        let (height, width) = (resized.height(), resized.width());
        let f = c.factor();
        if height % f != 0 || width % f != 0 {
            return Err(Error::NotDivisible {
                height,
                width,
                factor: f,
            });
        }
        let lut = self.value_table();
        let (p, m, tp) = (c.patch_size, c.merge_size, c.temporal_patch_size);
        let (gh, gw) = (height / p, width / p);
        let patch_dim = c.patch_dim();
        let pix = resized.as_bytes();
        let mut data = Vec::with_capacity(gh * gw * patch_dim);
        for bh in 0..gh / m {
            for bw in 0..gw / m {
                for mh in 0..m {
                    for mw in 0..m {
                        let (y0, x0) = ((bh * m + mh) * p, (bw * m + mw) * p);
                        for (ch, table) in lut.iter().enumerate() {
                            let start = data.len();
                            for py in 0..p {
                                let row = &pix[((y0 + py) * width + x0) * 3..][..p * 3];
                                data.extend(row.chunks_exact(3).map(|px| table[px[ch] as usize]));
                            }
                            // The still image fills every frame of the temporal patch.
                            for _ in 1..tp {
                                data.extend_from_within(start..start + p * p);
                            }
                        }
                    }
                }
            }
        }
        Ok(PixelValues {
            data,
            patch_dim,
            grids: vec![GridThw { t: 1, h: gh, w: gw }],
        })
    }

    /// One image: [`Self::resize`] then [`Self::patchify`].
    pub fn preprocess_image(&self, img: &RgbImage) -> Result<PixelValues> {
        self.patchify(&self.resize(img)?)
    }

    /// Several images, each at its own size, as `processor(images=[...])`: the rows of all
    /// images concatenated, one grid per image.
    pub fn preprocess(&self, images: &[RgbImage]) -> Result<PixelValues> {
        let mut out = PixelValues {
            data: Vec::new(),
            patch_dim: self.config.patch_dim(),
            grids: Vec::with_capacity(images.len()),
        };
        for img in images {
            out.append(self.preprocess_image(img)?);
        }
        Ok(out)
    }

    /// Decodes each file ([`decode_file`]) and preprocesses them as [`Self::preprocess`]; an
    /// image that decodes but cannot be processed is an [`Error::InFile`] naming its file.
    pub fn preprocess_files<P: AsRef<Path>>(&self, paths: &[P]) -> Result<PixelValues> {
        let mut out = PixelValues {
            data: Vec::new(),
            patch_dim: self.config.patch_dim(),
            grids: Vec::with_capacity(paths.len()),
        };
        for path in paths {
            let path = path.as_ref();
            let img = decode_file(path)?;
            let one = self.preprocess_image(&img).map_err(|e| Error::InFile {
                path: path.to_path_buf(),
                source: Box::new(e),
            })?;
            out.append(one);
        }
        Ok(out)
    }

    /// For each channel, the output value of every input byte (rescale, then normalise).
    fn value_table(&self) -> [[f32; 256]; 3] {
        let c = &self.config;
        let mut lut = [[0f32; 256]; 3];
        for (ch, table) in lut.iter_mut().enumerate() {
            for (v, out) in table.iter_mut().enumerate() {
                let mut x = if c.do_rescale {
                    (v as f64 * c.rescale_factor) as f32
                } else {
                    v as f32
                };
                if c.do_normalize {
                    x = (x - c.image_mean[ch]) / c.image_std[ch];
                }
                *out = x;
            }
        }
        lut
    }
}
