//! Generation over a left-padded batch with an explicit KV cache: greedy, sampling
//! (temperature, top-p, seeded) and beam search, stopping on every end id.
//!
//! Any model whose prompts run through the one [`Decoder`] generates here: it implements
//! [`Generative::prefill`] (its prompts and their media → the filled cache, each row's
//! validity and next position); every later step is the decoder's alone. A row's next
//! position is one past the largest position its prompt used: the prompt's length for text and
//! audio, less for M-RoPE prompts with images (transformers' `rope_deltas`).

use candle_core::{DType, Device, IndexOp, Tensor, D};
use rng::Rng;

use crate::decoder::{causal_mask, Decoder, KvCache};
use crate::{Error, Result};

/// What [`Generative::prefill`] leaves for the steps after it.
pub struct Prefilled {
    /// The last position's logits [B, V], f32.
    pub logits: Tensor,
    /// Per row, which cached positions are real (false: left padding).
    pub valid: Vec<Vec<bool>>,
    /// Per row, the position of the first new token.
    pub next_pos: Vec<u32>,
}

/// A model that generates through the one decoder.
pub trait Generative {
    /// One prompt with its media.
    type Prompt;
    fn decoder(&self) -> &Decoder;
    fn device(&self) -> &Device;
    /// The end ids used when the options name none.
    fn eos_ids(&self) -> Vec<u32>;
    /// Runs the (left-padded) prompts once, filling `cache`.
    fn prefill(&self, prompts: &[Self::Prompt], cache: &mut KvCache) -> Result<Prefilled>;
    /// A prompt's token count (an empty prompt is refused).
    fn prompt_len(prompt: &Self::Prompt) -> usize;
}

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    Greedy,
    Sample {
        temperature: f64,
        top_p: f64,
        seed: u64,
    },
    Beam {
        num_beams: usize,
        length_penalty: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// End ids are suppressed before this many new tokens (the reference's `min_new_tokens`).
    pub min_new_tokens: usize,
    pub strategy: Strategy,
    /// Generation of a row stops at any of these; empty: the model's own end ids.
    pub eos: Vec<u32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 128,
            min_new_tokens: 0,
            strategy: Strategy::Greedy,
            eos: vec![],
        }
    }
}

/// New tokens per sequence; a row that stopped ends with its end id.
pub fn generate<M: Generative>(
    model: &M,
    seqs: &[M::Prompt],
    opts: &GenerateOptions,
) -> Result<Vec<Vec<u32>>> {
    if seqs.is_empty() {
        return Ok(vec![]);
    }
    if seqs.iter().any(|s| M::prompt_len(s) == 0) {
        return Err(Error::Generation("an empty prompt".into()));
    }
    let eos = if opts.eos.is_empty() {
        model.eos_ids()
    } else {
        opts.eos.clone()
    };
    match &opts.strategy {
        Strategy::Beam {
            num_beams,
            length_penalty,
        } => {
            let mut out = Vec::with_capacity(seqs.len());
            for s in seqs {
                out.push(beam_one(model, s, opts, &eos, *num_beams, *length_penalty)?);
            }
            Ok(out)
        }
        _ => sample_batch(model, seqs, opts, &eos),
    }
}

/// State of a left-padded batch being decoded one token at a time.
struct Stepper<'m> {
    decoder: &'m Decoder,
    device: &'m Device,
    cache: KvCache,
    valid: Vec<Vec<bool>>,
    next_pos: Vec<u32>,
    padded: bool,
}

impl<'m> Stepper<'m> {
    /// Runs the prompts; returns the stepper and the last position's logits [B, V] f32.
    fn prefill<M: Generative>(model: &'m M, seqs: &[M::Prompt]) -> Result<(Self, Tensor)> {
        let mut cache = KvCache::new(model.decoder().n_layers());
        let p = model.prefill(seqs, &mut cache)?;
        let padded = p.valid.iter().any(|r| r.iter().any(|v| !v));
        Ok((
            Self {
                decoder: model.decoder(),
                device: model.device(),
                cache,
                valid: p.valid,
                next_pos: p.next_pos,
                padded,
            },
            p.logits,
        ))
    }

