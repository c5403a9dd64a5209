//! Confidence intervals by the percentile bootstrap over items (clips, samples), and the
//! paired bootstrap of the difference between two systems scored on the same items.
//!
//! **Resamples.** Resample `b` of `n` items is `n` indices drawn uniformly with replacement:
//! `Rng::below(n)` called `n` times on `rng::Rng::stream(seed, b)` ([`resample_indices`]).
//! The indices are a pure function of `(seed, b, n)`: the same on every machine, whatever
//! the number of threads, for every metric of a set and for both systems of a paired
//! comparison. [`Resamples::Given`] takes index lists from elsewhere instead (the reference
//! test feeds numpy's).
//!
//! **Interval.** The statistic is recomputed on every resample ([`replicates`]) and the
//! interval at confidence `c` is numpy's `np.percentile(replicates, [100 * (1 - c) / 2,
//! 100 * (1 + c) / 2])` with its default linear interpolation ([`percentile_interval`]),
//! bit for bit. The paired interval is the same percentiles of `a − b` computed on the same
//! resample, per resample ([`difference_interval`]); a change is significant at that level
//! when its interval excludes zero ([`Interval::excludes_zero`]).
//!
//! **How each metric is resampled.** A resample is scored as if it were the corpus, so the
//! bootstrap distribution is that of the corpus score the metric reports:
//! * metrics whose corpus value is the mean of per-item values (accuracy, ROUGE-L, SPICE):
//!   [`Mean`], the mean of the drawn items' values (numpy's summation order);
//! * BLEU-n ([`Bleu`]): each clip's statistics (hypothesis length, closest reference
//!   length, n-gram guesses and clipped matches for n = 1..4) are computed once; a resample
//!   pools the drawn clips' statistics (a clip drawn twice counts twice) and applies BLEU's
//!   geometric mean and brevity penalty, as the corpus score pools all clips;
//! * CIDEr-D ([`CiderD`]): document frequencies are those of the resampled corpus (for each
//!   n-gram, the number of drawn clips whose references contain it, counting a clip drawn
//!   k times k times) and `log N` uses the resample's size, so a resample scores what
//!   [`crate::cider_d::cider_d`] gives on the resampled lists (tested to 1e-12). Made fast by
//!   computing once what does not depend on document frequencies: n-gram ids, every
//!   caption's term frequencies in pycocoevalcap's order, each clip's set of reference
//!   n-grams, the hypothesis–reference n-gram matches and the length penalties. Per resample
//!   only the document-frequency counts, the tf-idf weights and norms, and the dot products
//!   over the precomputed matches are computed, once per distinct clip drawn.
//!
//! **Seeds.** Several training seeds of one recipe, scored on the same items, are pooled by a
//! two-level bootstrap ([`pool_seeds`]): resample `b` draws the items as above (the same
//! indices for every seed) and, independently, `k` of the `k` seeds with replacement
//! ([`seed_draws`]), and its value is the mean of the drawn seeds' values on the drawn items.
//! The interval then covers both the spread over seeds and that over items.
//!
//! Metrics whose corpus value is neither a mean nor recomputable here (METEOR's aggregate of
//! its pooled Java statistics) get no interval from this module.

use rng::Rng;

use crate::bleu::{combine, cook, Cooked};
use crate::cider_d::SIGMA;
use crate::error::{check_inputs, Error, Result};
use crate::ngram::{order, Counts, Ngram, Vocab, MAX_N};
use crate::numpy::{np_mean, np_sum};

/// Resamples when none are asked for.
pub const DEFAULT_RESAMPLES: usize = 1000;
/// Confidence level when none is asked for.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// How many resamples, from which seed, at which confidence level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapOptions {
    /// Number of resamples; 0 switches the bootstrap off.
    pub resamples: usize,
    pub seed: u64,
    /// In (0, 1); 0.95 for a 95% interval.
    pub confidence: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: DEFAULT_RESAMPLES,
            seed: 0,
            confidence: DEFAULT_CONFIDENCE,
        }
    }
}

