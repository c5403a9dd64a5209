//! BLEU-1..4, ROUGE-L and CIDEr-D against pycocoevalcap 1.2 itself:
//! `tests/fixtures/metrics/captions.json` from `scripts/make_metric_fixtures.py`.
//! Corpus and per-clip scores must agree to 1e-6; tokenised captions exactly.

use std::collections::BTreeMap;

use metrics::tokenize::tokenize_captions;
use metrics::{bleu::bleu, cider_d::cider_d, rouge_l::rouge_l, score_captions, MAX_N};
use serde::Deserialize;

const TOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Scores {
    bleu: [f64; MAX_N],
    rouge_l: f64,
    cider_d: f64,
}

#[derive(Deserialize)]
struct PerClip {
    bleu: Vec<[f64; MAX_N]>,
    rouge_l: Vec<f64>,
    cider_d: Vec<f64>,
}

#[derive(Deserialize)]
struct Corpus {
    predictions: Vec<String>,
    references: Vec<Vec<String>>,
    predictions_tokenized: Vec<String>,
    references_tokenized: Vec<Vec<String>>,
    corpus: Scores,
    per_clip: PerClip,
}

fn fixture() -> BTreeMap<String, Corpus> {
    testkit::read_json_as(testkit::fixtures().join("metrics/captions.json"))
}

/// Largest absolute error per metric name, over everything compared.
#[derive(Default)]
struct MaxErr(BTreeMap<&'static str, f64>);

impl MaxErr {
    fn check(&mut self, metric: &'static str, what: &str, ours: f64, want: f64) {
        let err = (ours - want).abs();
        let slot = self.0.entry(metric).or_insert(0.0);
        *slot = slot.max(err);
        assert!(
            err <= TOL,
            "{what}: ours {ours} vs pycocoevalcap {want} (|diff| {err:e})"
        );
    }

    fn report(&self, title: &str) {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v:.3e}")).collect();
        println!("{title}: max abs error {}", parts.join(", "));
    }
}

#[test]
fn tokenisation_matches_pycocoevalcap() {
    let mut n = 0;
    for (name, c) in fixture() {
        assert_eq!(
            tokenize_captions(&c.predictions),
            c.predictions_tokenized,
            "{name}: predictions"
        );
        let flat: Vec<&str> = c.references.iter().flatten().map(String::as_str).collect();
        let want: Vec<&String> = c.references_tokenized.iter().flatten().collect();
        let ours = tokenize_captions(&flat);
        assert_eq!(ours.iter().collect::<Vec<_>>(), want, "{name}: references");
        n += c.predictions.len() + flat.len();
    }
    println!("tokenised captions: {n}/{n} exactly equal to pycocoevalcap");
}

#[test]
fn scorers_on_pycocoevalcap_tokens_match() {
    let mut max = MaxErr::default();
    for (name, c) in fixture() {
        let (hyp, refs) = (&c.predictions_tokenized, &c.references_tokenized);
        let b = bleu(hyp, refs).expect("valid input");
        let r = rouge_l(hyp, refs).expect("valid input");
        let d = cider_d(hyp, refs).expect("valid input");
        for k in 0..MAX_N {
            max.check(
                "bleu",
                &format!("{name} corpus BLEU-{}", k + 1),
                b.corpus[k],
                c.corpus.bleu[k],
            );
            for (i, (ours, want)) in b.per_clip.iter().zip(&c.per_clip.bleu).enumerate() {
                max.check(
                    "bleu",
                    &format!("{name} clip {i} BLEU-{}", k + 1),
                    ours[k],
                    want[k],
                );
            }
        }
        max.check(
            "rouge_l",
            &format!("{name} corpus ROUGE-L"),
            r.corpus,
            c.corpus.rouge_l,
        );
        max.check(
            "cider_d",
            &format!("{name} corpus CIDEr-D"),
            d.corpus,
            c.corpus.cider_d,
        );
        for (i, (ours, want)) in r.per_clip.iter().zip(&c.per_clip.rouge_l).enumerate() {
            max.check("rouge_l", &format!("{name} clip {i} ROUGE-L"), *ours, *want);
        }
        for (i, (ours, want)) in d.per_clip.iter().zip(&c.per_clip.cider_d).enumerate() {
            max.check("cider_d", &format!("{name} clip {i} CIDEr-D"), *ours, *want);
        }
    }
    max.report("scorers on pycocoevalcap's tokens");
}

#[test]
fn score_captions_from_raw_text_matches() {
    let mut max = MaxErr::default();
    let mut clips = 0;
    for (name, c) in fixture() {
        let s = score_captions(&c.predictions, &c.references).expect("valid input");
        assert_eq!(s.per_clip.len(), c.predictions.len(), "{name}");
        for k in 0..MAX_N {
            max.check(
                "bleu",
                &format!("{name} corpus BLEU-{}", k + 1),
                s.corpus.bleu[k],
                c.corpus.bleu[k],
            );
        }
        max.check(
            "rouge_l",
            &format!("{name} corpus ROUGE-L"),
            s.corpus.rouge_l,
            c.corpus.rouge_l,
        );
        max.check(
            "cider_d",
            &format!("{name} corpus CIDEr-D"),
            s.corpus.cider_d,
            c.corpus.cider_d,
        );
        for (i, clip) in s.per_clip.iter().enumerate() {
            for k in 0..MAX_N {
                max.check(
                    "bleu",
                    &format!("{name} clip {i} BLEU-{}", k + 1),
                    clip.bleu[k],
                    c.per_clip.bleu[i][k],
                );
            }
            max.check(
                "rouge_l",
                &format!("{name} clip {i} ROUGE-L"),
                clip.rouge_l,
                c.per_clip.rouge_l[i],
            );
            max.check(
                "cider_d",
                &format!("{name} clip {i} CIDEr-D"),
                clip.cider_d,
                c.per_clip.cider_d[i],
            );
        }
        clips += c.predictions.len();
    }
    max.report(&format!("score_captions on raw captions ({clips} clips)"));
}
