//! The bootstrap against numpy (`tests/fixtures/bootstrap/reference.json`, from
//! `scripts/make_bootstrap_fixture.py`: numpy draws the resample indices, and we feed the same
//! ones), the coverage of its intervals on data with a known mean, and the per-resample
//! recomputation of BLEU and CIDEr-D against the plain scorers on the resampled corpus.

use std::collections::BTreeMap;

use metrics::bleu::bleu;
use metrics::bootstrap::{
    difference_interval, interval, paired, percentile_interval, replicates, resample_indices, Bleu,
    BootstrapOptions, CiderD, Mean, Resamples, Statistic,
};
use metrics::cider_d::cider_d;
use serde::Deserialize;

#[derive(Deserialize)]
struct Level {
    confidence: f64,
    mean: [f64; 2],
    diff: [f64; 2],
}

#[derive(Deserialize)]
struct Case {
    name: String,
    a: Vec<f64>,
    b: Vec<f64>,
    indices: Vec<Vec<usize>>,
    mean_a: Vec<f64>,
    diff: Vec<f64>,
    intervals: Vec<Level>,
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[test]
fn intervals_equal_numpy_on_the_same_resamples() {
    let r: Reference = testkit::read_json_as(testkit::fixtures().join("bootstrap/reference.json"));
    assert_eq!(r.cases.len(), 3);
    let mut worst = 0.0f64;
    let mut check = |what: String, ours: f64, want: f64| {
        let err = (ours - want).abs();
        worst = worst.max(err);
        assert!(err <= 1e-12, "{what}: ours {ours} vs numpy {want}");
    };
    for c in &r.cases {
        let (a, b) = (Mean(&c.a), Mean(&c.b));
        let reps = replicates(&[&a, &b], Resamples::Given(&c.indices)).unwrap();
        for (k, (want_mean, want_diff)) in c.mean_a.iter().zip(&c.diff).enumerate() {
            check(format!("{} mean #{k}", c.name), reps[0][k], *want_mean);
            check(
                format!("{} diff #{k}", c.name),
                reps[0][k] - reps[1][k],
                *want_diff,
            );
        }
        for l in &c.intervals {
            let m = percentile_interval(&reps[0], l.confidence).unwrap();
            let d = difference_interval(&reps[0], &reps[1], l.confidence).unwrap();
            let at = format!("{} at {}", c.name, l.confidence);
            check(format!("{at} mean low"), m.low, l.mean[0]);
            check(format!("{at} mean high"), m.high, l.mean[1]);
            check(format!("{at} diff low"), d.low, l.diff[0]);
            check(format!("{at} diff high"), d.high, l.diff[1]);
        }
    }
    println!("largest difference from numpy: {worst:e}");
}

#[test]
fn percentile_intervals_cover_a_known_mean() {
    // 300 trials of n = 100 Bernoulli(0.7): the 95% interval must cover 0.7 in 90-99% of them
    // (the percentile bootstrap of a proportion covers about 93-95% at this size).
    let mut data = rng::Rng::new(7);
    let trials = 300;
    let mut covered = 0;
    for t in 0..trials {
        let x: Vec<f64> = (0..100)
            .map(|_| f64::from(u8::from(data.next_f64() < 0.7)))
            .collect();
        let opts = BootstrapOptions {
            seed: t,
            ..Default::default()
        };
        let i = interval(&Mean(&x), &opts).unwrap();
        assert!(i.low <= i.high);
        covered += usize::from(i.contains(0.7));
    }
    let rate = covered as f64 / trials as f64;
    println!("coverage of 0.7: {rate:.3}");
    assert!((0.90..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn seeded_resamples_are_the_documented_draws() {
    let x: Vec<f64> = (0..40).map(|i| f64::from(i * i % 17)).collect();
    let m = Mean(&x);
    let seeded = replicates(&[&m], Resamples::Seeded { seed: 9, count: 25 }).unwrap();
    let lists: Vec<Vec<usize>> = (0..25).map(|b| resample_indices(9, b, 40)).collect();
    let given = replicates(&[&m], Resamples::Given(&lists)).unwrap();
    assert_eq!(seeded, given);
    // The same item set on both sides: every paired difference is exactly zero.
    let p = paired(&m, &m, &BootstrapOptions::default()).unwrap();
    assert_eq!(
        (p.difference, p.interval.low, p.interval.high),
        (0.0, 0.0, 0.0)
    );
    assert!(!p.interval.excludes_zero());
}

#[derive(Deserialize)]
struct Corpus {
    predictions_tokenized: Vec<String>,
    references_tokenized: Vec<Vec<String>>,
}

/// BLEU and CIDEr-D recomputed per resample equal the plain scorers run on the resampled
/// lists (CIDEr-D's document frequencies and log N from the resample, duplicates counted).
#[test]
fn corpus_metrics_are_recomputed_on_each_resample() {
    let corpora: BTreeMap<String, Corpus> =
        testkit::read_json_as(testkit::fixtures().join("metrics/captions.json"));
    let mut checked = 0;
    for (name, c) in &corpora {
        let (hyps, refs) = (&c.predictions_tokenized, &c.references_tokenized);
        let n = hyps.len();
        let bleu_stat = Bleu::new(hyps, refs).unwrap();
        let cider_stat = CiderD::new(hyps, refs).unwrap();
        let full = bleu(hyps, refs).unwrap().corpus;
        assert_eq!(bleu_stat.on(&(0..n).collect::<Vec<_>>()), full, "{name}");
        assert_eq!(
            cider_stat.full(),
            cider_d(hyps, refs).unwrap().corpus,
            "{name}"
        );
        let mut lists: Vec<Vec<usize>> = (0..6).map(|b| resample_indices(1, b, n)).collect();
        // A resample of another size, and one clip drawn many times.
        lists.push((0..n + 3).map(|i| (i * 7) % n).collect());
        lists.push(vec![0; 4]);
        let orders: Vec<_> = (1..=4).map(|k| bleu_stat.order(k).unwrap()).collect();
        let mut stats: Vec<&dyn Statistic> = orders.iter().map(|o| o as &dyn Statistic).collect();
        stats.push(&cider_stat);
        let reps = replicates(&stats, Resamples::Given(&lists)).unwrap();
        for (b, idx) in lists.iter().enumerate() {
            let h: Vec<String> = idx.iter().map(|&i| hyps[i].clone()).collect();
            let r: Vec<Vec<String>> = idx.iter().map(|&i| refs[i].clone()).collect();
            let want_bleu = bleu(&h, &r).unwrap().corpus;
            let want_cider = cider_d(&h, &r).unwrap().corpus;
            for k in 0..4 {
                assert_eq!(
                    reps[k][b],
                    want_bleu[k],
                    "{name} resample {b} BLEU-{}",
                    k + 1
                );
            }
            let err = (reps[4][b] - want_cider).abs();
            assert!(
                err <= 1e-12 * want_cider.abs().max(1.0),
                "{name} resample {b}: CIDEr-D {} vs {want_cider}",
                reps[4][b]
            );
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked}");
    assert!(Bleu::new(&[], &[]).is_err());
    let one = ["a".to_string()];
    let one_ref = [vec!["a".to_string()]];
    assert!(Bleu::new(&one, &one_ref).unwrap().order(5).is_err());
}
