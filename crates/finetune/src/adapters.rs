//! The trainable side of LoRA: which modules get an adapter (PEFT's rules + a scope), their
//! `Var`s (f32, PEFT's init or loaded from an adapter to continue), the shared dropout seed,
//! and export in PEFT's format.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use model::checkpoint::write_safetensors;
use model::lora::{AdapterSource, LoraDropout, LoraWeights, PeftConfig, PEFT_PREFIX};
use rng::{mix64, Rng};

use crate::config::{LoraScope, LoraSection};
use crate::error::{Error, Result};

/// One module's adapter.
#[derive(Debug, Clone)]
pub struct LoraPair {
    /// The module's path in the checkpoint (`language_model.model.layers.0.self_attn.q_proj`,
    /// `model.layers.0.…` for Qwen2-VL): the merged export's key.
    pub module: String,
    /// Its path as PEFT names it on the pinned transformers ([`model::Family::peft_module`]):
    /// the adapter's and the checkpoints' key.
    pub peft: String,
    pub a: Var,
    pub b: Var,
}

/// Creates (or loads) an adapter for every targeted linear layer while the model is built.
pub struct TrainableLora {
    cfg: LoraSection,
    family: model::Family,
    init: Option<HashMap<String, Tensor>>,
    rng: RefCell<Rng>,
    pairs: RefCell<Vec<LoraPair>>,
    dropout_seed: Arc<AtomicU64>,
}

