//! `preprocessor_config.json`: the image processor's settings.

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// `OPENAI_CLIP_MEAN`, the reference's default `image_mean`.
pub const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
/// `OPENAI_CLIP_STD`, the reference's default `image_std`.
pub const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];
/// The reference's default `min_pixels` (`size["shortest_edge"]`): 56 · 56.
pub const DEFAULT_MIN_PIXELS: usize = 56 * 56;
/// The reference's default `max_pixels` (`size["longest_edge"]`): 28 · 28 · 1280.
pub const DEFAULT_MAX_PIXELS: usize = 28 * 28 * 1280;
/// `Qwen2VLVideoProcessor`'s default `min_pixels` (`size["shortest_edge"]`): 128 · 28 · 28.
pub const VIDEO_DEFAULT_MIN_PIXELS: usize = 128 * 28 * 28;
/// `Qwen2VLVideoProcessor`'s default `max_pixels` (`size["longest_edge"]`): 28 · 28 · 768.
pub const VIDEO_DEFAULT_MAX_PIXELS: usize = 28 * 28 * 768;
/// PIL's `Image.BICUBIC`, the only `resample` value this crate implements.
pub const PIL_BICUBIC: i64 = 3;

/// The settings of `Qwen2VLImageProcessor` that change its output, with the reference's
/// defaults ([`Default`]).
///
/// `image_mean` and `image_std` are kept as the `f32`s numpy's `normalize` uses
/// (`np.array(mean, dtype=float32)`); `rescale_factor` is an `f64`, as in `rescale`, which
/// multiplies in `float64` before casting to `float32`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessorConfig {
    /// Least pixels of a resized image (`min_pixels`, or `size.shortest_edge`).
    pub min_pixels: usize,
    /// Most pixels of a resized image (`max_pixels`, or `size.longest_edge`).
    pub max_pixels: usize,
    /// Side of a vision patch (14).
    pub patch_size: usize,
    /// Patches merged per side into one LLM token (2).
    pub merge_size: usize,
    /// Frames per patch (2); a still image is repeated to fill them.
    pub temporal_patch_size: usize,
    /// Per-channel mean subtracted after rescaling.
    pub image_mean: [f32; 3],
    /// Per-channel standard deviation divided by after subtracting the mean.
    pub image_std: [f32; 3],
    /// Factor from 0..=255 to the model's range (1/255).
    pub rescale_factor: f64,
    /// Resize with `smart_resize` + PIL bicubic (true).
    pub do_resize: bool,
    /// Multiply by `rescale_factor` (true).
    pub do_rescale: bool,
    /// Subtract `image_mean`, divide by `image_std` (true).
    pub do_normalize: bool,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self {
            min_pixels: DEFAULT_MIN_PIXELS,
            max_pixels: DEFAULT_MAX_PIXELS,
            patch_size: 14,
            merge_size: 2,
            temporal_patch_size: 2,
            image_mean: CLIP_MEAN.map(|v| v as f32),
            image_std: CLIP_STD.map(|v| v as f32),
            rescale_factor: 1.0 / 255.0,
            do_resize: true,
            do_rescale: true,
            do_normalize: true,
        }
    }
}

/// A number or a list of numbers, as `image_mean` may be.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(f64),
    Many(Vec<f64>),
}

/// The file's shape: every key optional (a missing or `null` key takes the default); keys
/// this crate does not use (`image_processor_type`, `processor_class`, ...) are ignored.
#[derive(Deserialize)]
struct Raw {
    min_pixels: Option<usize>,
    max_pixels: Option<usize>,
    size: Option<serde_json::Map<String, serde_json::Value>>,
    patch_size: Option<usize>,
    merge_size: Option<usize>,
    temporal_patch_size: Option<usize>,
    image_mean: Option<OneOrMany>,
    image_std: Option<OneOrMany>,
    rescale_factor: Option<f64>,
    do_resize: Option<bool>,
    do_rescale: Option<bool>,
    do_normalize: Option<bool>,
    resample: Option<i64>,
}

