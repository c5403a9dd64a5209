//! LoRA adapters in Hugging Face PEFT's format and semantics.
//!
//! `y = W x + b + s · B (A x)`, `s = alpha / r` (rsLoRA: `alpha / √r`). A PEFT adapter directory
//! holds `adapter_config.json` and `adapter_model.safetensors` with keys
//! `base_model.model.{module}.lora_A.weight` [r, in] and `….lora_B.weight` [out, r].

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use rng::mix64;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The low-rank update of one linear layer.
#[derive(Debug, Clone)]
pub struct LoraWeights {
    /// [r, in]
    pub a: Tensor,
    /// [out, r]
    pub b: Tensor,
    pub scale: f64,
    /// Dropout on the adapter's input while training.
    pub dropout: Option<LoraDropout>,
}

/// Dropout whose masks are a pure function of (seed, module key, element index), so a resumed
/// run, a recomputation or another device draws the same masks. The trainer sets the seed per
/// micro-batch; seed 0 switches dropout off (evaluation).
#[derive(Debug, Clone)]
pub struct LoraDropout {
    pub p: f32,
    /// Distinguishes modules (a hash of the module path).
    pub key: u64,
    pub seed: Arc<AtomicU64>,
}

impl LoraDropout {
    /// x [rows, in] with elements zeroed with probability p and the rest scaled by 1/(1-p).
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let seed = self.seed.load(Ordering::Relaxed);
        if seed == 0 || self.p <= 0.0 {
            return Ok(x.clone());
        }
        let n = x.elem_count();
        let base = seed ^ self.key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let keep = 1.0 / (1.0 - self.p);
        let threshold = (self.p as f64 * (1u64 << 24) as f64) as u64;
        let mask: Vec<f32> = (0..n as u64)
            .map(|i| {
                let u = mix64(base.wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03))) >> 40;
                if u < threshold {
                    0.0
                } else {
                    keep
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        crate::constop::mul_const(x, &mask)
    }
}

impl LoraWeights {
    /// x: [rows, in] → s · (dropout(x) Aᵀ) Bᵀ, computed in the adapter's dtype, returned in x's.
    pub fn delta(&self, x: &Tensor) -> Result<Tensor> {
        let mut xd = x.to_dtype(self.a.dtype())?;
        if let Some(d) = &self.dropout {
            xd = d.apply(&xd)?;
        }
        let h = xd.matmul(&self.a.t()?)?.matmul(&self.b.t()?)?;
        Ok((h * self.scale)?.to_dtype(x.dtype())?)
    }
}

/// Who supplies LoRA weights while a model is built: nobody, a PEFT directory, or a trainer.
pub trait AdapterSource {
    /// The adapter for the linear layer at `module` (its full checkpoint path, e.g.
    /// `language_model.model.layers.0.self_attn.q_proj`), if any.
    fn lora_for(
        &self,
        module: &str,
        in_dim: usize,
        out_dim: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Option<LoraWeights>>;
}

/// No adapters: the base model.
pub struct NoAdapters;

impl AdapterSource for NoAdapters {
    fn lora_for(
        &self,
        _: &str,
        _: usize,
        _: usize,
        _: DType,
        _: &Device,
    ) -> Result<Option<LoraWeights>> {
        Ok(None)
    }
}

/// PEFT's `target_modules`: a list of name suffixes, one regex matched against the whole name,
/// or `"all-linear"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetModules {
    List(Vec<String>),
    Pattern(String),
}

impl TargetModules {
    /// Whether the linear layer `name` is targeted, by PEFT's rules (`check_target_module_exists`).
    /// `all-linear` means every linear layer but the output head.
    pub fn matches(&self, name: &str) -> Result<bool> {
        Ok(match self {
            Self::List(list) => list
                .iter()
                .any(|t| name == t || name.ends_with(&format!(".{t}"))),
            Self::Pattern(p) if p == "all-linear" => !name.ends_with("lm_head"),
            Self::Pattern(p) => regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| Error::Prompt(format!("target_modules regex {p:?}: {e}")))?
                .is_match(name),
        })
    }
}

/// The keys of `adapter_config.json` that matter here; others are kept as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeftConfig {
    #[serde(default = "lora_type")]
    pub peft_type: String,
    pub r: usize,
    pub lora_alpha: f64,
    #[serde(default)]
    pub lora_dropout: f64,
    #[serde(default)]
    pub use_rslora: bool,
    #[serde(default)]
    pub use_dora: bool,
    pub target_modules: Option<TargetModules>,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

fn lora_type() -> String {
    "LORA".into()
}

impl PeftConfig {
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }
}

