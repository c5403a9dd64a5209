//! Where a model's files are: a local directory or a Hugging Face hub id.
//!
//! A hub id (`owner/name`) is looked up in the local hub cache first (`HF_HUB_CACHE`, else
//! `HF_HOME/hub`, else `~/.cache/huggingface/hub`, the layout `huggingface_hub` writes). With
//! `HF_HUB_OFFLINE=1` nothing else is tried; otherwise missing files are downloaded with the
//! `hf-hub` client (cargo feature `hub`, on by default), which honours `HF_ENDPOINT` and
//! `HF_TOKEN`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The files of one checkpoint, all present on disk.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The directory holding `config.json` (for a hub id: the cache snapshot).
    pub dir: PathBuf,
    pub config: PathBuf,
    /// One file, or every shard named in `model.safetensors.index.json`.
    pub weights: Vec<PathBuf>,
    pub tokenizer: PathBuf,
    pub generation_config: Option<PathBuf>,
}

impl ModelFiles {
    /// A tensor error met while building a model from these files, as an error naming the
    /// checkpoint (a missing key or a wrong shape); other errors unchanged.
    pub fn checkpoint_error(&self, e: Error) -> Error {
        match e {
            Error::Candle(c) => Error::Checkpoint {
                path: self.dir.clone(),
                msg: c.to_string(),
            },
            other => other,
        }
    }

    /// The weights, memory-mapped and cast to `dtype` on `device`, for building a model.
    pub fn var_builder(
        &self,
        dtype: candle_core::DType,
        device: &candle_core::Device,
    ) -> Result<candle_nn::VarBuilder<'static>> {
        // SAFETY: the files are memory-mapped read-only; they must not change while loaded.
        unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&self.weights, dtype, device) }
            .map_err(|e| Error::Checkpoint {
                path: self.dir.clone(),
                msg: e.to_string(),
            })
    }
}

const INDEX: &str = "model.safetensors.index.json";
const SINGLE: &str = "model.safetensors";

/// Resolves `source` (a directory or a hub id) to the checkpoint's files.
pub fn resolve(source: &str) -> Result<ModelFiles> {
    let path = Path::new(source);
    if path.is_dir() {
        return local(path);
    }
    if !looks_like_hub_id(source) {
        return Err(Error::Source {
            source_name: source.into(),
            msg: "no such directory, and not a hub id of the form owner/name".into(),
        });
    }
    hub(source)
}

fn looks_like_hub_id(s: &str) -> bool {
    let mut parts = s.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// A checkpoint directory on disk.
pub fn local(dir: &Path) -> Result<ModelFiles> {
    let need = |name: &str| -> Result<PathBuf> {
        let p = dir.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Checkpoint {
                path: dir.into(),
                msg: format!("{name} is missing"),
            })
        }
    };
    let config = need("config.json")?;
    let tokenizer = need("tokenizer.json")?;
    let weights = if dir.join(INDEX).is_file() {
        shard_names(&dir.join(INDEX))?
            .into_iter()
            .map(|n| need(&n))
            .collect::<Result<Vec<_>>>()?
    } else {
        vec![need(SINGLE).map_err(|_| Error::Checkpoint {
            path: dir.into(),
            msg: format!("neither {SINGLE} nor {INDEX} is present"),
        })?]
    };
    let generation_config = Some(dir.join("generation_config.json")).filter(|p| p.is_file());
    Ok(ModelFiles {
        dir: dir.into(),
        config,
        weights,
        tokenizer,
        generation_config,
    })
}

/// A checkpoint directory's `config.json`, tokenizer and generation config, without weights
/// (`weights` empty): for a model whose weights are drawn at load
/// ([`crate::init::random_var_builder`]). A directory that has weights is refused, so that
/// random weights are never taken for a checkpoint's by mistake.
pub fn without_weights(dir: &Path) -> Result<ModelFiles> {
    if dir.join(SINGLE).is_file() || dir.join(INDEX).is_file() {
        return Err(Error::Checkpoint {
            path: dir.into(),
            msg: "has weights: random weights are only drawn for a directory without them".into(),
        });
    }
    let need = |name: &str| -> Result<PathBuf> {
        let p = dir.join(name);
        p.is_file().then_some(p).ok_or_else(|| Error::Checkpoint {
            path: dir.into(),
            msg: format!("{name} is missing"),
        })
    };
    Ok(ModelFiles {
        dir: dir.into(),
        config: need("config.json")?,
        weights: Vec::new(),
        tokenizer: need("tokenizer.json")?,
        generation_config: Some(dir.join("generation_config.json")).filter(|p| p.is_file()),
    })
}