    /// Feeds one token per row; returns logits [B, V] f32. (A decoder with M-RoPE takes these
    /// text positions on all three axes.)
    fn step(&mut self, tokens: &[u32]) -> Result<Tensor> {
        let dev = self.device;
        let b = tokens.len();
        let ids = Tensor::from_vec(tokens.to_vec(), (b, 1), dev)?;
        let embeds = self.decoder.embed(&ids)?;
        let positions = Tensor::from_vec(self.next_pos.clone(), (b, 1), dev)?;
        for r in &mut self.valid {
            r.push(true);
        }
        let past = self.cache.len();
        let mask = if self.padded {
            Some(causal_mask(&self.valid, past, 1, dev)?)
        } else {
            None
        };
        let hidden =
            self.decoder
                .forward(&embeds, &positions, mask.as_ref(), Some(&mut self.cache))?;
        for p in &mut self.next_pos {
            *p += 1;
        }
        self.decoder.logits(&hidden.i((.., 0, ..))?)
    }

    /// Reorders rows (beam search).
    fn select_rows(&mut self, rows: &[u32]) -> Result<()> {
        let idx = Tensor::from_vec(rows.to_vec(), rows.len(), self.device)?;
        self.cache.select_rows(&idx)?;
        self.valid = rows
            .iter()
            .map(|&r| self.valid[r as usize].clone())
            .collect();
        self.next_pos = rows.iter().map(|&r| self.next_pos[r as usize]).collect();
        Ok(())
    }
}

fn suppress(logits: &mut [f32], ids: &[u32]) {
    for &e in ids {
        if let Some(x) = logits.get_mut(e as usize) {
            *x = f32::NEG_INFINITY;
        }
    }
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best as u32
}

/// Temperature, then top-p (nucleus) over the remaining mass, then one draw.
fn sample(logits: &[f32], temperature: f64, top_p: f64, rng: &mut Rng) -> u32 {
    if temperature <= 0.0 {
        return argmax(logits);
    }
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((l as f64 - max) / temperature).exp()))
        .filter(|&(_, p)| p > 0.0)
        .collect();
    let total: f64 = probs.iter().map(|p| p.1).sum();
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep = probs.len();
    if top_p < 1.0 {
        let mut acc = 0.0;
        for (k, &(_, p)) in probs.iter().enumerate() {
            acc += p / total;
            if acc >= top_p {
                keep = k + 1;
                break;
            }
        }
    }
    let probs = &probs[..keep];
    let mass: f64 = probs.iter().map(|p| p.1).sum();
    let mut u = rng.next_f64() * mass;
    for &(i, p) in probs {
        if u < p {
            return i;
        }
        u -= p;
    }
    probs[probs.len() - 1].0
}

fn sample_batch<M: Generative>(
    model: &M,
    seqs: &[M::Prompt],
    opts: &GenerateOptions,
    eos: &[u32],
) -> Result<Vec<Vec<u32>>> {
    let (mut stepper, mut logits) = Stepper::prefill(model, seqs)?;
    let mut rng = match opts.strategy {
        Strategy::Sample { seed, .. } => Rng::new(seed),
        _ => Rng::new(0),
    };
    let b = seqs.len();
    let mut out = vec![Vec::new(); b];
    let mut done = vec![false; b];
    for step in 0..opts.max_new_tokens {
        let rows: Vec<Vec<f32>> = logits.to_dtype(DType::F32)?.to_vec2()?;
        let mut next = Vec::with_capacity(b);
        for (r, mut row) in rows.into_iter().enumerate() {
            if done[r] {
                next.push(eos[0]);
                continue;
            }
            if step < opts.min_new_tokens {
                suppress(&mut row, eos);
            }
            let tok = match opts.strategy {
                Strategy::Sample {
                    temperature, top_p, ..
                } => sample(&row, temperature, top_p, &mut rng),
                _ => argmax(&row),
            };
            out[r].push(tok);
            done[r] = eos.contains(&tok);
            next.push(tok);
        }
        if done.iter().all(|&d| d) || step + 1 == opts.max_new_tokens {
            break;
        }
        logits = stepper.step(&next)?;
    }
    Ok(out)
}

