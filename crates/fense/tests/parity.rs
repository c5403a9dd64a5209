//! FENSE, its parts and SPIDEr-FL against aac-metrics 0.5.5 itself, on random-weight tiny
//! checkpoints of both architectures: `tests/fixtures/fense/` from
//! `scripts/make_fense_fixtures.py`. Per-sentence and corpus values must agree to 1e-5; token
//! ids and the 0/1 fluency verdicts exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::Device;
use fense::echecker::read_info;
use fense::locate::hub_snapshot;
use fense::{
    spider_fl, Fense, FenseModels, FenseOptions, FluencyDetector, SentenceBert, ERROR_NAMES,
};
use serde_json::Value;

const TOL: f64 = 1e-5;
const ECHECKER_TYPE: &str = "fense-fixture/bert-tiny-uncased";

fn root() -> PathBuf {
    testkit::fixtures().join("fense")
}

fn cases() -> Value {
    testkit::read_json(root().join("cases.json"))
}

fn ckpt() -> PathBuf {
    root().join("echecker/echecker_fixture.ckpt")
}

fn base() -> PathBuf {
    root().join("echecker").join(ECHECKER_TYPE)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ids(v: &Value) -> Vec<Vec<u32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        })
        .collect()
}

fn inputs(c: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let cands = strings(&c["candidates"]);
    let refs = c["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    (cands, refs)
}

/// Largest absolute error per quantity, over everything compared.
#[derive(Default)]
struct MaxErr(BTreeMap<String, f64>);

impl MaxErr {
    fn check(&mut self, what: &str, i: usize, ours: f64, want: f64) {
        let err = (ours - want).abs();
        let slot = self.0.entry(what.to_string()).or_insert(0.0);
        *slot = slot.max(err);
        assert!(
            err <= TOL,
            "{what}[{i}]: ours {ours} vs aac-metrics {want} (|diff| {err:e})"
        );
    }

    /// Relative to max(1, |want|): for logits, which are not aac-metrics outputs.
    fn check_rel(&mut self, what: &str, i: usize, ours: f64, want: f64) {
        let scale = want.abs().max(1.0);
        self.check(what, i, ours / scale, want / scale);
    }

    fn report(&self, title: &str) {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v:.2e}")).collect();
        println!("{title}: max abs error {}", parts.join(", "));
    }
}

fn models() -> FenseModels {
    FenseModels {
        sbert: root().join("sbert"),
        echecker: ckpt(),
        echecker_base: None,
    }
}

#[test]
fn fense_equals_aac_metrics() {
    let c = cases();
    let (cands, refs) = inputs(&c);
    let mut err = MaxErr::default();
    for (key, batch) in [
        ("fense", 32),
        ("fense_batch4", 4),
        ("fense", 1),
        ("fense", 7),
    ] {
        let opts = FenseOptions {
            batch_size: batch,
            ..FenseOptions::default()
        };
        let f = Fense::load(&models(), &Device::Cpu, opts).unwrap();
        let s = f.score(&cands, &refs).unwrap();
        let want = &c[key]["sentences"];
        for (i, ours) in s.sentences.iter().enumerate() {
            err.check(
                "sbert_sim",
                i,
                ours.sbert_sim,
                want["sbert_sim"][i].as_f64().unwrap(),
            );
            err.check("fense", i, ours.fense, want["fense"][i].as_f64().unwrap());
            assert_eq!(
                ours.fer,
                want["fer"][i].as_f64().unwrap(),
                "fer[{i}] ({})",
                cands[i]
            );
            for (k, name) in ERROR_NAMES.iter().enumerate() {
                let w = want[format!("fluency_error.{name}_prob")][i]
                    .as_f64()
                    .unwrap();
                err.check(&format!("{name}_prob"), i, ours.fluency.0[k] as f64, w);
            }
        }
        let corpus = &c[key]["corpus"];
        err.check(
            "corpus fense",
            0,
            s.fense,
            corpus["fense"].as_f64().unwrap(),
        );
        err.check(
            "corpus sbert_sim",
            0,
            s.sbert_sim,
            corpus["sbert_sim"].as_f64().unwrap(),
        );
        assert_eq!(s.fer, corpus["fer"].as_f64().unwrap());
    }
    err.report("FENSE vs aac-metrics");
}