/// The PEFT key prefix in front of a module path.
/// Runs `build` with the adapters of the PEFT directory `adapter` when one is given (every
/// tensor of it must then be used: [`PeftAdapter::finish`]), else with none.
pub fn with_peft<T>(
    adapter: Option<&Path>,
    build: impl FnOnce(&dyn AdapterSource) -> Result<T>,
) -> Result<T> {
    match adapter {
        None => build(&NoAdapters),
        Some(dir) => {
            let peft = PeftAdapter::load(dir)?;
            let built = build(&peft)?;
            peft.finish()?;
            Ok(built)
        }
    }
}

pub const PEFT_PREFIX: &str = "base_model.model.";

/// A PEFT adapter directory, loaded for inference or to continue training. Every `lora_A` /
/// `lora_B` pair must be claimed by a module of the model ([`PeftAdapter::finish`] checks).
pub struct PeftAdapter {
    dir: PathBuf,
    pub config: PeftConfig,
    tensors: HashMap<String, Tensor>,
    used: RefCell<BTreeSet<String>>,
}

impl PeftAdapter {
    pub fn load(dir: &Path) -> Result<Self> {
        let err = |msg: String| Error::Adapter {
            path: dir.into(),
            msg,
        };
        let cfg_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let config: PeftConfig = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: cfg_path.clone(),
            source,
        })?;
        if config.peft_type != "LORA" {
            return Err(err(format!("peft_type {:?} is not LORA", config.peft_type)));
        }
        if config.use_dora {
            return Err(err("DoRA adapters are not supported".into()));
        }
        if config.r == 0 {
            return Err(err("r = 0".into()));
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if config
                .rest
                .get(key)
                .and_then(|v| v.as_object())
                .is_some_and(|m| !m.is_empty())
            {
                return Err(err(format!("a non-empty {key} is not supported")));
            }
        }
        if config
            .rest
            .get("modules_to_save")
            .is_some_and(|v| !v.is_null())
        {
            return Err(err("modules_to_save is not supported".into()));
        }
        let st = dir.join("adapter_model.safetensors");
        if !st.is_file() {
            return Err(err("adapter_model.safetensors is missing".into()));
        }
        let tensors = candle_core::safetensors::load(&st, &Device::Cpu)
            .map_err(|e| err(format!("adapter_model.safetensors: {e}")))?;
        Ok(Self {
            dir: dir.into(),
            config,
            tensors,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    /// Errors if the file holds LoRA weights for modules the model does not have.
    pub fn finish(&self) -> Result<()> {
        let used = self.used.borrow();
        let unused: Vec<&String> = self.tensors.keys().filter(|k| !used.contains(*k)).collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(Error::Adapter {
                path: self.dir.clone(),
                msg: format!(
                    "{} tensor(s) match no module of this model, e.g. {:?}",
                    unused.len(),
                    unused[0]
                ),
            })
        }
    }
}

impl AdapterSource for PeftAdapter {
    fn lora_for(
        &self,
        module: &str,
        in_dim: usize,
        out_dim: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Option<LoraWeights>> {
        let ka = format!("{PEFT_PREFIX}{module}.lora_A.weight");
        let kb = format!("{PEFT_PREFIX}{module}.lora_B.weight");
        let (a, b) = match (self.tensors.get(&ka), self.tensors.get(&kb)) {
            (None, None) => return Ok(None),
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(Error::Adapter {
                    path: self.dir.clone(),
                    msg: format!("{module}: lora_A and lora_B must both be present"),
                })
            }
        };
        let r = self.config.r;
        if a.dims() != [r, in_dim] || b.dims() != [out_dim, r] {
            return Err(Error::Adapter {
                path: self.dir.clone(),
                msg: format!(
                    "{module}: lora_A {:?} / lora_B {:?}, expected [{r}, {in_dim}] / [{out_dim}, {r}]",
                    a.dims(),
                    b.dims()
                ),
            });
        }
        self.used.borrow_mut().extend([ka, kb]);
        Ok(Some(LoraWeights {
            a: a.to_dtype(dtype)?.to_device(device)?,
            b: b.to_dtype(dtype)?.to_device(device)?,
            scale: self.config.scale(),
            dropout: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_modules_follow_peft_rules() {
        let list = TargetModules::List(vec!["q_proj".into()]);
        assert!(list
            .matches("language_model.model.layers.0.self_attn.q_proj")
            .unwrap());
        assert!(list
            .matches("audio_tower.layers.0.self_attn.q_proj")
            .unwrap());
        assert!(!list
            .matches("language_model.model.layers.0.self_attn.xq_proj")
            .unwrap());
        let re = TargetModules::Pattern(r".*language_model.*\.(q_proj|v_proj)".into());
        assert!(re
            .matches("language_model.model.layers.3.self_attn.v_proj")
            .unwrap());
        assert!(!re.matches("audio_tower.layers.0.self_attn.q_proj").unwrap());
        let all = TargetModules::Pattern("all-linear".into());
        assert!(all.matches("multi_modal_projector.linear").unwrap());
        assert!(!all.matches("language_model.lm_head").unwrap());
    }
}
