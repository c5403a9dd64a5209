//! The model with its trainable parameters: LoRA adapters, and in full finetuning (or with
//! the projector / encoder switches) the base weights themselves as f32 `Var`s.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use model::checkpoint::ModelFiles;
use model::lora::{AdapterSource, NoAdapters};
use model::{Family, Model};

use crate::adapters::{LoraPair, TrainableLora};
use crate::config::{Config, Mode, Weights};
use crate::error::{Error, Result};

/// A named trainable tensor. LoRA matrices carry their PEFT key; base weights their
/// checkpoint key.
pub struct Trainable {
    pub model: Model,
    /// LoRA adapters (empty in full mode).
    pub lora: Vec<LoraPair>,
    /// Base weights being trained, by checkpoint key.
    pub base: Vec<(String, Var)>,
    /// Dropout seed handle of the adapters (None without LoRA dropout).
    pub lora_source: Option<TrainableLora>,
    /// Gradients of checkpointed layers, to merge after each backward (None when
    /// `train.gradient_checkpointing` is off).
    pub side_grads: Option<std::sync::Arc<model::checkpointing::SideGrads>>,
}

impl Trainable {
    /// Every trainable tensor, LoRA first, in a stable order (the optimizer's order).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v = Vec::new();
        for p in &self.lora {
            v.push((crate::adapters::peft_key(&p.peft, "A"), p.a.clone()));
            v.push((crate::adapters::peft_key(&p.peft, "B"), p.b.clone()));
        }
        v.extend(self.base.iter().cloned());
        v
    }
}

/// Which base weights are trained: all in full finetuning; with LoRA, the projector (Qwen2-Audio's
/// `multi_modal_projector`, Qwen2-VL's patch merger) and the modality encoder (the audio tower,
/// the vision tower without its merger) when switched on.
fn base_trained(cfg: &Config, family: Family, key: &str) -> bool {
    match cfg.train.mode {
        Mode::Full => true,
        Mode::Lora => {
            (cfg.train.train_projector && family.in_projector(key))
                || (cfg.train.train_encoder && family.in_encoder(key))
        }
    }
}

pub fn load(cfg: &Config, files: &ModelFiles, device: &Device) -> Result<Trainable> {
    let dtype: DType = cfg.model.dtype.into();
    let family = Family::of_config(&files.config)?;
    let lora_source = match cfg.train.mode {
        Mode::Lora => Some(TrainableLora::new(&cfg.lora, cfg.train.seed, family)?),
        Mode::Full => None,
    };
    let adapters: &dyn AdapterSource = match &lora_source {
        Some(l) => l,
        None => &NoAdapters,
    };
    let any_base =
        cfg.train.mode == Mode::Full || cfg.train.train_projector || cfg.train.train_encoder;
    let (mut model, base) = if cfg.model.weights == Weights::Random {
        // (config validation keeps base weights untrained here)
        let vb = model::init::random_var_builder(0.02, cfg.train.seed, dtype, device);
        (Model::build(files, vb, adapters)?, vec![])
    } else if !any_base {
        (Model::load(files, device, dtype, adapters)?, vec![])
    } else {
        // Read every tensor; the trained ones become f32 Vars, the rest stay frozen tensors.
        let mut map: HashMap<String, Tensor> = HashMap::new();
        let mut base = Vec::new();
        for file in &files.weights {
            let tensors = candle_core::safetensors::load(file, device)
                .map_err(|e| Error::checkpoint(file, e.to_string()))?;
            for (k, t) in tensors {
                if base_trained(cfg, family, &k) {
                    let v = Var::from_tensor(&t.to_dtype(DType::F32)?)?;
                    map.insert(k.clone(), v.as_tensor().clone());
                    base.push((k, v));
                } else {
                    map.insert(k, t.to_dtype(dtype)?);
                }
            }
        }
        base.sort_by(|a, b| a.0.cmp(&b.0));
        let vb = VarBuilder::from_tensors(map, dtype, device);
        (Model::build(files, vb, adapters)?, base)
    };
    let lora = match &lora_source {
        Some(l) => {
            l.check_init_consumed()?;
            l.pairs()
        }
        None => vec![],
    };
    if lora.is_empty() && base.is_empty() {
        return Err(Error::NothingToTrain(format!(
            "lora.target_modules {:?} (scope {:?}) matches no linear layer and no base weight is switched on",
            cfg.lora.target_modules, cfg.lora.scope
        )));
    }
    let wanted: Vec<candle_core::TensorId> = lora
        .iter()
        .flat_map(|p| [p.a.id(), p.b.id()])
        .chain(base.iter().map(|(_, v)| v.id()))
        .collect();
    let side_grads = cfg
        .train
        .gradient_checkpointing
        .then(|| model.enable_checkpointing(wanted));
    Ok(Trainable {
        model,
        lora,
        base,
        lora_source,
        side_grads,
    })
}