impl BootstrapOptions {
    /// Errors: [`Error::Confidence`] when the confidence is not in (0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.confidence > 0.0 && self.confidence < 1.0 {
            Ok(())
        } else {
            Err(Error::Confidence {
                confidence: self.confidence,
            })
        }
    }

    /// Whether any resample is drawn.
    pub fn enabled(&self) -> bool {
        self.resamples > 0
    }

    /// The seeded resamples of these options.
    pub fn plan(&self) -> Resamples<'static> {
        Resamples::Seeded {
            seed: self.seed,
            count: self.resamples,
        }
    }
}

/// The indices of resample `resample` of `n` items: `n` draws of `Rng::below(n)` on
/// `Rng::stream(seed, resample)`.
pub fn resample_indices(seed: u64, resample: usize, n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    fill_seeded(seed, resample, n, &mut out);
    out
}

fn fill_seeded(seed: u64, resample: usize, n: usize, out: &mut Vec<usize>) {
    let mut rng = Rng::stream(seed, resample as u64);
    out.clear();
    out.extend((0..n).map(|_| rng.below(n as u64) as usize));
}

/// Where the resamples' indices come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resamples<'a> {
    /// `count` resamples of [`resample_indices`]`(seed, b, n)`, `b = 0..count`.
    Seeded { seed: u64, count: usize },
    /// Explicit index lists, each non-empty with every index below the number of items (a
    /// list may be shorter or longer than the item count).
    Given(&'a [Vec<usize>]),
}

impl Resamples<'_> {
    /// Number of resamples.
    pub fn count(&self) -> usize {
        match self {
            Resamples::Seeded { count, .. } => *count,
            Resamples::Given(lists) => lists.len(),
        }
    }

    fn check(&self, items: usize) -> Result<()> {
        if self.count() == 0 {
            return Err(Error::Bootstrap("no resamples".into()));
        }
        if let Resamples::Given(lists) = self {
            for (resample, list) in lists.iter().enumerate() {
                if list.is_empty() {
                    return Err(Error::Bootstrap(format!("resample {resample} is empty")));
                }
                if let Some(&index) = list.iter().find(|&&i| i >= items) {
                    return Err(Error::IndexOutOfRange {
                        resample,
                        index,
                        items,
                    });
                }
            }
        }
        Ok(())
    }

    fn fill(&self, resample: usize, items: usize, out: &mut Vec<usize>) {
        match self {
            Resamples::Seeded { seed, .. } => fill_seeded(*seed, resample, items, out),
            Resamples::Given(lists) => {
                out.clear();
                out.extend_from_slice(&lists[resample]);
            }
        }
    }
}

/// A statistic of a set of items that can be recomputed on a resample of them.
pub trait Statistic: Sync {
    /// The number of items.
    fn items(&self) -> usize;

    /// The statistic of the multiset of items `indices` (each below [`Statistic::items`];
    /// an index repeated k times counts k times).
    fn on(&self, indices: &[usize]) -> f64;

    /// The statistic of every item once (the point estimate).
    fn full(&self) -> f64 {
        let all: Vec<usize> = (0..self.items()).collect();
        self.on(&all)
    }
}