/// The distinct shard file names of a `model.safetensors.index.json`, in first-seen order.
pub fn shard_names(index: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(index).map_err(|e| Error::io(index, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: index.into(),
        source,
    })?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::Checkpoint {
            path: index.into(),
            msg: "no \"weight_map\" object".into(),
        })?;
    let mut names: Vec<String> = Vec::new();
    for (key, file) in map {
        let file = file.as_str().ok_or_else(|| Error::Checkpoint {
            path: index.into(),
            msg: format!("weight_map[{key:?}] is not a file name"),
        })?;
        if !names.iter().any(|n| n == file) {
            names.push(file.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// The hub cache root, as `huggingface_hub` computes it.
pub fn hub_cache_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return Some(p.into());
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return Some(PathBuf::from(p).join("hub"));
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(p).join("huggingface").join("hub"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

/// The cached snapshot of `repo_id` at `refs/main`, if the cache has one with a config.
fn cached_snapshot(repo_id: &str) -> Option<PathBuf> {
    let root = hub_cache_dir()?.join(format!("models--{}", repo_id.replace('/', "--")));
    let commit = std::fs::read_to_string(root.join("refs").join("main")).ok()?;
    let snap = root.join("snapshots").join(commit.trim());
    snap.join("config.json").is_file().then_some(snap)
}

fn hub(repo_id: &str) -> Result<ModelFiles> {
    if let Some(files) = cached_snapshot(repo_id).and_then(|d| local(&d).ok()) {
        return Ok(files);
    }
    if offline() {
        return Err(Error::Source {
            source_name: repo_id.into(),
            msg: format!(
                "HF_HUB_OFFLINE is set and the hub cache ({}) has no complete snapshot",
                hub_cache_dir().map_or("unknown".into(), |p| p.display().to_string())
            ),
        });
    }
    download(repo_id)
}

#[cfg(feature = "hub")]
fn download(repo_id: &str) -> Result<ModelFiles> {
    let err = |msg: String| Error::Source {
        source_name: repo_id.into(),
        msg,
    };
    let (owner, name) = repo_id
        .split_once('/')
        .ok_or_else(|| err("not owner/name".into()))?;
    let client = hf_hub::HFClientSync::new().map_err(|e| err(e.to_string()))?;
    let repo = client.model(owner, name);
    let get = |file: &str| -> Result<PathBuf> {
        repo.download_file()
            .filename(file)
            .send()
            .map_err(|e| err(format!("{file}: {e}")))
    };
    let config = get("config.json")?;
    let dir = config
        .parent()
        .ok_or_else(|| err("download gave no directory".into()))?
        .to_path_buf();
    get("tokenizer.json")?;
    for optional in [
        "generation_config.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "chat_template.json",
    ] {
        let _ = get(optional);
    }
    match get(INDEX) {
        Ok(index) => {
            for shard in shard_names(&index)? {
                get(&shard)?;
            }
        }
        Err(_) => {
            get(SINGLE)?;
        }
    }
    local(&dir)
}

#[cfg(not(feature = "hub"))]
fn download(repo_id: &str) -> Result<ModelFiles> {
    Err(Error::Source {
        source_name: repo_id.into(),
        msg: "not in the local hub cache, and this build has no hub client (cargo feature `hub`)"
            .into(),
    })
}

/// Writes `tensors` (any device; f32, bf16 or f16, else stored as f32) as safetensors with the
/// `{"format": "pt"}` metadata transformers and PEFT expect.
pub fn write_safetensors(
    path: &Path,
    tensors: &std::collections::BTreeMap<String, candle_core::Tensor>,
) -> Result<()> {
    let err = |msg: String| Error::Checkpoint {
        path: path.into(),
        msg,
    };
    /// A tensor as safetensors stores it: dtype, shape, little-endian bytes.
    type Raw = (safetensors::Dtype, Vec<usize>, Vec<u8>);
    let raw: Vec<(&String, Raw)> = tensors
        .iter()
        .map(|(k, t)| {
            let (dt, bytes) = tensor_bytes(t)?;
            Ok((k, (dt, t.dims().to_vec(), bytes)))
        })
        .collect::<Result<_>>()?;
    let views = raw
        .iter()
        .map(|(k, (dt, shape, bytes))| {
            safetensors::tensor::TensorView::new(*dt, shape.clone(), bytes).map(|v| (*k, v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(meta), path).map_err(|e| err(e.to_string()))
}

fn tensor_bytes(t: &candle_core::Tensor) -> Result<(safetensors::Dtype, Vec<u8>)> {
    use candle_core::DType;
    let flat = t.to_device(&candle_core::Device::Cpu)?.flatten_all()?;
    Ok(match t.dtype() {
        DType::BF16 => (
            safetensors::Dtype::BF16,
            flat.to_vec1::<half::bf16>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        DType::F16 => (
            safetensors::Dtype::F16,
            flat.to_vec1::<half::f16>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        _ => (
            safetensors::Dtype::F32,
            flat.to_dtype(DType::F32)?
                .to_vec1::<f32>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_are_recognised() {
        assert!(looks_like_hub_id("Qwen/Qwen2-Audio-7B-Instruct"));
        assert!(!looks_like_hub_id("/abs/path"));
        assert!(!looks_like_hub_id("a/b/c"));
        assert!(!looks_like_hub_id("justname"));
    }
}
