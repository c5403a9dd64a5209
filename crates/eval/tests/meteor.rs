//! METEOR through meteor-1.5.jar against pycocoevalcap's own Meteor on the same captions:
//! `tests/fixtures/eval/meteor.json` (scripts/make_eval_fixture.py). Both sides run the same
//! jar, so the scores must agree to 1e-9; the tokenised inputs must be identical.
//!
//! Needs Java and the jar, which are not in the repository (the jar and its paraphrase table
//! are 68 MB; pycocoevalcap's wheel ships them):
//!
//! ```sh
//! AAC_METEOR_JAR=/path/to/site-packages/pycocoevalcap/meteor/meteor-1.5.jar \
//!     cargo test --release -p eval --test meteor -- --ignored --nocapture
//! ```

use eval::java::meteor::meteor;
use eval::java::JavaConfig;
use eval::score::score_captions;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    predictions: Vec<String>,
    references: Vec<Vec<String>>,
    predictions_tokenized: Vec<String>,
    references_tokenized: Vec<Vec<String>>,
    corpus: f64,
    per_clip: Vec<f64>,
}

fn fixture() -> Fixture {
    testkit::read_json_as(testkit::fixtures().join("eval/meteor.json"))
}

#[test]
#[ignore = "needs java and AAC_METEOR_JAR (meteor-1.5.jar with data/paraphrase-en.gz)"]
fn meteor_equals_pycocoevalcap() {
    let f = fixture();
    let cfg = JavaConfig::default();
    let direct = meteor(&cfg, &f.predictions_tokenized, &f.references_tokenized)
        .unwrap_or_else(|e| panic!("METEOR not computed: {e}"));
    eprintln!(
        "METEOR corpus ours {} vs pycocoevalcap {} (|diff| {:.1e})",
        direct.corpus,
        f.corpus,
        (direct.corpus - f.corpus).abs()
    );
    assert!((direct.corpus - f.corpus).abs() <= 1e-9);
    for (i, (a, b)) in direct.per_clip.iter().zip(&f.per_clip).enumerate() {
        eprintln!("clip {i}: ours {a} vs pycocoevalcap {b}");
        assert!((a - b).abs() <= 1e-9, "clip {i}");
    }

    // Through the whole scorer: raw captions, our PTB tokenisation, then METEOR.
    let s = score_captions(&f.predictions, &f.references, Some(&cfg), None).unwrap();
    assert!(
        !s.not_computed.contains_key("meteor"),
        "{:?}",
        s.not_computed
    );
    assert!((s.corpus.meteor.unwrap() - f.corpus).abs() <= 1e-9);
    let toks = metrics::tokenize::tokenize_captions(&f.predictions);
    assert_eq!(toks, f.predictions_tokenized);
}

#[test]
fn without_a_jar_meteor_is_not_computed_with_the_reason() {
    let f = fixture();
    let cfg = JavaConfig {
        meteor_jar: Some("/nonexistent/meteor-1.5.jar".into()),
        ..JavaConfig::default()
    };
    let s = score_captions(&f.predictions, &f.references, Some(&cfg), None).unwrap();
    assert_eq!(s.corpus.meteor, None);
    assert!(s.not_computed["meteor"].contains("/nonexistent/meteor-1.5.jar"));
    assert!(s.corpus.cider_d.is_some());
}
