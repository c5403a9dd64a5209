//! Caption scoring: BLEU-1..4, ROUGE-L and CIDEr-D natively (the `metrics` crate, equal to
//! pycocoevalcap), METEOR and SPICE through Java when available ([`crate::java`]), SPIDEr
//! = (CIDEr-D + SPICE) / 2 when both exist, and FENSE and SPIDEr-FL (the `fense` crate, equal
//! to aac-metrics) when their two models are found ([`FenseConfig`]). As in
//! `aac_metrics.evaluate`, FENSE reads the PTB-tokenised captions. A metric that could not be
//! computed is `null` with its reason in `not_computed`; no value is ever estimated.
//!
//! Confidence intervals ([`caption_intervals`], [`CaptionStats`]): a percentile
//! bootstrap over clips ([`metrics::bootstrap`]) from each clip's [`CaptionItem`]; every
//! metric is recomputed on each resample as its corpus value is computed ([`resampling`]).

use std::collections::BTreeMap;

use metrics::bootstrap::{
    percentile_interval, replicates, Bleu, BootstrapOptions, CiderD, Mean, Resamples, Statistic,
};
use serde::{Deserialize, Serialize};

use crate::common::Intervals;
use crate::error::Result;
use crate::java::{meteor::meteor, spice::spice, JavaConfig};

/// Metric names in report order.
pub const CAPTION_METRICS: [&str; 11] = [
    "bleu_1",
    "bleu_2",
    "bleu_3",
    "bleu_4",
    "meteor",
    "rouge_l",
    "cider_d",
    "spice",
    "spider",
    "fense",
    "spider_fl",
];

/// Where FENSE's models (the sentence-BERT and the fluency-error detector) are looked for:
/// `dir` laid out as [`fense::FenseModels::in_dir`], else the caches aac-metrics itself fills
/// (the Hugging Face hub cache, `FENSE_DATA` / torch hub's `fense_data`); offline, no download.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FenseConfig {
    pub dir: Option<std::path::PathBuf>,
}

impl FenseConfig {
    /// The models on the CPU, or why they are not there (`Ok(Err(reason))`). Models that
    /// are there but unusable are an error.
    pub fn load(&self) -> Result<std::result::Result<fense::Fense, String>> {
        let absent = |e: fense::Error| -> Result<std::result::Result<fense::Fense, String>> {
            if e.is_not_available() {
                Ok(Err(e.to_string()))
            } else {
                Err(e.into())
            }
        };
        let models = match fense::FenseModels::locate(self.dir.as_deref()) {
            Ok(m) => m,
            Err(e) => return absent(e),
        };
        match fense::Fense::load(
            &models,
            &candle_core::Device::Cpu,
            fense::FenseOptions::default(),
        ) {
            Ok(f) => Ok(Ok(f)),
            Err(e) => absent(e),
        }
    }
}

/// One set of caption metrics (corpus-level, or one clip's). `None`: not computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionMetrics {
    pub bleu_1: Option<f64>,
    pub bleu_2: Option<f64>,
    pub bleu_3: Option<f64>,
    pub bleu_4: Option<f64>,
    pub meteor: Option<f64>,
    pub rouge_l: Option<f64>,
    pub cider_d: Option<f64>,
    pub spice: Option<f64>,
    pub spider: Option<f64>,
    /// FENSE (aac-metrics): sentence-BERT similarity, penalised for fluency errors.
    #[serde(default)]
    pub fense: Option<f64>,
    /// SPIDEr with FENSE's fluency penalty (DCASE's ranking metric).
    #[serde(default)]
    pub spider_fl: Option<f64>,
}

impl CaptionMetrics {
    /// The value of a metric by its name in [`CAPTION_METRICS`].
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "bleu_1" => self.bleu_1,
            "bleu_2" => self.bleu_2,
            "bleu_3" => self.bleu_3,
            "bleu_4" => self.bleu_4,
            "meteor" => self.meteor,
            "rouge_l" => self.rouge_l,
            "cider_d" => self.cider_d,
            "spice" => self.spice,
            "spider" => self.spider,
            "fense" => self.fense,
            "spider_fl" => self.spider_fl,
            _ => None,
        }
    }

    fn native(bleu: [f64; 4], rouge_l: f64, cider_d: f64) -> Self {
        Self {
            bleu_1: Some(bleu[0]),
            bleu_2: Some(bleu[1]),
            bleu_3: Some(bleu[2]),
            bleu_4: Some(bleu[3]),
            rouge_l: Some(rouge_l),
            cider_d: Some(cider_d),
            ..Self::default()
        }
    }
}