/// The replicates of every statistic: `out[k][b]` is `stats[k]` on resample `b`. All
/// statistics must be over the same, non-zero number of items; every statistic sees the
/// same indices on a resample. Resamples are split over the available threads; the result
/// does not depend on how.
///
/// Errors: [`Error::Bootstrap`] (no statistic, no items, no resamples, an empty given
/// resample), [`Error::ItemsMismatch`], [`Error::IndexOutOfRange`].
pub fn replicates(stats: &[&dyn Statistic], resamples: Resamples<'_>) -> Result<Vec<Vec<f64>>> {
    let first = stats
        .first()
        .ok_or_else(|| Error::Bootstrap("no statistic".into()))?
        .items();
    if let Some(other) = stats.iter().map(|s| s.items()).find(|&n| n != first) {
        return Err(Error::ItemsMismatch { first, other });
    }
    if first == 0 {
        return Err(Error::Bootstrap("no items".into()));
    }
    resamples.check(first)?;
    let count = resamples.count();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count);
    let chunk = count.div_ceil(threads);
    let parts: Vec<Vec<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    let end = (start + chunk).min(count);
                    let mut indices = Vec::with_capacity(first);
                    let mut out = vec![Vec::with_capacity(end - start); stats.len()];
                    for b in start..end {
                        resamples.fill(b, first, &mut indices);
                        for (o, s) in out.iter_mut().zip(stats) {
                            o.push(s.on(&indices));
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = vec![Vec::with_capacity(count); stats.len()];
    for part in parts {
        for (o, p) in out.iter_mut().zip(part) {
            o.extend(p);
        }
    }
    Ok(out)
}

/// A confidence interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies in `[low, high]`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Whether 0 lies outside the interval (a difference significant at its level).
    pub fn excludes_zero(&self) -> bool {
        !self.contains(0.0)
    }
}

/// `np.percentile(values, percent)` with numpy's default (`linear`) method, for sorted
/// `values` (non-empty).
fn percentile_sorted(sorted: &[f64], percent: f64) -> f64 {
    let n = sorted.len();
    let q = percent / 100.0;
    let virtual_index = (n - 1) as f64 * q;
    let previous = virtual_index.floor();
    let (lo, hi) = if virtual_index >= (n - 1) as f64 {
        (n - 1, n - 1)
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        (previous as usize, previous as usize + 1)
    };
    let gamma = virtual_index - previous;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// The percentile interval of `replicates` at `confidence`: numpy's
/// `np.percentile(replicates, [100 * (1 - c) / 2, 100 * (1 + c) / 2])`.
///
/// Errors: [`Error::Confidence`], [`Error::Bootstrap`] (no replicates),
/// [`Error::NanReplicate`].
pub fn percentile_interval(replicates: &[f64], confidence: f64) -> Result<Interval> {
    BootstrapOptions {
        confidence,
        ..Default::default()
    }
    .validate()?;
    if replicates.is_empty() {
        return Err(Error::Bootstrap("no replicates".into()));
    }
    if let Some(resample) = replicates.iter().position(|x| x.is_nan()) {
        return Err(Error::NanReplicate { resample });
    }
    let mut sorted = replicates.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    Ok(Interval {
        low: percentile_sorted(&sorted, 100.0 * (1.0 - confidence) / 2.0),
        high: percentile_sorted(&sorted, 100.0 * (1.0 + confidence) / 2.0),
    })
}

/// The percentile interval of `a[b] − b[b]` over resamples (paired replicates of two
/// systems on the same resamples). Errors: as [`percentile_interval`], and
/// [`Error::Bootstrap`] when the lengths differ.
pub fn difference_interval(a: &[f64], b: &[f64], confidence: f64) -> Result<Interval> {
    if a.len() != b.len() {
        return Err(Error::Bootstrap(format!(
            "{} and {} replicates: a paired interval needs the same resamples",
            a.len(),
            b.len()
        )));
    }
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    percentile_interval(&diff, confidence)
}

/// The random stream of the seed draws: `seed ^ SEED_DRAW_STREAM` (independent of the
/// items' stream of the same `seed`).
pub const SEED_DRAW_STREAM: u64 = 0x5eed_5eed_5eed_5eed;

/// The seeds drawn in resample `b` of `k` seeds: [`resample_indices`]`(seed ^`
/// [`SEED_DRAW_STREAM`]`, b, k)`.
pub fn seed_draws(seed: u64, resample: usize, k: usize) -> Vec<usize> {
    resample_indices(seed ^ SEED_DRAW_STREAM, resample, k)
}

/// The pooled replicates of `k` seeds: `per_seed[j]` holds seed `j`'s replicates on the same
/// resamples of the same items; resample `b`'s value is the mean of `per_seed[j][b]` over the
/// seeds [`seed_draws`]`(seed, b, k)` drew. With one seed, its replicates.
///
/// Errors: [`Error::Bootstrap`] with no seeds or replicate lists of different lengths.
pub fn pool_seeds(per_seed: &[&[f64]], seed: u64) -> Result<Vec<f64>> {
    let k = per_seed.len();
    let Some(first) = per_seed.first() else {
        return Err(Error::Bootstrap("no seeds to pool".into()));
    };
    if per_seed.iter().any(|r| r.len() != first.len()) {
        return Err(Error::Bootstrap(
            "seeds with different numbers of replicates".into(),
        ));
    }
    Ok((0..first.len())
        .map(|b| {
            let draws = seed_draws(seed, b, k);
            draws.iter().map(|&j| per_seed[j][b]).sum::<f64>() / k as f64
        })
        .collect())
}

/// The point estimate and percentile-bootstrap interval of one statistic.
///
/// Errors: as [`BootstrapOptions::validate`], [`replicates`] and [`percentile_interval`].
pub fn interval(stat: &dyn Statistic, opts: &BootstrapOptions) -> Result<Interval> {
    opts.validate()?;
    let reps = replicates(&[stat], opts.plan())?;
    percentile_interval(&reps[0], opts.confidence)
}

/// A paired difference `a − b` on the same items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedDifference {
    /// `a.full() − b.full()`.
    pub difference: f64,
    pub interval: Interval,
}