/// Beam search for one prompt (the reference's `_beam_search`, `early_stopping=False`):
/// scores are summed log-probabilities; a finished hypothesis scores
/// `sum / generated_len^length_penalty`.
fn beam_one<M: Generative>(
    model: &M,
    seq: &M::Prompt,
    opts: &GenerateOptions,
    eos: &[u32],
    k: usize,
    length_penalty: f64,
) -> Result<Vec<u32>> {
    if k == 0 {
        return Err(Error::Generation("num_beams must be at least 1".into()));
    }
    let (mut stepper, logits) = Stepper::prefill(model, std::slice::from_ref(seq))?;
    stepper.select_rows(&vec![0; k])?;
    let mut logits = logits.broadcast_as((k, logits.dim(1)?))?.contiguous()?;
    let mut beams: Vec<(Vec<u32>, f64)> = (0..k)
        .map(|i| (vec![], if i == 0 { 0.0 } else { -1e9 }))
        .collect();
    let mut finished: Vec<(Vec<u32>, f64)> = vec![];
    let score_of = |sum: f64, len: usize| sum / (len as f64).powf(length_penalty);
    for step in 0..opts.max_new_tokens {
        let logp: Vec<Vec<f32>> =
            candle_nn::ops::log_softmax(&logits.to_dtype(DType::F32)?, D::Minus1)?.to_vec2()?;
        let mut cands: Vec<(f64, usize, u32)> = Vec::new();
        for (bi, mut row) in logp.into_iter().enumerate() {
            if step < opts.min_new_tokens {
                suppress(&mut row, eos);
            }
            // Only the best 2k of each beam can be among the best 2k overall.
            let mut idx: Vec<u32> = (0..row.len() as u32).collect();
            let n = (2 * k).min(idx.len());
            idx.select_nth_unstable_by(n - 1, |&a, &b| row[b as usize].total_cmp(&row[a as usize]));
            for &t in &idx[..n] {
                cands.push((beams[bi].1 + row[t as usize] as f64, bi, t));
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut next: Vec<(Vec<u32>, f64)> = Vec::with_capacity(k);
        let mut rows = Vec::with_capacity(k);
        let mut toks = Vec::with_capacity(k);
        for (rank, &(score, bi, t)) in cands.iter().take(2 * k).enumerate() {
            let mut toks_so_far = beams[bi].0.clone();
            toks_so_far.push(t);
            if eos.contains(&t) {
                if rank < k {
                    let len = toks_so_far.len();
                    finished.push((toks_so_far, score_of(score, len)));
                }
            } else if next.len() < k {
                next.push((toks_so_far, score));
                rows.push(bi as u32);
                toks.push(t);
            }
        }
        beams = next;
        finished.sort_by(|a, b| b.1.total_cmp(&a.1));
        finished.truncate(k);
        let cur_len = step + 1;
        let best_running = beams
            .first()
            .map_or(f64::NEG_INFINITY, |b| score_of(b.1, cur_len));
        if beams.is_empty()
            || (finished.len() >= k && finished[k - 1].1 >= best_running)
            || cur_len == opts.max_new_tokens
        {
            break;
        }
        stepper.select_rows(&rows)?;
        logits = stepper.step(&toks)?;
    }
    for (toks, sum) in beams {
        let len = toks.len();
        finished.push((toks, score_of(sum, len)));
    }
    finished.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(finished.into_iter().next().map(|f| f.0).unwrap_or_default())
}