/// Corpus and per-clip scores, and why any metric is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionScoring {
    pub corpus: CaptionMetrics,
    /// One per prediction, in input order.
    pub per_clip: Vec<CaptionMetrics>,
    /// Metric name → reason, for every metric left `None`.
    pub not_computed: BTreeMap<String, String>,
    /// The predictions as pycocoevalcap tokenises them (what BLEU, ROUGE-L, CIDEr-D, METEOR
    /// and SPICE read).
    pub predictions_tokenized: Vec<String>,
    /// The references, tokenised likewise.
    pub references_tokenized: Vec<Vec<String>>,
}

/// Scores raw `predictions` against raw `references` (one non-empty list each). `java`:
/// `None` switches METEOR and SPICE off (reported as such); otherwise they run when the
/// configuration (or the environment) provides Java and the jars. `fense`: likewise for FENSE
/// and SPIDEr-FL and their models.
pub fn score_captions(
    predictions: &[String],
    references: &[Vec<String>],
    java: Option<&JavaConfig>,
    fense: Option<&FenseConfig>,
) -> Result<CaptionScoring> {
    let (hyps, refs) = metrics::tokenize_corpus(predictions, references);
    let native = metrics::score_tokenized(&hyps, &refs)?;
    let c = &native.corpus;
    let mut corpus = CaptionMetrics::native(c.bleu, c.rouge_l, c.cider_d);
    let mut per_clip: Vec<CaptionMetrics> = native
        .per_clip
        .iter()
        .map(|p| CaptionMetrics::native(p.bleu, p.rouge_l, p.cider_d))
        .collect();
    let mut not_computed = BTreeMap::new();
    match java {
        None => {
            for m in ["meteor", "spice"] {
                not_computed.insert(m.to_string(), "Java metrics switched off".to_string());
            }
        }
        Some(cfg) => {
            // The same tokenisation the native metrics used (pycocoevalcap feeds it to both).
            match meteor(cfg, &hyps, &refs) {
                Ok(s) => {
                    corpus.meteor = Some(s.corpus);
                    for (p, v) in per_clip.iter_mut().zip(s.per_clip) {
                        p.meteor = Some(v);
                    }
                }
                Err(e) => {
                    not_computed.insert("meteor".into(), e.0);
                }
            }
            match spice(cfg, &hyps, &refs) {
                Ok(s) => {
                    corpus.spice = Some(s.corpus);
                    for (p, v) in per_clip.iter_mut().zip(s.per_clip) {
                        p.spice = Some(v);
                    }
                }
                Err(e) => {
                    not_computed.insert("spice".into(), e.0);
                }
            }
        }
    }
    let spider = |m: &mut CaptionMetrics| {
        if let (Some(c), Some(s)) = (m.cider_d, m.spice) {
            m.spider = Some((c + s) / 2.0);
        }
    };
    spider(&mut corpus);
    per_clip.iter_mut().for_each(spider);
    if corpus.spider.is_none() {
        not_computed.insert("spider".into(), "needs SPICE".into());
    }
    let loaded = match fense {
        None => Err("FENSE switched off".to_string()),
        Some(cfg) => cfg.load()?,
    };
    match loaded {
        Err(reason) => {
            not_computed.insert("fense".into(), reason.clone());
            not_computed.insert("spider_fl".into(), reason);
        }
        Ok(f) => {
            let s = f.score(&hyps, &refs)?;
            corpus.fense = Some(s.fense);
            for (p, v) in per_clip.iter_mut().zip(&s.sentences) {
                p.fense = Some(v.fense);
            }
            // SPIDEr-FL: each clip's SPIDEr with the same fluency penalty as FENSE.
            let spider: Option<Vec<f64>> = per_clip.iter().map(|p| p.spider).collect();
            match spider {
                Some(sp) => {
                    let probs: Vec<fense::FluencyProbs> =
                        s.sentences.iter().map(|x| x.fluency).collect();
                    let opts = fense::FenseOptions::default();
                    let fl = fense::spider_fl(&sp, &probs, opts.error_threshold, opts.penalty)?;
                    corpus.spider_fl = Some(fl.spider_fl);
                    for (p, v) in per_clip.iter_mut().zip(fl.sentences) {
                        p.spider_fl = Some(v);
                    }
                }
                None => {
                    not_computed.insert("spider_fl".into(), "needs SPIDEr (SPICE)".into());
                }
            }
        }
    }
    Ok(CaptionScoring {
        corpus,
        per_clip,
        not_computed,
        predictions_tokenized: hyps,
        references_tokenized: refs,
    })
}

