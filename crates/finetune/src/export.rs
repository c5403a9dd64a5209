//! What a finished run leaves for users: a PEFT adapter directory (`run_dir/adapter`) that
//! Hugging Face PEFT loads onto transformers' Qwen2-Audio, and on request a merged full model
//! (`run_dir/merged`: safetensors with the base's key names, config, tokenizer and processor
//! files copied from the base checkpoint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use model::checkpoint::ModelFiles;

use crate::adapters::{peft_config, peft_tensors, write_peft, LoraPair};
use crate::config::{Config, Mode};
use crate::error::{Error, Result};
use crate::params::Trainable;
use model::checkpoint::write_safetensors;

/// Files of a checkpoint directory that a merged model keeps (besides weights).
const SIDE_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "preprocessor_config.json",
    "video_preprocessor_config.json",
    "processor_config.json",
    "chat_template.json",
    "chat_template.jinja",
];

/// Writes the run's final artifacts; returns the adapter (or merged model) directory.
pub fn export_final(cfg: &Config, files: &ModelFiles, tr: &Trainable) -> Result<PathBuf> {
    let run = &cfg.output.dir;
    let mut out = None;
    if cfg.train.mode == Mode::Lora && !tr.lora.is_empty() {
        let dir = run.join("adapter");
        let pc = peft_config(&cfg.lora, &tr.lora, &cfg.model.source);
        write_peft(&dir, &pc, &peft_tensors(&tr.lora)?)?;
        if !tr.base.is_empty() {
            eprintln!(
                "note: the trained projector/encoder weights are not part of the PEFT adapter; \
                 they are in the merged model (output.export_merged) and the checkpoints"
            );
        }
        out = Some(dir);
    }
    if cfg.output.export_merged || cfg.train.mode == Mode::Full || !tr.base.is_empty() {
        let dir = run.join("merged");
        let scale = tr.lora_source.as_ref().map_or(1.0, |l| l.scale());
        let base: Vec<(String, Tensor)> = tr
            .base
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        write_merged(files, &tr.lora, scale, &base, &dir)?;
        out.get_or_insert(dir);
    }
    out.ok_or_else(|| Error::NothingToTrain("nothing was exported".into()))
}

/// The base checkpoint with every LoRA folded in (`W + s·B·A`) and trained base weights
/// replaced, in the base's dtype and key names.
pub fn write_merged(
    files: &ModelFiles,
    lora: &[LoraPair],
    scale: f64,
    trained: &[(String, Tensor)],
    dir: &Path,
) -> Result<()> {
    let by_weight: BTreeMap<String, &LoraPair> = lora
        .iter()
        .map(|p| (format!("{}.weight", p.module), p))
        .collect();
    let trained: BTreeMap<&str, &Tensor> = trained.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
    for file in &files.weights {
        let tensors = candle_core::safetensors::load(file, &Device::Cpu)
            .map_err(|e| Error::checkpoint(file, e.to_string()))?;
        for (k, w) in tensors {
            let dtype = w.dtype();
            let merged = if let Some(t) = trained.get(k.as_str()) {
                t.to_device(&Device::Cpu)?.to_dtype(dtype)?
            } else if let Some(p) = by_weight.get(&k) {
                let a = p.a.as_tensor().to_device(&Device::Cpu)?;
                let b = p.b.as_tensor().to_device(&Device::Cpu)?;
                let delta = (b.matmul(&a)? * scale)?;
                (w.to_dtype(DType::F32)? + delta)?.to_dtype(dtype)?
            } else {
                w
            };
            out.insert(k, merged);
        }
    }
    let (parent, name) = crate::store::split_dir(dir)?;
    data::fsutil::write_dir_atomic(&parent, &name, |tmp: &Path| -> Result<()> {
        write_safetensors(&tmp.join("model.safetensors"), &out)?;
        for f in SIDE_FILES {
            let src = files.dir.join(f);
            if src.is_file() {
                std::fs::copy(&src, tmp.join(f)).map_err(Error::io("copying", &src))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}
