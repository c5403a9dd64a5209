//! Closed-set label likelihood: how probable the model finds each candidate answer after a
//! prompt.
//!
//! Convention (pinned by `tests/fixtures/eval/likelihood.json`, from transformers): the answer
//! text is `label + "<|im_end|>"` (`processor::answer_text`, as in training) placed straight after the chat-templated prompt (which ends
//! with `<|im_start|>assistant\n`); its score is the sum over its tokens of
//! `log p(token | everything before)`. The mean per token is reported too.
//!
//! Cost: one forward pass over the prompt fills a KV cache; the cache is then replicated and
//! every continuation is scored in one batched forward of its own tokens (right-padded; the
//! causal mask keeps padding out of every real position's view). For L labels of at most n
//! tokens this is one prompt pass plus one pass over L × n tokens, instead of L full passes.

use candle_core::{DType, IndexOp, Tensor, D};
use model::decoder::{causal_mask, KvCache};
use model::model::Sequence;
use model::Model;

use crate::error::{Error, Result};

/// Continuations scored together in one batched forward; more are done in groups of this
/// many (bounds the replicated cache and the logits' memory).
pub const MAX_ROWS: usize = 16;

/// The log-probabilities of the tokens of one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerScore {
    /// One per answer token, in order (the last is `<|im_end|>`'s).
    pub token_logprobs: Vec<f64>,
}

impl AnswerScore {
    /// Summed log-probability: the answer's log-probability as a whole.
    pub fn sum(&self) -> f64 {
        self.token_logprobs.iter().sum()
    }

    /// Mean log-probability per token.
    pub fn mean(&self) -> f64 {
        self.sum() / self.token_logprobs.len().max(1) as f64
    }

    pub fn tokens(&self) -> usize {
        self.token_logprobs.len()
    }
}

/// The token ids of `answer + "<|im_end|>"` as they follow `templated` (a chat-templated
/// prompt ending with the generation prompt): the ids of the whole text after the prompt's own
/// ids. Errors if the prompt's ids are not a prefix (the answer would merge with the template).
pub fn answer_ids(model: &Model, templated: &str, answer: &str) -> Result<Vec<u32>> {
    Ok(answers_ids(model, templated, &[answer])?.remove(0))
}

/// [`answer_ids`] of several answers, tokenising the prompt once.
pub fn answers_ids<S: AsRef<str>>(
    model: &Model,
    templated: &str,
    answers: &[S],
) -> Result<Vec<Vec<u32>>> {
    let tok = &model.tokenizer;
    let prompt = tok.encode(templated)?;
    answers
        .iter()
        .map(|a| {
            let answer = a.as_ref();
            let full = tok.encode(&format!("{templated}{}", processor::answer_text(answer)))?;
            match full.strip_prefix(prompt.as_slice()) {
                Some(rest) if !rest.is_empty() => Ok(rest.to_vec()),
                _ => Err(Error::option(
                    "labels",
                    format!(
                        "the answer {answer:?} does not tokenise as a continuation of the prompt"
                    ),
                )),
            }
        })
        .collect()
}

/// Scores every continuation (non-empty token lists) after `prompt`.
pub fn score_continuations(
    model: &Model,
    prompt: &Sequence,
    continuations: &[Vec<u32>],
) -> Result<Vec<AnswerScore>> {
    if let Some(i) = continuations.iter().position(Vec::is_empty) {
        return Err(Error::option(
            "labels",
            format!("continuation {i} has no tokens"),
        ));
    }
    if continuations.is_empty() {
        return Ok(vec![]);
    }
    let dev = model.device();
    let batch = model.batch(std::slice::from_ref(prompt))?;
    let mut cache = KvCache::new(model.decoder.n_layers());
    let hidden = model.forward_hidden(&batch, Some(&mut cache))?; // [1, P, H]
    let p = hidden.dim(1)?;
    // The first continuation token's position: the prompt's length, or less after images
    // (M-RoPE positions advance by a grid's side, not its token count).
    let start = batch.next_pos[0] as usize;
    let last = model.decoder.logits(&hidden.i((.., p - 1, ..))?)?; // [1, V] f32
    let first_lp = candle_nn::ops::log_softmax(&last, D::Minus1)?.squeeze(0)?; // [V]
    let firsts: Vec<u32> = continuations.iter().map(|c| c[0]).collect();
    let n = firsts.len();
    let first_vals: Vec<f32> = first_lp
        .index_select(&Tensor::from_vec(firsts, n, dev)?, 0)?
        .to_vec1()?;
    let mut out: Vec<AnswerScore> = first_vals
        .iter()
        .map(|&v| AnswerScore {
            token_logprobs: vec![v as f64],
        })
        .collect();
    for (g, group) in continuations.chunks(MAX_ROWS).enumerate() {
        let rest = score_rest(model, &cache, p, start, group)?;
        for (k, vals) in rest.into_iter().enumerate() {
            out[g * MAX_ROWS + k].token_logprobs.extend(vals);
        }
    }
    Ok(out)
}

/// Log-probabilities of tokens 1.. of each continuation, given the prompt's cache (one row,
/// `p` cached positions, the next at position `start`): feeds tokens 0..n-1 of every row at
/// once. Text after the prompt has equal M-RoPE axes, so 1-D positions serve both families.
fn score_rest(
    model: &Model,
    prompt_cache: &KvCache,
    p: usize,
    start: usize,
    group: &[Vec<u32>],
) -> Result<Vec<Vec<f64>>> {
    let m = group.iter().map(|c| c.len() - 1).max().unwrap_or(0);
    if m == 0 {
        return Ok(vec![vec![]; group.len()]);
    }
    let dev = model.device();
    let l = group.len();
    let pad = model.tokenizer.special.im_end;
    let mut ids = Vec::with_capacity(l * m);
    let mut next = Vec::with_capacity(l * m);
    for c in group {
        for j in 0..m {
            ids.push(c.get(j).copied().filter(|_| j + 1 < c.len()).unwrap_or(pad));
            next.push(c.get(j + 1).copied().unwrap_or(0));
        }
    }
    let mut cache = prompt_cache.clone();
    cache.select_rows(&Tensor::zeros(l, DType::U32, dev)?)?;
    let ids = Tensor::from_vec(ids, (l, m), dev)?;
    let positions: Vec<u32> = (0..l)
        .flat_map(|_| (0..m).map(|j| (start + j) as u32))
        .collect();
    let positions = Tensor::from_vec(positions, (l, m), dev)?;
    let mask = causal_mask(&vec![vec![true; p + m]; l], p, m, dev)?;
    let embeds = model.decoder.embed(&ids)?;
    let hidden = model
        .decoder
        .forward(&embeds, &positions, Some(&mask), Some(&mut cache))?; // [l, m, H]
    let logp = candle_nn::ops::log_softmax(&model.decoder.logits(&hidden)?, D::Minus1)?; // [l, m, V]
    let next = Tensor::from_vec(next, (l, m, 1), dev)?;
    let vals: Vec<Vec<f32>> = logp.gather(&next, 2)?.squeeze(2)?.to_vec2()?;
    Ok(group
        .iter()
        .zip(vals)
        .map(|(c, row)| row[..c.len() - 1].iter().map(|&v| v as f64).collect())
        .collect())
}