/// One clip as the bootstrap needs it: what every metric is recomputed from on a resample.
/// Result files keep one per clip, so that `eval report` can resample a model and its base
/// on the same clips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionItem {
    /// The clip's id (paired comparisons match clips by it).
    pub id: String,
    /// The prediction, PTB-tokenised (BLEU and CIDEr-D are recomputed from it).
    pub prediction: String,
    /// The references, PTB-tokenised.
    pub references: Vec<String>,
    /// The clip's scores of the metrics resampled as a mean over clips
    /// ([`Resampling::Mean`]).
    #[serde(default)]
    pub scores: BTreeMap<String, f64>,
}

/// How a caption metric is recomputed on a resample of clips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// Corpus BLEU-n from the drawn clips' pooled statistics ([`metrics::bootstrap::Bleu`]).
    Bleu(usize),
    /// CIDEr-D with the resample's document frequencies ([`metrics::bootstrap::CiderD`]).
    CiderD,
    /// The mean of the drawn clips' scores: the corpus value is the mean over clips.
    Mean,
    /// (CIDEr-D + SPICE) / 2, both on the same resample.
    Spider,
    /// Not resampled, for this reason.
    Not(&'static str),
}

/// How `metric` (a name of [`CAPTION_METRICS`]) is resampled.
pub fn resampling(metric: &str) -> Resampling {
    match metric {
        "bleu_1" => Resampling::Bleu(1),
        "bleu_2" => Resampling::Bleu(2),
        "bleu_3" => Resampling::Bleu(3),
        "bleu_4" => Resampling::Bleu(4),
        "cider_d" => Resampling::CiderD,
        "rouge_l" | "spice" | "fense" | "spider_fl" => Resampling::Mean,
        "spider" => Resampling::Spider,
        "meteor" => Resampling::Not(
            "corpus METEOR is Java METEOR's aggregate of pooled statistics, not a mean over \
             clips, and is not recomputed per resample",
        ),
        _ => Resampling::Not("no resampling rule for this metric"),
    }
}

/// The bootstrap's data of each clip of a scoring (`ids` in the scoring's order).
pub fn caption_items(
    ids: impl IntoIterator<Item = String>,
    scoring: &CaptionScoring,
) -> Vec<CaptionItem> {
    ids.into_iter()
        .zip(&scoring.predictions_tokenized)
        .zip(&scoring.references_tokenized)
        .zip(&scoring.per_clip)
        .map(|(((id, prediction), references), clip)| CaptionItem {
            id,
            prediction: prediction.clone(),
            references: references.clone(),
            scores: CAPTION_METRICS
                .iter()
                .filter(|m| resampling(m) == Resampling::Mean)
                .filter_map(|m| clip.get(m).map(|v| (m.to_string(), v)))
                .collect(),
        })
        .collect()
}

/// The caption metrics of a set of clips, ready to be recomputed on resamples of them
/// ([`resampling`] says how each is).
pub struct CaptionStats {
    /// (metric, how), for the metrics asked for that can be resampled.
    rules: Vec<(String, Resampling)>,
    bleu: Option<Bleu>,
    cider: Option<CiderD>,
    /// Per-clip values of the mean metrics (SPICE too when SPIDEr needs it).
    means: BTreeMap<String, Vec<f64>>,
    not_computed: BTreeMap<String, String>,
}

