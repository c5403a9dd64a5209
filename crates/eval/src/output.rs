//! Writing result files atomically: a temporary file beside the target, then a rename.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::Tensor;

/// Saves `tensors` as safetensors at `path` (temporary file, then rename:
/// [`data::fsutil::write_with`]).
pub fn save_safetensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    data::fsutil::write_with(path, |tmp: &Path| -> Result<()> {
        candle_core::safetensors::save(tensors, tmp)
            .with_context(|| format!("writing {}", tmp.display()))
    })
}
