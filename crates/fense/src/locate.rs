//! Where the three pieces FENSE needs are: the sentence-BERT directory, the echecker
//! checkpoint, and the echecker's base BERT (config + tokenizer). No network: either a local
//! directory laid out as below, or the caches aac-metrics itself fills (Hugging Face hub cache
//! and `FENSE_DATA` / torch hub), read offline.

use std::path::{Path, PathBuf};

use crate::echecker::{base_dir_in, read_info};
use crate::error::{Error, Result};

/// aac-metrics' default sentence-BERT (`sentence-transformers/` is prepended on the hub).
pub const DEFAULT_SBERT: &str = "paraphrase-TinyBERT-L6-v2";
/// aac-metrics' default fluency-error detector.
pub const DEFAULT_ECHECKER: &str = "echecker_clotho_audiocaps_base";

/// Paths of the models. `echecker_base` = `None`: found from the checkpoint's `model_type`
/// when loading (next to the checkpoint, then in the hub cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenseModels {
    /// A sentence-transformers directory.
    pub sbert: PathBuf,
    /// The echecker `.ckpt` file.
    pub echecker: PathBuf,
    /// The echecker's BERT (`config.json`, tokenizer), if known.
    pub echecker_base: Option<PathBuf>,
}

impl FenseModels {
    /// The layout of a local models directory `root`:
    ///
    /// ```text
    /// root/paraphrase-TinyBERT-L6-v2/            the sentence-transformers directory
    /// root/echecker_clotho_audiocaps_base.ckpt   the detector's checkpoint
    /// root/bert-base-uncased/                    its model_type: config.json + tokenizer
    /// ```
    ///
    /// Nothing is checked here; [`crate::Fense::load`] says what is missing.
    pub fn in_dir(root: &Path) -> Self {
        Self {
            sbert: root.join(DEFAULT_SBERT),
            echecker: root.join(format!("{DEFAULT_ECHECKER}.ckpt")),
            echecker_base: None,
        }
    }

    /// The files aac-metrics downloads, where it keeps them: the sentence-BERT in the Hugging
    /// Face hub cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`),
    /// the checkpoint in `FENSE_DATA`, else `TORCH_HOME/hub/fense_data` (torch's default
    /// `~/.cache/torch/hub/fense_data`). [`Error::NotAvailable`] naming what is missing and
    /// where it was looked for, if either is absent.
    pub fn from_caches() -> Result<Self> {
        let hub = hf_hub_cache();
        let sbert_repo = format!("sentence-transformers/{DEFAULT_SBERT}");
        let sbert = hub
            .as_deref()
            .and_then(|h| hub_snapshot(h, &sbert_repo))
            .ok_or_else(|| Error::NotAvailable {
                reason: format!(
                    "{sbert_repo} is not in the Hugging Face cache ({}); download it with \
                     aac-metrics or `huggingface-cli download {sbert_repo}`, or pass a models \
                     directory",
                    hub.as_deref()
                        .map_or("no cache directory".into(), |p| p.display().to_string())
                ),
            })?;
        let data = fense_data_dir();
        let name = format!("{DEFAULT_ECHECKER}.ckpt");
        let echecker = data
            .as_deref()
            .map(|d| d.join(&name))
            .filter(|p| p.is_file())
            .ok_or_else(|| Error::NotAvailable {
                reason: format!(
                    "{name} is not in {} (FENSE_DATA / torch hub fense_data); it is published at \
                     https://github.com/blmoistawinde/fense/releases/download/V0.1/{name}",
                    data.as_deref()
                        .map_or("no cache directory".into(), |p| p.display().to_string())
                ),
            })?;
        Ok(Self {
            sbert,
            echecker,
            echecker_base: None,
        })
    }

    /// [`Self::in_dir`] when `root` is given, else [`Self::from_caches`].
    pub fn locate(root: Option<&Path>) -> Result<Self> {
        match root {
            Some(r) => Ok(Self::in_dir(r)),
            None => Self::from_caches(),
        }
    }

    /// The echecker's base BERT directory: `echecker_base` if set, else
    /// `<checkpoint dir>/<model_type>`, else the hub cache's snapshot of `model_type`.
    pub fn resolve_echecker_base(&self) -> Result<PathBuf> {
        if let Some(b) = &self.echecker_base {
            return Ok(b.clone());
        }
        let info = read_info(&self.echecker)?;
        let mut roots = Vec::new();
        if let Some(parent) = self.echecker.parent() {
            roots.push(parent.to_path_buf());
        }
        if let Some(d) = base_dir_in(&roots, &info.model_type) {
            return Ok(d);
        }
        let hub = hf_hub_cache();
        if let Some(d) = hub
            .as_deref()
            .and_then(|h| hub_snapshot(h, &info.model_type))
        {
            return Ok(d);
        }
        Err(Error::NotAvailable {
            reason: format!(
                "the echecker's BERT {:?} (config.json + tokenizer) is neither in {} nor in the \
                 Hugging Face cache{}",
                info.model_type,
                roots
                    .first()
                    .map_or("the checkpoint's directory".into(), |r| r
                        .join(&info.model_type)
                        .display()
                        .to_string()),
                hub.as_deref()
                    .map_or(String::new(), |h| format!(" ({})", h.display()))
            ),
        })
    }
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home_cache() -> Option<PathBuf> {
    env_dir("XDG_CACHE_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
}

/// The Hugging Face hub cache directory, as huggingface_hub computes it.
pub fn hf_hub_cache() -> Option<PathBuf> {
    env_dir("HF_HUB_CACHE")
        .or_else(|| env_dir("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| env_dir("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| home_cache().map(|c| c.join("huggingface").join("hub")))
}

/// aac-metrics' echecker directory: `FENSE_DATA`, else `<torch hub dir>/fense_data`.
pub fn fense_data_dir() -> Option<PathBuf> {
    env_dir("FENSE_DATA").or_else(|| {
        env_dir("TORCH_HOME")
            .or_else(|| home_cache().map(|c| c.join("torch")))
            .map(|t| t.join("hub").join("fense_data"))
    })
}

/// The snapshot directory of `repo` ("owner/name" or "name") in a hub cache: the revision in
/// `refs/main`, else the only snapshot. `None` if absent or it has no `config.json` /
/// `modules.json`.
pub fn hub_snapshot(cache: &Path, repo: &str) -> Option<PathBuf> {
    let dir = cache.join(format!("models--{}", repo.replace('/', "--")));
    let snaps = dir.join("snapshots");
    let by_ref = std::fs::read_to_string(dir.join("refs").join("main"))
        .ok()
        .map(|r| snaps.join(r.trim()));
    let snap = by_ref.filter(|p| p.is_dir()).or_else(|| {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&snaps)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        if all.len() == 1 {
            all.pop()
        } else {
            None
        }
    })?;
    (snap.join("config.json").is_file() || snap.join("modules.json").is_file()).then_some(snap)
}