impl TrainableLora {
    /// `seed` makes A's initialisation reproducible; `cfg.init_from` loads a PEFT adapter.
    /// `family` decides what `lora.scope = "llm"` covers and PEFT's module names.
    pub fn new(cfg: &LoraSection, seed: u64, family: model::Family) -> Result<Self> {
        let init = match &cfg.init_from {
            None => None,
            Some(dir) => {
                let peft = model::lora::PeftAdapter::load(dir)?;
                if peft.config.r != cfg.r {
                    return Err(Error::checkpoint(
                        dir,
                        format!(
                            "adapter rank {} differs from lora.r {}",
                            peft.config.r, cfg.r
                        ),
                    ));
                }
                let st = dir.join("adapter_model.safetensors");
                Some(
                    candle_core::safetensors::load(&st, &Device::Cpu)
                        .map_err(|e| Error::checkpoint(&st, e.to_string()))?,
                )
            }
        };
        Ok(Self {
            cfg: cfg.clone(),
            family,
            init,
            rng: RefCell::new(Rng::new(seed ^ 0x10_4A)),
            pairs: RefCell::new(vec![]),
            dropout_seed: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn config(&self) -> &LoraSection {
        &self.cfg
    }

    pub fn scale(&self) -> f64 {
        if self.cfg.rslora {
            self.cfg.alpha / (self.cfg.r as f64).sqrt()
        } else {
            self.cfg.alpha / self.cfg.r as f64
        }
    }

    fn targets(&self, module: &str) -> model::Result<bool> {
        let in_scope = match self.cfg.scope {
            LoraScope::Llm => self.family.in_llm(module),
            LoraScope::All => true,
        };
        // PEFT's rules over PEFT's module names, so a config written for PEFT selects the same
        // layers.
        Ok(in_scope
            && self
                .cfg
                .target_modules
                .matches(&self.family.peft_module(module))?)
    }

    /// The adapters created, in model order.
    pub fn pairs(&self) -> Vec<LoraPair> {
        self.pairs.borrow().clone()
    }

    /// The handle the training loop uses to set each micro-batch's dropout seed (0: off).
    pub fn dropout_seed(&self) -> Arc<AtomicU64> {
        self.dropout_seed.clone()
    }

    /// Errors when a loaded adapter holds modules the model did not ask for.
    pub fn check_init_consumed(&self) -> Result<()> {
        if let Some(init) = &self.init {
            let made: std::collections::HashSet<String> = self
                .pairs
                .borrow()
                .iter()
                .flat_map(|p| [peft_key(&p.peft, "A"), peft_key(&p.peft, "B")])
                .collect();
            if let Some(k) = init.keys().find(|k| !made.contains(*k)) {
                return Err(Error::checkpoint(
                    self.cfg.init_from.clone().unwrap_or_default(),
                    format!("lora.init_from: {k} matches no targeted module (check lora.target_modules / lora.scope)"),
                ));
            }
        }
        Ok(())
    }
}

/// PEFT's key of a module's A or B matrix.
pub fn peft_key(module: &str, which: &str) -> String {
    format!("{PEFT_PREFIX}{module}.lora_{which}.weight")
}

/// PEFT's init of A: kaiming-uniform with a = √5, i.e. U(−1/√in, 1/√in).
fn kaiming_a(rng: &mut Rng, r: usize, in_dim: usize) -> Vec<f32> {
    let bound = 1.0 / (in_dim as f64).sqrt();
    (0..r * in_dim)
        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

fn module_key(module: &str) -> u64 {
    module
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| mix64(h ^ b as u64))
}

impl AdapterSource for TrainableLora {
    fn lora_for(
        &self,
        module: &str,
        in_dim: usize,
        out_dim: usize,
        _dtype: DType,
        device: &Device,
    ) -> model::Result<Option<LoraWeights>> {
        if !self.targets(module)? {
            return Ok(None);
        }
        let r = self.cfg.r;
        let peft = self.family.peft_module(module);
        let (a, b) = match &self.init {
            Some(init) => {
                let get = |which: &str, shape: (usize, usize)| -> model::Result<Tensor> {
                    let k = peft_key(&peft, which);
                    let t = init.get(&k).ok_or_else(|| model::Error::Adapter {
                        path: self.cfg.init_from.clone().unwrap_or_default(),
                        msg: format!("{k} is missing (the adapter does not cover this module)"),
                    })?;
                    if t.dims2()? != shape {
                        return Err(model::Error::Adapter {
                            path: self.cfg.init_from.clone().unwrap_or_default(),
                            msg: format!("{k}: shape {:?}, expected {shape:?}", t.dims()),
                        });
                    }
                    Ok(t.to_dtype(DType::F32)?.to_device(device)?)
                };
                (get("A", (r, in_dim))?, get("B", (out_dim, r))?)
            }
            None => {
                let a = kaiming_a(&mut self.rng.borrow_mut(), r, in_dim);
                (
                    Tensor::from_vec(a, (r, in_dim), device)?,
                    Tensor::zeros((out_dim, r), DType::F32, device)?,
                )
            }
        };
        let (a, b) = (Var::from_tensor(&a)?, Var::from_tensor(&b)?);
        let dropout = (self.cfg.dropout > 0.0).then(|| LoraDropout {
            p: self.cfg.dropout as f32,
            key: module_key(module),
            seed: self.dropout_seed.clone(),
        });
        let w = LoraWeights {
            a: a.as_tensor().clone(),
            b: b.as_tensor().clone(),
            scale: self.scale(),
            dropout,
        };
        self.pairs.borrow_mut().push(LoraPair {
            module: module.into(),
            peft,
            a,
            b,
        });
        Ok(Some(w))
    }
}

/// Sets the dropout seed for one micro-batch: a pure function of the run seed, the optimizer
/// step and the micro-batch index (never 0, which means "off").
pub fn set_dropout_seed(handle: &AtomicU64, seed: u64, step: u64, micro: u64) {
    let s = mix64(seed ^ mix64(step ^ mix64(micro)));
    handle.store(s.max(1), Ordering::Relaxed);
}

/// The adapter tensors under PEFT's key names.
pub fn peft_tensors(pairs: &[LoraPair]) -> Result<BTreeMap<String, Tensor>> {
    let mut out = BTreeMap::new();
    for p in pairs {
        out.insert(
            peft_key(&p.peft, "A"),
            p.a.as_tensor().to_device(&Device::Cpu)?,
        );
        out.insert(
            peft_key(&p.peft, "B"),
            p.b.as_tensor().to_device(&Device::Cpu)?,
        );
    }
    Ok(out)
}

/// `adapter_config.json` as PEFT writes it. `target_modules` is the exact list of adapted
/// module paths, so PEFT adapts the same layers whatever rule chose them.
pub fn peft_config(cfg: &LoraSection, pairs: &[LoraPair], base: &str) -> PeftConfig {
    let modules: Vec<String> = pairs.iter().map(|p| p.peft.clone()).collect();
    let mut rest = serde_json::Map::new();
    for (k, v) in [
        ("task_type", serde_json::Value::Null),
        ("bias", "none".into()),
        ("fan_in_fan_out", false.into()),
        ("modules_to_save", serde_json::Value::Null),
        ("base_model_name_or_path", base.into()),
        ("inference_mode", true.into()),
        ("init_lora_weights", true.into()),
        ("layers_to_transform", serde_json::Value::Null),
        ("layers_pattern", serde_json::Value::Null),
        ("rank_pattern", serde_json::json!({})),
        ("alpha_pattern", serde_json::json!({})),
        ("revision", serde_json::Value::Null),
    ] {
        rest.insert(k.into(), v);
    }
    PeftConfig {
        peft_type: "LORA".into(),
        r: cfg.r,
        lora_alpha: cfg.alpha,
        lora_dropout: cfg.dropout,
        use_rslora: cfg.rslora,
        use_dora: false,
        target_modules: Some(model::lora::TargetModules::List(modules)),
        rest,
    }
}

/// Writes a PEFT adapter directory: `adapter_model.safetensors` (metadata `format: pt`) and
/// `adapter_config.json`, atomically.
pub fn write_peft(dir: &Path, cfg: &PeftConfig, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
    let (parent, name) = crate::store::split_dir(dir)?;
    data::fsutil::write_dir_atomic(&parent, &name, |tmp: &Path| -> Result<()> {
        write_safetensors(&tmp.join("adapter_model.safetensors"), tensors)?;
        let json = serde_json::to_string_pretty(cfg)?;
        std::fs::write(tmp.join("adapter_config.json"), json)
            .map_err(Error::io("writing", tmp.join("adapter_config.json")))
    })?;
    Ok(())
}