fn three(name: &str, v: Option<OneOrMany>, default: [f64; 3]) -> Result<[f32; 3]> {
    let v = match v {
        None => default,
        Some(OneOrMany::One(x)) => [x; 3],
        Some(OneOrMany::Many(xs)) => <[f64; 3]>::try_from(xs.as_slice()).map_err(|_| {
            Error::InvalidConfig(format!("{name} must have 3 values (RGB), got {}", xs.len()))
        })?,
    };
    Ok(v.map(|x| x as f32))
}

fn size_key(size: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<usize> {
    let v = size.get(key).ok_or_else(|| {
        Error::InvalidConfig("size must contain 'shortest_edge' and 'longest_edge' keys".into())
    })?;
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| Error::InvalidConfig(format!("size.{key} must be a whole number, got {v}")))
}

impl ProcessorConfig {
    /// Parses the text of a `preprocessor_config.json`.
    ///
    /// The pixel limits are `min_pixels` / `max_pixels` when present, else `size`'s
    /// `shortest_edge` / `longest_edge`, else the defaults. (transformers 4.57's constructor
    /// drops a `size` given without `min_pixels` / `max_pixels` and takes the defaults
    /// instead; files that Qwen and `save_pretrained` write hold both keys, equal, so this only
    /// matters for a hand-written file, where `size` is what its author meant.) A `size`
    /// without both keys is an error, as in the reference.
    ///
    /// `do_convert_rgb` is not read: decoding always yields RGB. A `resample` other than 3
    /// (bicubic) is an error: it is the only filter implemented.
    pub fn from_json_str(json: &str) -> Result<Self> {
        let raw: Raw = serde_json::from_str(json).map_err(|source| Error::ConfigParse {
            path: "<preprocessor config>".into(),
            source,
        })?;
        Self::from_raw(raw, &Self::default())
    }

