//! The bootstrap's cost per metric: 1,000 synthetic tokenised captions × 5 references,
//! 1,000 resamples (the default), on all available threads.
//!
//! ```text
//! cargo run --release -p metrics --example bootstrap_cost [-- CLIPS REFS RESAMPLES]
//! ```
//!
//! Captions are drawn from a seeded vocabulary: each clip has a few scene words that its
//! references and its hypothesis mostly use, with a Zipf-like choice of common words, so
//! n-gram overlaps and document frequencies look like a captioning corpus.

use std::time::Instant;

use metrics::bootstrap::{replicates, Bleu, BootstrapOptions, CiderD, Mean, Statistic};
use rng::Rng;

const COMMON: [&str; 24] = [
    "a",
    "the",
    "is",
    "and",
    "in",
    "of",
    "while",
    "with",
    "on",
    "as",
    "by",
    "to",
    "loudly",
    "softly",
    "background",
    "distance",
    "someone",
    "people",
    "then",
    "briefly",
    "nearby",
    "outside",
    "inside",
    "repeatedly",
];

fn word(rng: &mut Rng, scene: &[String]) -> String {
    if rng.next_f64() < 0.55 {
        scene[rng.below(scene.len() as u64) as usize].clone()
    } else {
        // Zipf-like: low indices much more often.
        let u = rng.next_f64();
        COMMON[((u * u * u) * COMMON.len() as f64) as usize].to_string()
    }
}

fn sentence(rng: &mut Rng, scene: &[String]) -> String {
    let len = 7 + rng.below(8) as usize;
    (0..len)
        .map(|_| word(rng, scene))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("CLIPS REFS RESAMPLES as integers"))
        .collect();
    let clips = args.first().copied().unwrap_or(1000);
    let refs_per_clip = args.get(1).copied().unwrap_or(5);
    let resamples = args.get(2).copied().unwrap_or(1000);

    let mut rng = Rng::new(2024);
    let (mut hyps, mut refs) = (Vec::new(), Vec::new());
    for _ in 0..clips {
        let scene: Vec<String> = (0..5).map(|_| format!("w{}", rng.below(800))).collect();
        hyps.push(sentence(&mut rng, &scene));
        refs.push(
            (0..refs_per_clip)
                .map(|_| sentence(&mut rng, &scene))
                .collect::<Vec<_>>(),
        );
    }
    let per_clip: Vec<f64> = (0..clips).map(|_| rng.next_f64()).collect();
    let opts = BootstrapOptions {
        resamples,
        ..Default::default()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{clips} captions × {refs_per_clip} references, {resamples} resamples, {threads} threads"
    );

    let t = Instant::now();
    let bleu = Bleu::new(&hyps, &refs).unwrap();
    let bleu_setup = t.elapsed();
    let t = Instant::now();
    let cider = CiderD::new(&hyps, &refs).unwrap();
    let cider_setup = t.elapsed();
    let mean = Mean(&per_clip);
    let bleu4 = bleu.order(4).unwrap();
    let orders: Vec<_> = (1..=4).map(|k| bleu.order(k).unwrap()).collect();

    let time = |stats: &[&dyn Statistic]| {
        let t = Instant::now();
        let reps = replicates(stats, opts.plan()).unwrap();
        assert_eq!(reps[0].len(), resamples);
        t.elapsed().as_secs_f64() * 1e3
    };
    let rows: Vec<(&str, f64, f64)> = vec![
        (
            "mean of per-clip scores (ROUGE-L, SPICE, accuracy)",
            0.0,
            time(&[&mean]),
        ),
        (
            "BLEU-4 (pooled clip statistics)",
            bleu_setup.as_secs_f64() * 1e3,
            time(&[&bleu4]),
        ),
        (
            "BLEU-1..4 together",
            bleu_setup.as_secs_f64() * 1e3,
            time(
                &orders
                    .iter()
                    .map(|o| o as &dyn Statistic)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "CIDEr-D (resampled document frequencies)",
            cider_setup.as_secs_f64() * 1e3,
            time(&[&cider]),
        ),
    ];
    println!("| statistic | setup ms | {resamples} resamples ms |\n|---|---|---|");
    for (name, setup, run) in rows {
        println!("| {name} | {setup:.1} | {run:.1} |");
    }
    // Where the point estimates fall in their bootstrap distributions: CIDEr-D's replicates
    // sit lower, because a clip drawn twice counts twice in the document frequencies.
    let reps = replicates(&[&bleu4, &cider, &mean], opts.plan()).unwrap();
    println!("\n| statistic | point | median of replicates | 95% interval |\n|---|---|---|---|");
    for ((name, stat), r) in [
        ("BLEU-4", &bleu4 as &dyn Statistic),
        ("CIDEr-D", &cider),
        ("mean", &mean),
    ]
    .into_iter()
    .zip(&reps)
    {
        let i = metrics::bootstrap::percentile_interval(r, 0.95).unwrap();
        let m = metrics::bootstrap::percentile_interval(r, 1e-9).unwrap();
        println!(
            "| {name} | {:.4} | {:.4} | [{:.4}, {:.4}] |",
            stat.full(),
            m.low,
            i.low,
            i.high
        );
    }
    // The same CIDEr-D the slow way (scoring each resampled corpus from scratch), on a few
    // resamples, for comparison.
    let few = 10.min(resamples);
    let t = Instant::now();
    for b in 0..few {
        let idx = metrics::bootstrap::resample_indices(0, b, clips);
        let h: Vec<String> = idx.iter().map(|&i| hyps[i].clone()).collect();
        let r: Vec<Vec<String>> = idx.iter().map(|&i| refs[i].clone()).collect();
        metrics::cider_d::cider_d(&h, &r).unwrap();
    }
    let naive = t.elapsed().as_secs_f64() * 1e3 / few as f64;
    println!(
        "\nCIDEr-D rescored from scratch per resample (one thread): {naive:.1} ms per resample, \
         {:.0} ms for {resamples}",
        naive * resamples as f64
    );
}