/// The paired bootstrap of `a − b` (say finetuned − base), both statistics over the same
/// items in the same order, resampled with the same indices.
pub fn paired(
    a: &dyn Statistic,
    b: &dyn Statistic,
    opts: &BootstrapOptions,
) -> Result<PairedDifference> {
    opts.validate()?;
    let reps = replicates(&[a, b], opts.plan())?;
    Ok(PairedDifference {
        difference: a.full() - b.full(),
        interval: difference_interval(&reps[0], &reps[1], opts.confidence)?,
    })
}

/// The mean of per-item values (accuracy from 0/1 values, ROUGE-L, SPICE), summed in
/// numpy's order.
#[derive(Debug, Clone, Copy)]
pub struct Mean<'a>(pub &'a [f64]);

impl Statistic for Mean<'_> {
    fn items(&self) -> usize {
        self.0.len()
    }

    fn on(&self, indices: &[usize]) -> f64 {
        let drawn: Vec<f64> = indices.iter().map(|&i| self.0[i]).collect();
        np_mean(&drawn)
    }
}

/// Per-clip BLEU statistics of tokenised captions, pooled per resample.
pub struct Bleu {
    clips: Vec<Cooked>,
}

impl Bleu {
    /// Errors: as [`crate::bleu::bleu`].
    pub fn new(hypotheses: &[String], references: &[Vec<String>]) -> Result<Self> {
        check_inputs(hypotheses, references)?;
        let mut vocab = Vocab::default();
        let clips = hypotheses
            .iter()
            .zip(references)
            .map(|(h, r)| cook(&mut vocab, h, r))
            .collect();
        Ok(Self { clips })
    }

    /// The corpus BLEU-`n` (1..=4) as a statistic. Errors: [`Error::BleuOrder`].
    pub fn order(&self, n: usize) -> Result<BleuOrder<'_>> {
        if (1..=MAX_N).contains(&n) {
            Ok(BleuOrder { bleu: self, n })
        } else {
            Err(Error::BleuOrder { n })
        }
    }

    /// Corpus BLEU-1..4 of the multiset `indices`.
    pub fn on(&self, indices: &[usize]) -> [f64; MAX_N] {
        let (mut testlen, mut reflen) = (0usize, 0usize);
        let (mut guess, mut correct) = ([0usize; MAX_N], [0usize; MAX_N]);
        for &i in indices {
            let c = &self.clips[i];
            testlen += c.testlen;
            reflen += c.reflen;
            for k in 0..MAX_N {
                guess[k] += c.guess[k];
                correct[k] += c.correct[k];
            }
        }
        combine(testlen as f64, reflen as f64, &guess, &correct)
    }
}

