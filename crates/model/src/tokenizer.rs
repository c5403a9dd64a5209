//! `tokenizer.json` through the `tokenizers` crate, and the Qwen special tokens' ids.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The special tokens every Qwen2 chat template needs, read from the tokenizer. A modality's
/// placeholder (`<|AUDIO|>`, `<|image_pad|>`) is checked by the model that splices it, against
/// its config ([`Tokenizer::token_to_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    pub im_start: u32,
    pub im_end: u32,
    pub endoftext: u32,
}

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
    pub special: SpecialIds,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Self> {
        let err = |msg: String| Error::Tokenizer {
            path: path.into(),
            msg,
        };
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        let id = |tok: &str| {
            inner
                .token_to_id(tok)
                .ok_or_else(|| err(format!("has no {tok} token")))
        };
        let special = SpecialIds {
            im_start: id("<|im_start|>")?,
            im_end: id("<|im_end|>")?,
            endoftext: id("<|endoftext|>")?,
        };
        Ok(Self {
            inner,
            path: path.into(),
            special,
        })
    }

    /// Text → ids, with the tokenizer's own post-processing (Qwen2 adds no BOS).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenizer {
                path: self.path.clone(),
                msg: format!("encoding {:?}: {e}", truncate(text)),
            })?;
        Ok(enc.get_ids().to_vec())
    }

    /// Ids → text; special tokens dropped when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| Error::Tokenizer {
                path: self.path.clone(),
                msg: format!("decoding: {e}"),
            })
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_to_id(&self, tok: &str) -> Option<u32> {
        self.inner.token_to_id(tok)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}