#[test]
fn spider_fl_equals_aac_metrics() {
    let c = cases();
    let (cands, _) = inputs(&c);
    let det = FluencyDetector::load(&ckpt(), &base(), &Device::Cpu).unwrap();
    let probs = det.probs(&cands, 32).unwrap();
    let want = &c["spider_fl"];
    let spider = floats(&want["sentences"]["spider"]);
    let out = spider_fl(&spider, &probs, 0.9, 0.9).unwrap();
    let mut err = MaxErr::default();
    for (i, &v) in out.sentences.iter().enumerate() {
        err.check(
            "spider_fl",
            i,
            v,
            want["sentences"]["spider_fl"][i].as_f64().unwrap(),
        );
    }
    err.check(
        "corpus spider_fl",
        0,
        out.spider_fl,
        want["corpus"]["spider_fl"].as_f64().unwrap(),
    );
    err.report("SPIDEr-FL vs aac-metrics");
    assert!(spider_fl(&spider[1..], &probs, 0.9, 0.9).is_err());
}

#[test]
fn tokens_embeddings_and_logits() {
    let c = cases();
    let (cands, _) = inputs(&c);
    let texts: Vec<&str> = cands.iter().map(String::as_str).collect();
    let d = &c["diagnostics"];

    let sb = SentenceBert::load(&root().join("sbert"), &Device::Cpu).unwrap();
    assert_eq!(sb.token_ids(&texts).unwrap(), ids(&d["sbert_input_ids"]));
    let emb = sb.encode(&texts, 5).unwrap();
    let mut err = MaxErr::default();
    for (i, row) in emb.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            err.check(
                "embedding",
                i,
                v as f64,
                d["sbert_embeddings"][i][j].as_f64().unwrap(),
            );
        }
    }

    let det = FluencyDetector::load(&ckpt(), &base(), &Device::Cpu).unwrap();
    assert_eq!(det.info().model_type, ECHECKER_TYPE);
    assert_eq!(det.info().num_classes, 6);
    assert_eq!(
        det.token_ids(&texts).unwrap(),
        ids(&d["echecker_input_ids"])
    );
    let logits = det.logits(&cands, 32).unwrap();
    for (i, row) in logits.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            err.check_rel(
                "logit (relative)",
                i,
                v as f64,
                d["echecker_logits"][i][j].as_f64().unwrap(),
            );
        }
    }
    err.report("token states");
}

/// Copies a directory tree (the fixtures are small).
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

#[test]
fn pytorch_bin_and_vocab_txt_give_the_same() {
    let c = cases();
    let (cands, _) = inputs(&c);
    let texts: Vec<&str> = cands.iter().map(String::as_str).collect();
    let dir = testkit::scratch("fense-fallbacks");
    let sbert = dir.join("sbert");
    copy_dir(&root().join("sbert"), &sbert);
    std::fs::remove_file(sbert.join("model.safetensors")).unwrap();
    std::fs::remove_file(sbert.join("tokenizer.json")).unwrap();
    let sb = SentenceBert::load(&sbert, &Device::Cpu).unwrap();
    assert_eq!(
        sb.token_ids(&texts).unwrap(),
        ids(&c["diagnostics"]["sbert_input_ids"])
    );
    let emb = sb.encode(&texts, 32).unwrap();
    let want = SentenceBert::load(&root().join("sbert"), &Device::Cpu)
        .unwrap()
        .encode(&texts, 32)
        .unwrap();
    assert_eq!(
        emb, want,
        "pytorch_model.bin and model.safetensors hold the same weights"
    );

    let ebase = dir.join("echecker-base");
    copy_dir(&base(), &ebase);
    std::fs::remove_file(ebase.join("tokenizer.json")).unwrap();
    let det = FluencyDetector::load(&ckpt(), &ebase, &Device::Cpu).unwrap();
    assert_eq!(
        det.token_ids(&texts).unwrap(),
        ids(&c["diagnostics"]["echecker_input_ids"])
    );
}

