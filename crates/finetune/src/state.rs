//! What a checkpoint holds and how it is restored: the trainable tensors (LoRA in PEFT's
//! format, so a checkpoint is also a loadable adapter; trained base weights beside them),
//! the optimizer's moments and step, the data position (mixture state) and a `state.json`
//! with the step, the format version and the config hash. Written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::adapters::{peft_config, peft_tensors};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::optim::AdamW;
use crate::params::Trainable;
use model::checkpoint::write_safetensors;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub format_version: u32,
    /// Optimizer steps done.
    pub step: u64,
    pub config_hash: String,
    pub mixture: data::mixture::MixtureState,
    /// The distillation plan's fingerprint (teacher file and selected classes), when the run
    /// distils: a resume with another plan is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<String>,
    /// Data-parallel ranks that trained it (`crate::parallel`; 1 in checkpoints written
    /// before it was recorded): a resume with another number is refused.
    #[serde(default = "one_rank")]
    pub world_size: usize,
}

fn one_rank() -> usize {
    1
}

impl RunState {
    pub fn new(
        cfg: &Config,
        step: u64,
        mixture: data::mixture::MixtureState,
        distill: Option<String>,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            step,
            config_hash: cfg.resume_hash(),
            mixture,
            distill,
            world_size: 1,
        }
    }
}

/// Writes `run_dir/checkpoint-<step>` atomically.
pub fn save(run_dir: &Path, st: &RunState, tr: &Trainable, opt: &AdamW) -> Result<PathBuf> {
    let name = crate::store::checkpoint_name(st.step);
    let cfg_lora = tr.lora_source.as_ref().map(|l| l.config().clone());
    let dir = data::fsutil::write_dir_atomic(run_dir, &name, |tmp: &Path| -> Result<()> {
        if let Some(lcfg) = &cfg_lora {
            let tensors = peft_tensors(&tr.lora)?;
            write_safetensors(&tmp.join("adapter_model.safetensors"), &tensors)?;
            let pc = peft_config(lcfg, &tr.lora, "");
            let p = tmp.join("adapter_config.json");
            std::fs::write(&p, serde_json::to_string_pretty(&pc)?)
                .map_err(Error::io("writing", &p))?;
        }
        if !tr.base.is_empty() {
            let base: BTreeMap<String, Tensor> = tr
                .base
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_tensor().to_device(&Device::Cpu)?)))
                .collect::<candle_core::Result<_>>()?;
            write_safetensors(&tmp.join("trained_weights.safetensors"), &base)?;
        }
        let moments: BTreeMap<String, Tensor> = opt
            .state_tensors()
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_device(&Device::Cpu)?)))
            .collect::<candle_core::Result<_>>()?;
        write_safetensors(&tmp.join("optimizer.safetensors"), &moments)?;
        let p = tmp.join("state.json");
        std::fs::write(&p, serde_json::to_string_pretty(st)?).map_err(Error::io("writing", &p))?;
        Ok(())
    })?;
    Ok(dir)
}

/// The step a checkpoint directory holds, from its `state.json`.
pub fn step_of(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
    serde_json::from_str::<RunState>(&text).ok().map(|s| s.step)
}

/// Restores the trainable tensors and the optimizer from `dir`; returns the run state.
pub fn load(dir: &Path, cfg: &Config, tr: &Trainable, opt: &mut AdamW) -> Result<RunState> {
    let p = dir.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(Error::io("reading", &p))?;
    let st: RunState = serde_json::from_str(&text)
        .map_err(|e| Error::checkpoint(&p, format!("cannot parse: {e}")))?;
    if st.format_version != FORMAT_VERSION {
        return Err(Error::checkpoint(
            &p,
            format!(
                "checkpoint format {} (this build reads {FORMAT_VERSION})",
                st.format_version
            ),
        ));
    }
    if st.config_hash != cfg.resume_hash() {
        return Err(Error::checkpoint(
            &p,
            format!(
                "the checkpoint was made with a different configuration (hash {} vs {}); only \
                 train.steps, output.resume and output.log_every may change across a resume",
                st.config_hash,
                cfg.resume_hash()
            ),
        ));
    }
    let mut tensors = std::collections::HashMap::new();
    for f in ["adapter_model.safetensors", "trained_weights.safetensors"] {
        let path = dir.join(f);
        if path.is_file() {
            let t = candle_core::safetensors::load(&path, &Device::Cpu)
                .map_err(|e| Error::checkpoint(&path, e.to_string()))?;
            tensors.extend(t);
        }
    }
    for (name, var) in tr.named_vars() {
        let t = tensors
            .get(&name)
            .ok_or_else(|| Error::checkpoint(dir, format!("{name} is missing")))?;
        if t.dims() != var.as_tensor().dims() {
            return Err(Error::checkpoint(
                dir,
                format!(
                    "{name} has shape {:?}, the model {:?}",
                    t.dims(),
                    var.as_tensor().dims()
                ),
            ));
        }
        var.set(
            &t.to_dtype(DType::F32)?
                .to_device(var.as_tensor().device())?,
        )?;
    }
    let p = dir.join("optimizer.safetensors");
    let moments = candle_core::safetensors::load(&p, &Device::Cpu)
        .map_err(|e| Error::checkpoint(&p, e.to_string()))?;
    opt.load_state(&moments, st.step)
        .map_err(|e| Error::checkpoint(&p, format!("cannot restore: {e}")))?;
    Ok(st)
}