/// Corpus BLEU of one order, from [`Bleu::order`].
pub struct BleuOrder<'a> {
    bleu: &'a Bleu,
    n: usize,
}

impl Statistic for BleuOrder<'_> {
    fn items(&self) -> usize {
        self.bleu.clips.len()
    }

    fn on(&self, indices: &[usize]) -> f64 {
        self.bleu.on(indices)[self.n - 1]
    }
}

/// One n-gram of a caption: where its document frequency comes from on a resample (a slot
/// of the per-resample idf table: 0 for n-grams in no clip's references, `1 + clip` for
/// those of one clip's references only, `1 + clips + k` for those several clips share),
/// and its term frequency and order − 1, packed as `tf << 2 | n`.
#[derive(Debug, Clone, Copy)]
struct Term {
    slot: u32,
    tf_n: u32,
}

impl Term {
    fn n(&self) -> usize {
        (self.tf_n & 3) as usize
    }

    fn tf(&self) -> f64 {
        f64::from(self.tf_n >> 2)
    }
}

/// A caption's terms in pycocoevalcap's order (all unigrams, then bigrams, …, each in
/// first-occurrence order) and its CIDEr "length" (the number of bigrams).
struct Caption {
    terms: Vec<Term>,
    length: f64,
}

/// A reference of a clip, with what does not depend on document frequencies.
struct Reference {
    caption: Caption,
    /// The Gaussian length penalty against the clip's hypothesis.
    penalty: f64,
    /// (hypothesis term, reference term) pairs of the same n-gram, in hypothesis order.
    matches: Vec<(u32, u32)>,
}

struct CiderClip {
    hypothesis: Caption,
    references: Vec<Reference>,
    /// The clip's reference n-grams that other clips' references share (indices into the
    /// shared counts): what a draw of the clip adds to them.
    shared: Vec<u32>,
}

/// CIDEr-D of tokenised captions, recomputed per resample with the resample's document
/// frequencies (see the module documentation).
///
/// An n-gram's document frequency on a resample is the sum of the multiplicities of the
/// drawn clips whose references contain it. For an n-gram of one clip's references only
/// (most 3- and 4-grams) that is the clip's multiplicity, read directly; only n-grams
/// several clips share are counted per resample. Each resample fills one table of idf
/// values (`log N − log max(df, 1)`), and a weight is a term frequency times its entry.
pub struct CiderD {
    clips: Vec<CiderClip>,
    shared: usize,
}

/// Term frequencies of one caption, as n-gram ids (first-occurrence order) with the bigram
/// count.
struct Counted {
    terms: Vec<(u32, u8, u32)>,
    length: u32,
}

fn counted(counts: &Counts, ids: &mut std::collections::HashMap<Ngram, u32>) -> Counted {
    let mut length = 0;
    let terms = counts
        .entries
        .iter()
        .map(|&(ngram, tf)| {
            let next = ids.len() as u32;
            let id = *ids.entry(ngram).or_insert(next);
            let n = order(&ngram) - 1;
            if n == 1 {
                length += tf;
            }
            (id, n as u8, tf)
        })
        .collect();
    Counted { terms, length }
}

/// Per-resample state of [`CiderD::on`].
struct CiderScratch {
    /// `log N − log max(df, 1)` per term slot.
    idf: Vec<f64>,
    hyp_weights: Vec<f64>,
    ref_weights: Vec<f64>,
}

impl CiderScratch {
    /// Weights and per-order norms of `c` (`TfIdf::new`).
    fn weights(&self, c: &Caption, out: &mut Vec<f64>) -> [f64; MAX_N] {
        out.clear();
        let mut norm = [0.0; MAX_N];
        for t in &c.terms {
            let w = t.tf() * self.idf[t.slot as usize];
            out.push(w);
            norm[t.n()] += w.powi(2);
        }
        norm.map(f64::sqrt)
    }
}

