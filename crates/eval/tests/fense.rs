//! FENSE in caption scoring: with the models found (the fense fixtures laid out as a models
//! directory) the corpus value and each clip's equal the `fense` crate's on the PTB-tokenised
//! captions (as `aac_metrics.evaluate` feeds them), get a bootstrap interval, and SPIDEr-FL is
//! "not computed" without SPICE; without the models both are "not computed" with the reason.

use std::path::Path;

use eval::score::{score_captions, FenseConfig};
use testkit::{fixtures, scratch};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// The fixture models in the layout `--fense-dir` expects.
fn models_dir() -> std::path::PathBuf {
    let f = fixtures().join("fense");
    let d = scratch("eval-fense-models");
    copy_dir(&f.join("sbert"), &d.join("paraphrase-TinyBERT-L6-v2"));
    std::fs::copy(
        f.join("echecker/echecker_fixture.ckpt"),
        d.join("echecker_clotho_audiocaps_base.ckpt"),
    )
    .unwrap();
    copy_dir(&f.join("echecker/fense-fixture"), &d.join("fense-fixture"));
    d
}

#[test]
fn fense_is_scored_on_the_tokenised_captions_or_not_computed_with_the_reason() {
    let c = testkit::read_json(fixtures().join("fense/cases.json"));
    let preds: Vec<String> = c["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .filter(|x| !x.trim().is_empty())
        .take(12)
        .collect();
    let refs: Vec<Vec<String>> = c["references"].as_array().unwrap()[..preds.len()]
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let cfg = FenseConfig {
        dir: Some(models_dir()),
    };
    let s = score_captions(&preds, &refs, None, Some(&cfg)).unwrap();
    let f = cfg.load().unwrap().unwrap();
    let want = f
        .score(&s.predictions_tokenized, &s.references_tokenized)
        .unwrap();
    assert!((s.corpus.fense.unwrap() - want.fense).abs() < 1e-12);
    for (clip, w) in s.per_clip.iter().zip(&want.sentences) {
        assert!((clip.fense.unwrap() - w.fense).abs() < 1e-12);
    }
    assert_eq!(s.not_computed["spider_fl"], "needs SPIDEr (SPICE)");
    // The bootstrap resamples it as a mean over clips.
    let items = eval::score::caption_items((0..preds.len()).map(|i| format!("c{i}")), &s);
    let iv = eval::score::caption_intervals(
        &items,
        &s.corpus,
        &metrics::bootstrap::BootstrapOptions::default(),
    )
    .unwrap();
    let text = serde_json::to_string(&iv).unwrap();
    assert!(text.contains("fense"), "{text}");

    // No models: not computed, with the reason naming where they were looked for.
    let empty = FenseConfig {
        dir: Some(scratch("eval-fense-none")),
    };
    let s = score_captions(&preds, &refs, None, Some(&empty)).unwrap();
    assert!(s.corpus.fense.is_none());
    assert!(
        s.not_computed["fense"].starts_with("not available: "),
        "{}",
        s.not_computed["fense"]
    );
    let s = score_captions(&preds, &refs, None, None).unwrap();
    assert_eq!(s.not_computed["fense"], "FENSE switched off");
}
