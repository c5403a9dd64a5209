//! Times our Qwen2-VL vision tower, for `scripts/bench_vision.py` (which times transformers'
//! tower on the same checkpoint and patches and prints the ratios).
//!
//! `time_vision MODEL_DIR PATCHES.safetensors REPEATS` loads the tower of the checkpoint in
//! MODEL_DIR (f32, CPU), reads `pixel_values` [rows, C·T·P·P] and `grid_thw` [n, 3] (i64) from
//! PATCHES, and prints one JSON object: the best forward time over REPEATS runs (seconds) and
//! the output shape.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device};
use model::lora::NoAdapters;
use model::qwen2_vl::Qwen2VLConfig;
use model::vision::{checkpoint_prefix, VisionTower};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: time_vision MODEL_DIR PATCHES.safetensors REPEATS";
    let dir = Path::new(args.first().ok_or(usage)?);
    let patches = candle_core::safetensors::load(args.get(1).ok_or(usage)?, &Device::Cpu)?;
    let repeats: usize = args.get(2).ok_or(usage)?.parse()?;
    // The tower alone: no tokenizer is needed.
    let files = model::checkpoint::ModelFiles {
        dir: dir.to_path_buf(),
        config: dir.join("config.json"),
        weights: vec![dir.join("model.safetensors")],
        tokenizer: dir.join("tokenizer.json"),
        generation_config: None,
    };
    let cfg = Qwen2VLConfig::from_file(&files.config)?;
    let vb = files.var_builder(DType::F32, &Device::Cpu)?;
    let prefix = checkpoint_prefix(&vb).ok_or("no vision tower in the checkpoint")?;
    let tower = VisionTower::load(&cfg.vision, vb.pp(prefix), &NoAdapters)?;
    let px = patches.get("pixel_values").ok_or("no pixel_values")?;
    let grid: Vec<Vec<i64>> = patches.get("grid_thw").ok_or("no grid_thw")?.to_vec2()?;
    let grids: Vec<[usize; 3]> = grid
        .iter()
        .map(|g| [g[0] as usize, g[1] as usize, g[2] as usize])
        .collect();
    let mut best = f64::INFINITY;
    let mut shape = vec![];
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let out = tower.forward(px, &grids)?;
        best = best.min(t.elapsed().as_secs_f64());
        shape = out.dims().to_vec();
    }
    println!("{}", serde_json::json!({"seconds": best, "shape": shape}));
    Ok(())
}