    /// Reads `path` (a `preprocessor_config.json`); see [`Self::from_json_str`].
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: Raw = serde_json::from_str(&text).map_err(|source| Error::ConfigParse {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_raw(raw, &Self::default()).map_err(|e| match e {
            Error::InvalidConfig(m) => Error::InvalidConfig(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// `Qwen2VLVideoProcessor`'s class defaults: the image defaults but `min_pixels` 128 · 28²
    /// and `max_pixels` 768 · 28².
    pub fn video_default() -> Self {
        Self {
            min_pixels: VIDEO_DEFAULT_MIN_PIXELS,
            max_pixels: VIDEO_DEFAULT_MAX_PIXELS,
            ..Self::default()
        }
    }

    /// Parses a video processor's settings (`video_preprocessor_config.json`, or the image
    /// processor's file that transformers falls back on, or a `processor_config.json` with a
    /// `video_processor` entry) as `Qwen2VLVideoProcessor(**dict)` reads them: a missing key
    /// takes [`Self::video_default`]'s value; `size` replaces the default size as a whole, then
    /// `min_pixels` / `max_pixels` override its `shortest_edge` / `longest_edge`; both must be
    /// known in the end.
    pub fn video_from_json_str(json: &str) -> Result<Self> {
        let origin = Path::new("<video processor config>");
        let value = serde_json::from_str(json).map_err(|source| Error::ConfigParse {
            path: origin.to_path_buf(),
            source,
        })?;
        Self::video_from_value(value, origin)
    }

    /// Reads `path` as a video processor config; see [`Self::video_from_json_str`].
    pub fn video_from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let value = serde_json::from_str(&text).map_err(|source| Error::ConfigParse {
            path: path.to_path_buf(),
            source,
        })?;
        Self::video_from_value(value, path).map_err(|e| match e {
            Error::InvalidConfig(m) => Error::InvalidConfig(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    fn video_from_value(mut value: serde_json::Value, origin: &Path) -> Result<Self> {
        if let Some(inner) = value.get_mut("video_processor") {
            value = inner.take();
        }
        let raw: Raw = serde_json::from_value(value).map_err(|source| Error::ConfigParse {
            path: origin.to_path_buf(),
            source,
        })?;
        let d = Self::video_default();
        let (mut shortest, mut longest) = (Some(d.min_pixels), Some(d.max_pixels));
        if let Some(size) = &raw.size {
            let key = |k: &str| -> Result<Option<usize>> {
                size.get(k)
                    .map(|v| {
                        v.as_u64().map(|n| n as usize).ok_or_else(|| {
                            Error::InvalidConfig(format!(
                                "size.{k} must be a whole number, got {v}"
                            ))
                        })
                    })
                    .transpose()
            };
            shortest = key("shortest_edge")?;
            longest = key("longest_edge")?;
        }
        shortest = raw.min_pixels.or(shortest);
        longest = raw.max_pixels.or(longest);
        let (Some(min_pixels), Some(max_pixels)) = (shortest, longest) else {
            return Err(Error::InvalidConfig(
                "size must contain 'shortest_edge' and 'longest_edge' keys".into(),
            ));
        };
        Self::from_raw(
            Raw {
                min_pixels: Some(min_pixels),
                max_pixels: Some(max_pixels),
                size: None,
                ..raw
            },
            &d,
        )
    }

    fn from_raw(raw: Raw, d: &Self) -> Result<Self> {
        let (mut min_pixels, mut max_pixels) = (d.min_pixels, d.max_pixels);
        if let Some(size) = &raw.size {
            min_pixels = size_key(size, "shortest_edge")?;
            max_pixels = size_key(size, "longest_edge")?;
        }
        if let Some(r) = raw.resample {
            if r != PIL_BICUBIC {
                return Err(Error::InvalidConfig(format!(
                    "resample = {r}: only PIL bicubic (3) is implemented"
                )));
            }
        }
        let cfg = Self {
            min_pixels: raw.min_pixels.unwrap_or(min_pixels),
            max_pixels: raw.max_pixels.unwrap_or(max_pixels),
            patch_size: raw.patch_size.unwrap_or(d.patch_size),
            merge_size: raw.merge_size.unwrap_or(d.merge_size),
            temporal_patch_size: raw.temporal_patch_size.unwrap_or(d.temporal_patch_size),
            image_mean: three("image_mean", raw.image_mean, CLIP_MEAN)?,
            image_std: three("image_std", raw.image_std, CLIP_STD)?,
            rescale_factor: raw.rescale_factor.unwrap_or(d.rescale_factor),
            do_resize: raw.do_resize.unwrap_or(d.do_resize),
            do_rescale: raw.do_rescale.unwrap_or(d.do_rescale),
            do_normalize: raw.do_normalize.unwrap_or(d.do_normalize),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses settings that cannot make patches: a zero `patch_size`, `merge_size` or
    /// `temporal_patch_size`, a zero `image_std`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("patch_size", self.patch_size),
            ("merge_size", self.merge_size),
            ("temporal_patch_size", self.temporal_patch_size),
        ] {
            if v == 0 {
                return Err(Error::InvalidConfig(format!("{name} must be at least 1")));
            }
        }
        if self.do_normalize && self.image_std.contains(&0.0) {
            return Err(Error::InvalidConfig("image_std must not be 0".into()));
        }
        Ok(())
    }

    /// The side every resized image is a multiple of: `patch_size * merge_size` (28).
    pub fn factor(&self) -> usize {
        self.patch_size * self.merge_size
    }

    /// Values per row of `pixel_values`: `3 * temporal_patch_size * patch_size²` (1176).
    pub fn patch_dim(&self) -> usize {
        3 * self.temporal_patch_size * self.patch_size * self.patch_size
    }
}