impl CiderD {
    /// Errors: as [`crate::cider_d::cider_d`].
    pub fn new(candidates: &[String], references: &[Vec<String>]) -> Result<Self> {
        check_inputs(candidates, references)?;
        let mut vocab = Vocab::default();
        let mut ids = std::collections::HashMap::new();
        let mut counted_clips = Vec::with_capacity(candidates.len());
        for (cand, refs) in candidates.iter().zip(references) {
            let hyp = counted(&Counts::new(&vocab.words(cand)), &mut ids);
            let refs: Vec<Counted> = refs
                .iter()
                .map(|r| counted(&Counts::new(&vocab.words(r)), &mut ids))
                .collect();
            counted_clips.push((hyp, refs));
        }
        // Per n-gram: the number of clips whose references contain it, and the last one.
        let mut ref_clips = vec![(0u32, 0u32); ids.len()];
        let mut sets: Vec<Vec<u32>> = Vec::with_capacity(counted_clips.len());
        for (c, (_, refs)) in counted_clips.iter().enumerate() {
            let mut set: Vec<u32> = refs
                .iter()
                .flat_map(|r| r.terms.iter().map(|t| t.0))
                .collect();
            set.sort_unstable();
            set.dedup();
            for &g in &set {
                let slot = &mut ref_clips[g as usize];
                *slot = (slot.0 + 1, c as u32);
            }
            sets.push(set);
        }
        let clips_n = counted_clips.len() as u32;
        let mut slots = vec![u32::MAX; ids.len()];
        let mut shared = 0u32;
        let slot: Vec<u32> = ref_clips
            .iter()
            .enumerate()
            .map(|(g, &(count, owner))| match count {
                0 => 0,
                1 => 1 + owner,
                _ => {
                    slots[g] = shared;
                    shared += 1;
                    clips_n + shared
                }
            })
            .collect();
        let caption = |c: &Counted| Caption {
            terms: c
                .terms
                .iter()
                .map(|&(id, n, tf)| Term {
                    slot: slot[id as usize],
                    tf_n: tf << 2 | u32::from(n),
                })
                .collect(),
            length: f64::from(c.length),
        };
        let clips = counted_clips
            .iter()
            .zip(sets)
            .map(|((hyp, refs), set)| {
                let hypothesis = caption(hyp);
                let references = refs
                    .iter()
                    .map(|r| {
                        let position: std::collections::HashMap<u32, u32> = r
                            .terms
                            .iter()
                            .enumerate()
                            .map(|(k, t)| (t.0, k as u32))
                            .collect();
                        let matches = hyp
                            .terms
                            .iter()
                            .enumerate()
                            .filter_map(|(h, t)| position.get(&t.0).map(|&k| (h as u32, k)))
                            .collect();
                        let caption = caption(r);
                        let delta = hypothesis.length - caption.length;
                        let penalty =
                            std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
                        Reference {
                            caption,
                            penalty,
                            matches,
                        }
                    })
                    .collect();
                CiderClip {
                    hypothesis,
                    references,
                    shared: set
                        .iter()
                        .map(|&g| slots[g as usize])
                        .filter(|&s| s != u32::MAX)
                        .collect(),
                }
            })
            .collect();
        Ok(Self {
            clips,
            shared: shared as usize,
        })
    }

    fn clip_score(&self, clip: &CiderClip, s: &mut CiderScratch) -> f64 {
        let mut hyp_weights = std::mem::take(&mut s.hyp_weights);
        let mut ref_weights = std::mem::take(&mut s.ref_weights);
        let hyp_norm = s.weights(&clip.hypothesis, &mut hyp_weights);
        let mut score = [0.0; MAX_N];
        for r in &clip.references {
            let ref_norm = s.weights(&r.caption, &mut ref_weights);
            let mut val = [0.0; MAX_N];
            for &(h, k) in &r.matches {
                let n = clip.hypothesis.terms[h as usize].n();
                let (wh, wr) = (hyp_weights[h as usize], ref_weights[k as usize]);
                val[n] += wh.min(wr) * wr;
            }
            for (n, v) in val.iter_mut().enumerate() {
                if hyp_norm[n] != 0.0 && ref_norm[n] != 0.0 {
                    *v /= hyp_norm[n] * ref_norm[n];
                }
                *v *= r.penalty;
            }
            for (sc, v) in score.iter_mut().zip(val) {
                *sc += v;
            }
        }
        s.hyp_weights = hyp_weights;
        s.ref_weights = ref_weights;
        let mut avg = np_sum(&score) / MAX_N as f64;
        avg /= clip.references.len() as f64;
        avg * 10.0
    }
}

