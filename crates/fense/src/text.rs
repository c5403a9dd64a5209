//! Text to model input: the WordPiece tokenizer as transformers loads it, the echecker's text
//! clean-up, and padded id/mask tensors.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::{BertNormalizer, Lowercase, NormalizerWrapper, Sequence};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer, TruncationParams, TruncationStrategy};
use unicode_categories::UnicodeCategories;

use crate::error::{Error, Result};

/// A BERT WordPiece tokenizer with the truncation its caller uses.
pub struct BertTokenizer {
    inner: Tokenizer,
    path: PathBuf,
}

/// `tokenizer_config.json` fields used when only `vocab.txt` is there (transformers then
/// converts the slow `BertTokenizer` with these settings).
#[derive(Debug, Deserialize)]
struct TokenizerConfig {
    #[serde(default = "yes")]
    do_lower_case: bool,
    #[serde(default = "yes")]
    tokenize_chinese_chars: bool,
    #[serde(default)]
    strip_accents: Option<bool>,
    #[serde(default = "unk")]
    unk_token: String,
    #[serde(default = "cls")]
    cls_token: String,
    #[serde(default = "sep")]
    sep_token: String,
    #[serde(default = "pad")]
    pad_token: String,
    #[serde(default = "mask")]
    mask_token: String,
}

fn yes() -> bool {
    true
}
fn unk() -> String {
    "[UNK]".into()
}
fn cls() -> String {
    "[CLS]".into()
}
fn sep() -> String {
    "[SEP]".into()
}
fn pad() -> String {
    "[PAD]".into()
}
fn mask() -> String {
    "[MASK]".into()
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}

impl BertTokenizer {
    /// Loads the tokenizer of a model directory: `tokenizer.json` when present (what
    /// `AutoTokenizer` uses), else `vocab.txt` + `tokenizer_config.json` converted the way
    /// transformers converts a slow `BertTokenizer`. Sequences are truncated to `max_len`
    /// tokens (special tokens included), longest-first, as `truncation=True, max_length=…`.
    pub fn from_dir(dir: &Path, max_len: usize) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let (mut inner, path) = if json.is_file() {
            let t = Tokenizer::from_file(&json).map_err(|e| Error::Tokenizer {
                path: json.clone(),
                msg: e.to_string(),
            })?;
            (t, json)
        } else {
            let vocab = dir.join("vocab.txt");
            if !vocab.is_file() {
                return Err(Error::NotAvailable {
                    reason: format!("no tokenizer.json or vocab.txt in {}", dir.display()),
                });
            }
            (from_vocab(dir, &vocab)?, vocab)
        };
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer {
                path: path.clone(),
                msg: e.to_string(),
            })?;
        Ok(Self { inner, path })
    }

    /// Prepends a `Lowercase` normaliser unless the normaliser already is, or contains, one:
    /// what sentence-transformers does for `do_lower_case: true` in `sentence_bert_config.json`.
    pub(crate) fn force_lowercase(&mut self) -> Result<()> {
        let current = self.inner.get_normalizer().cloned();
        let has = match &current {
            Some(NormalizerWrapper::Lowercase(_)) => true,
            Some(NormalizerWrapper::Sequence(s)) => serde_json::to_value(s)
                .ok()
                .and_then(|v| v.get("normalizers").cloned())
                .and_then(|v| v.as_array().cloned())
                .is_some_and(|a| a.iter().any(|n| n["type"] == "Lowercase")),
            _ => false,
        };
        if has {
            return Ok(());
        }
        let mut list = vec![NormalizerWrapper::Lowercase(Lowercase)];
        match current {
            Some(NormalizerWrapper::Sequence(s)) => {
                let parts: Vec<NormalizerWrapper> = serde_json::to_value(&s)
                    .ok()
                    .and_then(|v| v.get("normalizers").cloned())
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                list.extend(parts);
            }
            Some(n) => list.push(n),
            None => {}
        }
        self.inner
            .with_normalizer(Some(Sequence::new(list)))
            .map_err(|e| Error::Tokenizer {
                path: self.path.clone(),
                msg: e.to_string(),
            })?;
        Ok(())
    }

    /// Token ids of each text (special tokens added, truncated).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let enc = self
            .inner
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Tokenizer {
                path: self.path.clone(),
                msg: e.to_string(),
            })?;
        Ok(enc.into_iter().map(|e| e.get_ids().to_vec()).collect())
    }
}

