//! The fluency-error detector ("echecker", Zhou et al. 2022, as aac-metrics runs it): a BERT
//! encoder whose first-token state goes through a linear head, one sigmoid per error class.
//!
//! Checkpoint format (blmoistawinde/fense releases, e.g. `echecker_clotho_audiocaps_base.ckpt`):
//! a `torch.save` zip archive of `{"model_type": <hub id of the BERT, e.g.
//! "bert-base-uncased">, "num_classes": 6, "state_dict": {"encoder.…": BertModel weights,
//! "clf.weight", "clf.bias"}}`. The BERT's `config.json` and tokenizer are those of
//! `model_type` (aac-metrics calls `AutoModel/AutoTokenizer.from_pretrained(model_type)`), so
//! loading needs that directory too.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::pickle::{Object, Stack};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::Linear;

use crate::bert::{BertConfig, BertEncoder};
use crate::error::{Error, Result};
use crate::text::{echecker_clean, length_batches, pad_batch, BertTokenizer};

/// The detector's classes, in the order of its outputs (aac-metrics `_ERROR_NAMES`); the last,
/// "error", is the one thresholded.
pub const ERROR_NAMES: [&str; 6] = [
    "add_tail",
    "repeat_event",
    "repeat_adv",
    "remove_conj",
    "remove_verb",
    "error",
];

/// Index of the "error" class in [`ERROR_NAMES`].
pub const ERROR_CLASS: usize = 5;

/// aac-metrics' tokenizer length for the detector (`max_len=64`, truncation on).
pub const ECHECKER_MAX_LEN: usize = 64;

/// The detector's sigmoid outputs for one sentence, in [`ERROR_NAMES`] order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FluencyProbs(pub [f32; 6]);

impl FluencyProbs {
    /// Probability of the "error" class.
    pub fn error(&self) -> f32 {
        self.0[ERROR_CLASS]
    }

    /// aac-metrics' decision: `probs["error"] > threshold`, compared in f32 (the array is
    /// float32 and numpy casts the Python float threshold to it).
    pub fn has_error(&self, threshold: f64) -> bool {
        self.error() > threshold as f32
    }
}

/// What the checkpoint says besides its weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The BERT the head sits on, as a hub id (its config.json and tokenizer are needed).
    pub model_type: String,
    /// Number of output classes (6 for the published detectors).
    pub num_classes: usize,
}

/// A loaded fluency-error detector.
pub struct FluencyDetector {
    encoder: BertEncoder,
    head: Linear,
    tokenizer: BertTokenizer,
    info: CheckpointInfo,
}

