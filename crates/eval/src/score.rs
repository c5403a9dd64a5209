//! Caption scoring: BLEU-1..4, ROUGE-L and CIDEr-D natively (the `metrics` crate, equal to
//! pycocoevalcap), METEOR and SPICE through Java when available ([`crate::java`]), and SPIDEr
//! = (CIDEr-D + SPICE) / 2 when both exist. A metric that could not be computed is `null` with
//! its reason in `not_computed`; no value is ever estimated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::java::{meteor::meteor, spice::spice, JavaConfig};

/// Metric names in report order.
pub const CAPTION_METRICS: [&str; 9] = [
    "bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider_d", "spice", "spider",
];

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
}

/// Scores raw `predictions` against raw `references` (one non-empty list each). `java`:
/// `None` switches METEOR and SPICE off (reported as such); otherwise they run when the
/// configuration (or the environment) provides Java and the jars.
pub fn score_captions(
    predictions: &[String],
    references: &[Vec<String>],
    java: Option<&JavaConfig>,
) -> Result<CaptionScoring> {
    let native = metrics::score_captions(predictions, references)?;
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
            let hyps = metrics::tokenize::tokenize_captions(predictions);
            let flat: Vec<&str> = references.iter().flatten().map(String::as_str).collect();
            let mut flat_tokens = metrics::tokenize::tokenize_captions(&flat).into_iter();
            let refs: Vec<Vec<String>> = references
                .iter()
                .map(|r| flat_tokens.by_ref().take(r.len()).collect())
                .collect();
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
    Ok(CaptionScoring {
        corpus,
        per_clip,
        not_computed,
    })
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
        )
        .unwrap();
        assert!(s.corpus.cider_d.is_some() && s.corpus.bleu_4.is_some());
        assert_eq!(s.corpus.meteor, None);
        assert_eq!(s.corpus.spider, None);
        assert_eq!(s.per_clip.len(), 2);
        assert_eq!(s.per_clip[1].rouge_l, Some(0.0));
        assert_eq!(
            s.not_computed.keys().collect::<Vec<_>>(),
            vec!["meteor", "spice", "spider"]
        );
        for m in CAPTION_METRICS {
            assert_eq!(
                s.corpus.get(m).is_none(),
                s.not_computed.contains_key(m),
                "{m}"
            );
        }
    }
}