impl CaptionStats {
    /// Prepares `metrics` (names of [`CAPTION_METRICS`]) over `items`.
    ///
    /// Errors: no items ([`metrics::Error::NoCaptions`]).
    pub fn new(items: &[&CaptionItem], metrics: &[&str]) -> Result<Self> {
        let mut not_computed = BTreeMap::new();
        let mut means = BTreeMap::new();
        let mut rules = Vec::new();
        for &m in metrics {
            let rule = resampling(m);
            let wanted: &[&str] = match rule {
                Resampling::Not(reason) => {
                    not_computed.insert(m.to_string(), reason.to_string());
                    continue;
                }
                Resampling::Mean => &[m],
                Resampling::Spider => &["spice"],
                _ => &[],
            };
            let mut complete = true;
            for &w in wanted {
                let values: Option<Vec<f64>> =
                    items.iter().map(|i| i.scores.get(w).copied()).collect();
                match values {
                    Some(v) => {
                        means.insert(w.to_string(), v);
                    }
                    None => {
                        complete = false;
                        not_computed.insert(
                            m.to_string(),
                            format!("per-clip {w} scores are missing from the clips' data"),
                        );
                    }
                }
            }
            if complete {
                rules.push((m.to_string(), rule));
            }
        }
        let needs = |f: fn(&Resampling) -> bool| rules.iter().any(|(_, r)| f(r));
        let hyps: Vec<String> = items.iter().map(|i| i.prediction.clone()).collect();
        let refs: Vec<Vec<String>> = items.iter().map(|i| i.references.clone()).collect();
        let bleu = needs(|r| matches!(r, Resampling::Bleu(_)))
            .then(|| Bleu::new(&hyps, &refs))
            .transpose()?;
        let cider = needs(|r| matches!(r, Resampling::CiderD | Resampling::Spider))
            .then(|| CiderD::new(&hyps, &refs))
            .transpose()?;
        Ok(Self {
            rules,
            bleu,
            cider,
            means,
            not_computed,
        })
    }

    /// Metric → why it has no replicates.
    pub fn not_computed(&self) -> &BTreeMap<String, String> {
        &self.not_computed
    }