impl FluencyDetector {
    /// Loads the checkpoint `ckpt` with the config and tokenizer of its BERT from `base_dir`
    /// (the local copy of `model_type`: `config.json` and `tokenizer.json` or `vocab.txt`).
    pub fn load(ckpt: &Path, base_dir: &Path, device: &Device) -> Result<Self> {
        let info = read_info(ckpt)?;
        if info.num_classes != ERROR_NAMES.len() {
            return Err(Error::checkpoint(
                ckpt,
                format!(
                    "num_classes is {}, expected {} ({})",
                    info.num_classes,
                    ERROR_NAMES.len(),
                    ERROR_NAMES.join(", ")
                ),
            ));
        }
        let cfg_path = base_dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(Error::NotAvailable {
                reason: format!(
                    "the echecker's BERT {:?} is not there: no {}",
                    info.model_type,
                    cfg_path.display()
                ),
            });
        }
        let config = BertConfig::from_file(&cfg_path)?;
        let tokenizer = BertTokenizer::from_dir(base_dir, ECHECKER_MAX_LEN)?;
        let tensors: HashMap<String, Tensor> =
            candle_core::pickle::read_all_with_key(ckpt, Some("state_dict"))
                .map_err(|e| Error::checkpoint(ckpt, e))?
                .into_iter()
                .collect();
        let head = {
            let get = |name: &str| {
                tensors
                    .get(name)
                    .ok_or_else(|| Error::checkpoint(ckpt, format!("no tensor {name}")))
                    .and_then(|t| Ok(t.to_dtype(DType::F32)?.to_device(device)?))
            };
            let w = get("clf.weight")?;
            let b = get("clf.bias")?;
            if w.dims() != [info.num_classes, config.hidden_size] {
                return Err(Error::checkpoint(
                    ckpt,
                    format!(
                        "clf.weight has shape {:?}, expected [{}, {}]",
                        w.dims(),
                        info.num_classes,
                        config.hidden_size
                    ),
                ));
            }
            Linear::new(w, Some(b))
        };
        let encoder = BertEncoder::from_tensors(config, tensors, "encoder.", device, ckpt)?;
        Ok(Self {
            encoder,
            head,
            tokenizer,
            info,
        })
    }

    /// What the checkpoint declares.
    pub fn info(&self) -> &CheckpointInfo {
        &self.info
    }

    /// The token ids the model sees for each sentence (after aac-metrics' text clean-up).
    pub fn token_ids(&self, sentences: &[&str]) -> Result<Vec<Vec<u32>>> {
        let cleaned: Vec<String> = sentences.iter().map(|s| echecker_clean(s)).collect();
        let refs: Vec<&str> = cleaned.iter().map(String::as_str).collect();
        self.tokenizer.encode(&refs)
    }

    /// The head's logits `[n, 6]` for each sentence (diagnostics, tests).
    pub fn logits<S: AsRef<str>>(
        &self,
        sentences: &[S],
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>> {
        self.run(sentences, batch_size, false)
    }

    /// Per-class error probabilities for each sentence, in `batch_size` batches.
    pub fn probs<S: AsRef<str>>(
        &self,
        sentences: &[S],
        batch_size: usize,
    ) -> Result<Vec<FluencyProbs>> {
        Ok(self
            .run(sentences, batch_size, true)?
            .into_iter()
            .map(|row| {
                let mut p = [0f32; 6];
                p.copy_from_slice(&row);
                FluencyProbs(p)
            })
            .collect())
    }

    fn run<S: AsRef<str>>(
        &self,
        sentences: &[S],
        batch_size: usize,
        sigmoid: bool,
    ) -> Result<Vec<Vec<f32>>> {
        let texts: Vec<&str> = sentences.iter().map(AsRef::as_ref).collect();
        let ids = self.token_ids(&texts)?;
        let lens: Vec<usize> = ids.iter().map(Vec::len).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for batch in length_batches(&lens, batch_size) {
            let rows: Vec<&Vec<u32>> = batch.iter().map(|&i| &ids[i]).collect();
            let (input, mask) = pad_batch(&rows, 0, self.encoder.device())?;
            let hidden = self.encoder.forward(&input, &mask)?;
            let first = hidden.narrow(1, 0, 1)?.squeeze(1)?;
            let mut y = self.head.forward(&first)?;
            if sigmoid {
                y = candle_nn::ops::sigmoid(&y)?;
            }
            for (&i, row) in batch
                .iter()
                .zip(y.to_device(&Device::Cpu)?.to_vec2::<f32>()?)
            {
                out[i] = row;
            }
        }
        Ok(out)
    }
}

/// Reads `model_type` and `num_classes` from an echecker checkpoint (its `data.pkl`).
pub fn read_info(ckpt: &Path) -> Result<CheckpointInfo> {
    if !ckpt.is_file() {
        return Err(Error::NotAvailable {
            reason: format!("echecker checkpoint {} does not exist", ckpt.display()),
        });
    }
    let bad = |msg: String| Error::checkpoint(ckpt, msg);
    let file = std::fs::File::open(ckpt).map_err(|e| Error::io(ckpt, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        bad(format!(
            "not a torch zip archive ({e}); legacy (pre-1.6) torch.save files are not supported"
        ))
    })?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let pkl = names
        .iter()
        .find(|n| n.ends_with("data.pkl"))
        .ok_or_else(|| bad("no data.pkl in the archive".into()))?;
    let entry = zip.by_name(pkl).map_err(|e| bad(e.to_string()))?;
    let mut stack = Stack::empty();
    stack
        .read_loop(&mut BufReader::new(entry))
        .map_err(|e| bad(e.to_string()))?;
    let obj = stack.finalize().map_err(|e| bad(e.to_string()))?;
    let Object::Dict(entries) = obj else {
        return Err(bad("the top-level object is not a dict".into()));
    };
    let mut model_type = None;
    let mut num_classes = None;
    for (k, v) in entries {
        match (k, v) {
            (Object::Unicode(k), Object::Unicode(v)) if k == "model_type" => model_type = Some(v),
            (Object::Unicode(k), Object::Int(v)) if k == "num_classes" => {
                num_classes = usize::try_from(v).ok()
            }
            (Object::Unicode(k), Object::Long(v)) if k == "num_classes" => {
                num_classes = usize::try_from(v).ok()
            }
            _ => {}
        }
    }
    Ok(CheckpointInfo {
        model_type: model_type.ok_or_else(|| bad("no string \"model_type\"".into()))?,
        num_classes: num_classes.ok_or_else(|| bad("no integer \"num_classes\"".into()))?,
    })
}

/// `<root>/<model_type>` for each root that has a `config.json` there.
pub(crate) fn base_dir_in(roots: &[PathBuf], model_type: &str) -> Option<PathBuf> {
    roots
        .iter()
        .map(|r| r.join(model_type))
        .find(|d| d.join("config.json").is_file())
}