fn from_vocab(dir: &Path, vocab: &Path) -> Result<Tokenizer> {
    let cfg_path = dir.join("tokenizer_config.json");
    let cfg: TokenizerConfig = if cfg_path.is_file() {
        crate::error::read_json(&cfg_path)?
    } else {
        TokenizerConfig::default()
    };
    let terr = |msg: String| Error::Tokenizer {
        path: vocab.to_path_buf(),
        msg,
    };
    let wp = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token(cfg.unk_token.clone())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| terr(e.to_string()))?;
    let mut t = Tokenizer::new(wp);
    t.with_normalizer(Some(BertNormalizer::new(
        true,
        cfg.tokenize_chinese_chars,
        cfg.strip_accents,
        cfg.do_lower_case,
    )))
    .map_err(|e| terr(e.to_string()))?;
    t.with_pre_tokenizer(Some(BertPreTokenizer));
    let id = |tok: &str| {
        t.token_to_id(tok)
            .ok_or_else(|| terr(format!("{tok} is not in the vocabulary")))
    };
    let (cls_id, sep_id) = (id(&cfg.cls_token)?, id(&cfg.sep_token)?);
    let post = TemplateProcessing::builder()
        .try_single(format!("{}:0 $A:0 {}:0", cfg.cls_token, cfg.sep_token))
        .map_err(terr)?
        .try_pair(format!(
            "{}:0 $A:0 {}:0 $B:1 {}:1",
            cfg.cls_token, cfg.sep_token, cfg.sep_token
        ))
        .map_err(terr)?
        .special_tokens(vec![
            (cfg.cls_token.clone(), cls_id),
            (cfg.sep_token.clone(), sep_id),
        ])
        .build()
        .map_err(|e| terr(e.to_string()))?;
    t.with_post_processor(Some(post));
    let specials = [
        &cfg.pad_token,
        &cfg.unk_token,
        &cfg.cls_token,
        &cfg.sep_token,
        &cfg.mask_token,
    ];
    let known: Vec<AddedToken> = specials
        .iter()
        .filter(|s| t.token_to_id(s).is_some())
        .map(|s| AddedToken::from(s.to_string(), true))
        .collect();
    t.add_special_tokens(known)
        .map_err(|e| terr(e.to_string()))?;
    Ok(t)
}

/// The echecker's text clean-up (aac-metrics `__text_preprocess`):
/// `re.sub(r"[^\w\s]", "", x).lower()` with Python's Unicode `\w` (letters, numbers, `_`) and
/// `\s` (`str.isspace`), and Python's `str.lower`.
pub fn echecker_clean(text: &str) -> String {
    text.chars()
        .filter(|&c| py_is_word(c) || py_is_space(c))
        .collect::<String>()
        .to_lowercase()
}

/// Python's `\w` for str patterns: `c.isalnum() or c == "_"` (general category L* or N*).
fn py_is_word(c: char) -> bool {
    c == '_' || c.is_letter() || c.is_number()
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Right-pads `rows` with `pad_id` to the longest row: ids `[B, T]` (u32) and mask `[B, T]`
/// (u32, 1 = token).
pub(crate) fn pad_batch(
    rows: &[&Vec<u32>],
    pad_id: u32,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let t = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(rows.len() * t);
    let mut mask = Vec::with_capacity(rows.len() * t);
    for r in rows {
        ids.extend_from_slice(r);
        mask.extend(std::iter::repeat_n(1u32, r.len()));
        ids.extend(std::iter::repeat_n(pad_id, t - r.len()));
        mask.extend(std::iter::repeat_n(0u32, t - r.len()));
    }
    let shape = (rows.len(), t);
    Ok((
        Tensor::from_vec(ids, shape, device)?,
        Tensor::from_vec(mask, shape, device)?,
    ))
}

/// Batches of indices into `lens`, longest first (as sentence-transformers sorts), so each
/// batch pads little. Results do not depend on the batching; only speed does.
pub(crate) fn length_batches(lens: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_python_re() {
        // Values from Python 3.11: re.sub(r"[^\w\s]", "", x).lower()
        assert_eq!(
            echecker_clean("A Dog's bark -- and, a CAT!"),
            "a dogs bark  and a cat"
        );
        assert_eq!(echecker_clean("3½ ① ² _x_"), "3½ ① ² _x_");
        // U+0301 (combining acute, Mn) is not \w in Python: removed.
        assert_eq!(echecker_clean("e\u{301}t\u{e9}"), "eté");
        assert_eq!(echecker_clean("a\u{1f}b\tc"), "a\u{1f}b\tc");
        assert_eq!(echecker_clean("ΟΔΟΣ"), "οδος");
    }
}