    /// Each resampleable metric on every resample, all on the same indices: metric →
    /// replicates. `Resamples::Given` with the identity gives the point values.
    ///
    /// Errors: the resamples' ([`metrics::bootstrap::replicates`]).
    pub fn replicates(&self, resamples: Resamples<'_>) -> Result<BTreeMap<String, Vec<f64>>> {
        let orders: Vec<_> = match &self.bleu {
            Some(b) => (1..=4)
                .map(|n| b.order(n))
                .collect::<metrics::Result<_>>()?,
            None => vec![],
        };
        let means: Vec<(&str, Mean<'_>)> = self
            .means
            .iter()
            .map(|(k, v)| (k.as_str(), Mean(v)))
            .collect();
        let mut names: Vec<&str> = Vec::new();
        let mut stats: Vec<&dyn Statistic> = Vec::new();
        for (m, r) in &self.rules {
            if let Resampling::Bleu(n) = r {
                names.push(m);
                stats.push(&orders[n - 1]);
            }
        }
        if let Some(c) = &self.cider {
            names.push("cider_d");
            stats.push(c);
        }
        for (k, st) in &means {
            names.push(k);
            stats.push(st);
        }
        if stats.is_empty() {
            return Ok(BTreeMap::new());
        }
        let reps = replicates(&stats, resamples)?;
        let by_name: BTreeMap<&str, Vec<f64>> = names.into_iter().zip(reps).collect();
        Ok(self
            .rules
            .iter()
            .map(|(m, r)| {
                let values = match r {
                    Resampling::Spider => {
                        let (c, s) = (&by_name["cider_d"], &by_name["spice"]);
                        c.iter().zip(s).map(|(c, s)| (c + s) / 2.0).collect()
                    }
                    _ => by_name[m.as_str()].clone(),
                };
                (m.clone(), values)
            })
            .collect())
    }
}

/// Percentile-bootstrap intervals of every metric `corpus` has, over `items` (`None` when
/// the bootstrap is off).
///
/// Errors: invalid options, no items.
pub fn caption_intervals(
    items: &[CaptionItem],
    corpus: &CaptionMetrics,
    opts: &BootstrapOptions,
) -> Result<Option<Intervals>> {
    opts.validate()?;
    if !opts.enabled() {
        return Ok(None);
    }
    let present: Vec<&str> = CAPTION_METRICS
        .iter()
        .copied()
        .filter(|m| corpus.get(m).is_some())
        .collect();
    let items: Vec<&CaptionItem> = items.iter().collect();
    let stats = CaptionStats::new(&items, &present)?;
    let mut out = Intervals::new(opts);
    for (m, r) in stats.replicates(opts.plan())? {
        let i = percentile_interval(&r, opts.confidence)?;
        out.intervals.insert(m, [i.low, i.high]);
    }
    out.not_computed = stats.not_computed().clone();
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_java_the_native_metrics_remain_and_the_rest_says_why() {
        let s = score_captions(
            &["a dog barks".into(), "".into()],
            &[vec!["a dog barks loudly".into()], vec!["rain falls".into()]],
            None,
            None,
        )
        .unwrap();
        assert!(s.corpus.cider_d.is_some() && s.corpus.bleu_4.is_some());
        assert_eq!(s.corpus.meteor, None);
        assert_eq!(s.corpus.spider, None);
        assert_eq!(s.per_clip.len(), 2);
        assert_eq!(s.per_clip[1].rouge_l, Some(0.0));
        assert_eq!(
            s.not_computed.keys().collect::<Vec<_>>(),
            vec!["fense", "meteor", "spice", "spider", "spider_fl"]
        );
        for m in CAPTION_METRICS {
            assert_eq!(
                s.corpus.get(m).is_none(),
                s.not_computed.contains_key(m),
                "{m}"
            );
        }
    }

    #[test]
    fn every_metric_is_resampled_as_its_corpus_value_is() {
        let preds: Vec<String> = [
            "a dog barks",
            "rain falls hard",
            "a bell rings",
            "birds sing",
        ]
        .map(String::from)
        .to_vec();
        let refs: Vec<Vec<String>> = vec![
            vec!["a dog barks loudly".into(), "a dog is barking".into()],
            vec!["rain falls".into()],
            vec!["a bell rings twice".into(), "bells ring".into()],
            vec!["birds chirp".into(), "birds sing in trees".into()],
        ];
        let mut scoring = score_captions(&preds, &refs, None, None).unwrap();
        // A stand-in SPICE per clip (as the Java runner would give), so SPIDEr exists.
        for (k, p) in scoring.per_clip.iter_mut().enumerate() {
            p.spice = Some(0.1 * k as f64);
        }
        let items = caption_items((0..4).map(|i| format!("c{i}")), &scoring);
        assert_eq!(
            items[1].scores.keys().collect::<Vec<_>>(),
            ["rouge_l", "spice"]
        );
        let all: Vec<&CaptionItem> = items.iter().collect();
        let stats = CaptionStats::new(&all, &CAPTION_METRICS).unwrap();
        assert!(stats.not_computed()["meteor"].contains("aggregate"));
        // On the identity, the point values: BLEU and CIDEr-D as the corpus scorer.
        let identity = vec![vec![0, 1, 2, 3]];
        let point = stats.replicates(Resamples::Given(&identity)).unwrap();
        for m in ["bleu_1", "bleu_4", "cider_d", "rouge_l"] {
            assert_eq!(point[m][0], scoring.corpus.get(m).unwrap(), "{m}");
        }
        let reps = stats
            .replicates(Resamples::Seeded { seed: 1, count: 50 })
            .unwrap();
        assert!(!reps.contains_key("meteor"));
        let (c, sp) = (&reps["cider_d"], &reps["spice"]);
        for (k, spider) in reps["spider"].iter().enumerate() {
            assert_eq!(*spider, (c[k] + sp[k]) / 2.0);
        }
        // Bootstrap off: no intervals; on: one per computed metric.
        let off = BootstrapOptions {
            resamples: 0,
            ..Default::default()
        };
        assert_eq!(
            caption_intervals(&items, &scoring.corpus, &off).unwrap(),
            None
        );
        let on = caption_intervals(&items, &scoring.corpus, &BootstrapOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            on.intervals.keys().collect::<Vec<_>>(),
            ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider_d", "rouge_l"]
        );
    }
}
