//! Closed-set label likelihood: how probable the model finds each candidate answer after a
//! prompt.
//!
//! Convention (pinned by `tests/fixtures/eval/likelihood.json`, from transformers): the answer
//! text is `label + "<|im_end|>"` (`processor::answer_text`, as in training) placed straight after the chat-templated prompt (which ends
//! with `<|im_start|>assistant\n`); its score is the sum over its tokens of
//! `log p(token | everything before)`. The mean per token is reported too.
//!
//! Cost: one forward pass over the prompts (a batch of samples, left-padded) fills a KV cache;
//! the cache rows are then replicated and every (sample, label) continuation is scored in
//! batched forwards of its own tokens (right-padded; the causal mask keeps both paddings out
//! of every real position's view). For B samples and L labels of at most n tokens this is one
//! pass over the B prompts plus passes over B × L × n tokens, instead of B × L full passes.

use candle_core::{IndexOp, Tensor, D};
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
    Ok(score_batch(
        model,
        std::slice::from_ref(prompt),
        std::slice::from_ref(&continuations.to_vec()),
    )?
    .remove(0))
}

/// [`score_continuations`] for several prompts at once: `continuations[b]` are prompt `b`'s.
/// The prompts go through one left-padded forward pass (the padding masked out), then every
/// (prompt, continuation) row through batched passes over the continuations' own tokens,
/// [`MAX_ROWS`] rows at a time, each on its prompt's cache row.
pub fn score_batch(
    model: &Model,
    prompts: &[Sequence],
    continuations: &[Vec<Vec<u32>>],
) -> Result<Vec<Vec<AnswerScore>>> {
    if prompts.len() != continuations.len() {
        return Err(Error::option(
            "labels",
            format!(
                "{} prompts but {} continuation lists",
                prompts.len(),
                continuations.len()
            ),
        ));
    }
    for list in continuations {
        if let Some(i) = list.iter().position(Vec::is_empty) {
            return Err(Error::option(
                "labels",
                format!("continuation {i} has no tokens"),
            ));
        }
    }
    if prompts.is_empty() {
        return Ok(vec![]);
    }
    let dev = model.device();
    let batch = model.batch(prompts)?;
    let mut cache = KvCache::new(model.decoder.n_layers());
    let hidden = model.forward_hidden(&batch, Some(&mut cache))?; // [B, P, H]
    let p = hidden.dim(1)?;
    // Left padding: every row's last prompt token is at P − 1.
    let last = model.decoder.logits(&hidden.i((.., p - 1, ..))?)?; // [B, V] f32
    let first_lp = candle_nn::ops::log_softmax(&last, D::Minus1)?;
    let mut out: Vec<Vec<AnswerScore>> = Vec::with_capacity(prompts.len());
    for (b, list) in continuations.iter().enumerate() {
        if list.is_empty() {
            out.push(vec![]);
            continue;
        }
        let firsts: Vec<u32> = list.iter().map(|c| c[0]).collect();
        let n = firsts.len();
        let vals: Vec<f32> = first_lp
            .i(b)?
            .index_select(&Tensor::from_vec(firsts, n, dev)?, 0)?
            .to_vec1()?;
        out.push(
            vals.iter()
                .map(|&v| AnswerScore {
                    token_logprobs: vec![v as f64],
                })
                .collect(),
        );
    }
    // Every (prompt, continuation) row; the first continuation token's position is the
    // prompt's next one (after images, M-RoPE positions run behind the token count).
    let rows: Vec<(usize, usize)> = continuations
        .iter()
        .enumerate()
        .flat_map(|(b, list)| (0..list.len()).map(move |k| (b, k)))
        .collect();
    for group in rows.chunks(MAX_ROWS) {
        let conts: Vec<&Vec<u32>> = group.iter().map(|&(b, k)| &continuations[b][k]).collect();
        let rest = score_rest(model, &cache, &batch, p, group, &conts)?;
        for (&(b, k), vals) in group.iter().zip(rest) {
            out[b][k].token_logprobs.extend(vals);
        }
    }
    Ok(out)
}

/// Log-probabilities of tokens 1.. of each continuation `conts[i]`, which follows prompt
/// row `group[i].0` of `batch` (whose cache holds `p` positions, left-padded): feeds tokens
/// 0..n-1 of every row at once. Text after the prompt has equal M-RoPE axes, so 1-D positions
/// serve both families.
fn score_rest(
    model: &Model,
    prompt_cache: &KvCache,
    batch: &model::model::Batch,
    p: usize,
    group: &[(usize, usize)],
    conts: &[&Vec<u32>],
) -> Result<Vec<Vec<f64>>> {
    let m = conts.iter().map(|c| c.len() - 1).max().unwrap_or(0);
    if m == 0 {
        return Ok(vec![vec![]; conts.len()]);
    }
    let dev = model.device();
    let l = conts.len();
    let pad = model.tokenizer.special.im_end;
    let mut ids = Vec::with_capacity(l * m);
    let mut next = Vec::with_capacity(l * m);
    let mut positions = Vec::with_capacity(l * m);
    let mut valid = Vec::with_capacity(l);
    for (&(b, _), c) in group.iter().zip(conts) {
        let start = batch.next_pos[b];
        for j in 0..m {
            ids.push(c.get(j).copied().filter(|_| j + 1 < c.len()).unwrap_or(pad));
            next.push(c.get(j + 1).copied().unwrap_or(0));
            positions.push(start + j as u32);
        }
        let mut row = batch.valid[b].clone();
        row.extend(std::iter::repeat_n(true, m));
        valid.push(row);
    }
    let mut cache = prompt_cache.clone();
    let rows: Vec<u32> = group.iter().map(|&(b, _)| b as u32).collect();
    cache.select_rows(&Tensor::from_vec(rows, l, dev)?)?;
    let ids = Tensor::from_vec(ids, (l, m), dev)?;
    let positions = Tensor::from_vec(positions, (l, m), dev)?;
    let mask = causal_mask(&valid, p, m, dev)?;
    let embeds = model.decoder.embed(&ids)?;
    let hidden = model
        .decoder
        .forward(&embeds, &positions, Some(&mask), Some(&mut cache))?; // [l, m, H]
    let logp = candle_nn::ops::log_softmax(&model.decoder.logits(&hidden)?, D::Minus1)?; // [l, m, V]
    let next = Tensor::from_vec(next, (l, m, 1), dev)?;
    let vals: Vec<Vec<f32>> = logp.gather(&next, 2)?.squeeze(2)?.to_vec2()?;
    Ok(conts
        .iter()
        .zip(vals)
        .map(|(c, row)| row[..c.len() - 1].iter().map(|&v| v as f64).collect())
        .collect())
}