#[test]
fn absent_weights_are_not_available() {
    let dir = testkit::scratch("fense-absent");
    let err = Fense::load(
        &FenseModels::in_dir(&dir),
        &Device::Cpu,
        FenseOptions::default(),
    )
    .err()
    .expect("nothing there");
    assert!(err.is_not_available(), "{err}");
    assert!(err.to_string().starts_with("not available: "), "{err}");

    // The sentence-BERT present, the checkpoint not.
    copy_dir(
        &root().join("sbert"),
        &dir.join(fense::locate::DEFAULT_SBERT),
    );
    let err = Fense::load(
        &FenseModels::in_dir(&dir),
        &Device::Cpu,
        FenseOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.is_not_available() && err.to_string().contains(".ckpt"),
        "{err}"
    );

    // The checkpoint present, its base BERT not.
    std::fs::copy(ckpt(), dir.join("echecker_clotho_audiocaps_base.ckpt")).unwrap();
    let err = Fense::load(
        &FenseModels::in_dir(&dir),
        &Device::Cpu,
        FenseOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.is_not_available() && err.to_string().contains(ECHECKER_TYPE),
        "{err}"
    );

    // Everything: the models-directory layout loads.
    copy_dir(&base(), &dir.join(ECHECKER_TYPE));
    let f = Fense::load(
        &FenseModels::in_dir(&dir),
        &Device::Cpu,
        FenseOptions::default(),
    )
    .unwrap();
    let s = f
        .score(&["a dog barks"], &[vec!["a dog is barking"]])
        .unwrap();
    assert!(s.fense.is_finite());
}

#[test]
fn bad_inputs_are_refused() {
    let f = Fense::load(&models(), &Device::Cpu, FenseOptions::default()).unwrap();
    assert!(matches!(
        f.score(&["a", "b"], &[vec!["x"]]),
        Err(fense::Error::LengthMismatch { .. })
    ));
    let empty: Vec<Vec<&str>> = vec![vec!["x"], vec![]];
    assert!(matches!(
        f.score(&["a", "b"], &empty),
        Err(fense::Error::EmptyReferences { index: 1 })
    ));
}

#[test]
fn checkpoint_info_and_hub_cache_layout() {
    let info = read_info(&ckpt()).unwrap();
    assert_eq!(info.model_type, ECHECKER_TYPE);
    assert_eq!(info.num_classes, 6);

    let cache = testkit::scratch("fense-hub-cache");
    let repo = cache.join("models--sentence-transformers--paraphrase-TinyBERT-L6-v2");
    copy_dir(&root().join("sbert"), &repo.join("snapshots/0123abc"));
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abc").unwrap();
    let snap = hub_snapshot(&cache, "sentence-transformers/paraphrase-TinyBERT-L6-v2").unwrap();
    assert_eq!(snap, repo.join("snapshots/0123abc"));
    assert!(hub_snapshot(&cache, "bert-base-uncased").is_none());
}

#[test]
fn do_lower_case_prepends_lowercase() {
    // sentence-transformers prepends a Lowercase normaliser for `do_lower_case: true`; with
    // an uncased BERT normaliser behind it the ids cannot change.
    let c = cases();
    let (cands, _) = inputs(&c);
    let texts: Vec<&str> = cands.iter().map(String::as_str).collect();
    let dir = testkit::scratch("fense-lowercase");
    copy_dir(&root().join("sbert"), &dir);
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 128, "do_lower_case": true}"#,
    )
    .unwrap();
    let sb = SentenceBert::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(
        sb.token_ids(&texts).unwrap(),
        ids(&c["diagnostics"]["sbert_input_ids"])
    );
}