impl Statistic for CiderD {
    fn items(&self) -> usize {
        self.clips.len()
    }

    fn on(&self, indices: &[usize]) -> f64 {
        // Document frequency per term slot: none, each clip's multiplicity, shared counts.
        let n = self.clips.len();
        let mut df = vec![0u32; 1 + n + self.shared];
        for &i in indices {
            df[1 + i] += 1;
        }
        let (own, shared) = df[1..].split_at_mut(n);
        for (clip, &m) in self.clips.iter().zip(own.iter()) {
            if m > 0 {
                for &k in &clip.shared {
                    shared[k as usize] += m;
                }
            }
        }
        let log_clips = (indices.len() as f64).ln();
        let ln_df: Vec<f64> = (0..=indices.len())
            .map(|k| (k as f64).max(1.0).ln())
            .collect();
        let mut s = CiderScratch {
            idf: df.iter().map(|&d| log_clips - ln_df[d as usize]).collect(),
            hyp_weights: Vec::new(),
            ref_weights: Vec::new(),
        };
        let mut memo: Vec<Option<f64>> = vec![None; self.clips.len()];
        let per_clip: Vec<f64> = indices
            .iter()
            .map(|&i| match memo[i] {
                Some(v) => v,
                None => {
                    let v = self.clip_score(&self.clips[i], &mut s);
                    memo[i] = Some(v);
                    v
                }
            })
            .collect();
        np_mean(&per_clip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_percentiles() {
        // np.percentile([3, 1, 4, 1, 5], [2.5, 50, 97.5]) = [1.0, 3.0, 4.9]
        let mut v = vec![3.0, 1.0, 4.0, 1.0, 5.0];
        v.sort_unstable_by(f64::total_cmp);
        assert_eq!(percentile_sorted(&v, 2.5), 1.0);
        assert_eq!(percentile_sorted(&v, 50.0), 3.0);
        assert!((percentile_sorted(&v, 97.5) - 4.9).abs() < 1e-15);
        assert_eq!(percentile_sorted(&v, 100.0), 5.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&[7.0], 2.5), 7.0);
    }

    #[test]
    fn indices_are_a_function_of_seed_and_resample() {
        let a = resample_indices(3, 5, 50);
        assert_eq!(a, resample_indices(3, 5, 50));
        assert_ne!(a, resample_indices(3, 6, 50));
        assert_ne!(a, resample_indices(4, 5, 50));
        assert!(a.iter().all(|&i| i < 50));
    }

    #[test]
    fn errors() {
        let v = [1.0, 2.0];
        let m = Mean(&v);
        let bad = BootstrapOptions {
            confidence: 1.0,
            ..Default::default()
        };
        assert_eq!(
            interval(&m, &bad),
            Err(Error::Confidence { confidence: 1.0 })
        );
        let none = BootstrapOptions {
            resamples: 0,
            ..Default::default()
        };
        assert!(matches!(interval(&m, &none), Err(Error::Bootstrap(_))));
        let w = [1.0];
        assert_eq!(
            paired(&m, &Mean(&w), &BootstrapOptions::default()),
            Err(Error::ItemsMismatch { first: 2, other: 1 })
        );
        let lists = vec![vec![0, 2]];
        assert_eq!(
            replicates(&[&m], Resamples::Given(&lists)),
            Err(Error::IndexOutOfRange {
                resample: 0,
                index: 2,
                items: 2
            })
        );
        assert_eq!(
            percentile_interval(&[1.0, f64::NAN], 0.9),
            Err(Error::NanReplicate { resample: 1 })
        );
    }
}
