//! FENSE of a JSON corpus, with timings: the Rust side of `scripts/bench_fense.py`.
//!
//! ```text
//! cargo run --release -p fense --example fense_json -- \
//!     --sbert DIR --echecker FILE.ckpt [--echecker-base DIR] [--batch-size 32] \
//!     --input corpus.json [--output scores.json]
//! ```
//!
//! `corpus.json`: `{"candidates": [..], "references": [[..], ..]}`. Prints one JSON line:
//! load / similarity / fluency / total seconds and the corpus scores; `--output` also gets the
//! per-candidate FENSE, similarity and P(error). CPU threads: `RAYON_NUM_THREADS`.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use fense::{fense_from_parts, Fense, FenseModels, FenseOptions};

#[derive(serde::Deserialize)]
struct Corpus {
    candidates: Vec<String>,
    references: Vec<Vec<String>>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut sbert, mut ckpt, mut base, mut input, mut output) = (None, None, None, None, None);
    let mut batch_size = 32usize;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--sbert" => sbert = Some(PathBuf::from(val()?)),
            "--echecker" => ckpt = Some(PathBuf::from(val()?)),
            "--echecker-base" => base = Some(PathBuf::from(val()?)),
            "--input" => input = Some(PathBuf::from(val()?)),
            "--output" => output = Some(PathBuf::from(val()?)),
            "--batch-size" => batch_size = val()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let models = FenseModels {
        sbert: sbert.ok_or("--sbert is required")?,
        echecker: ckpt.ok_or("--echecker is required")?,
        echecker_base: base,
    };
    let input = input.ok_or("--input is required")?;
    let corpus: Corpus = serde_json::from_str(&std::fs::read_to_string(&input)?)?;
    let options = FenseOptions {
        batch_size,
        ..FenseOptions::default()
    };

    let t0 = Instant::now();
    let f = Fense::load(&models, &Device::Cpu, options)?;
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let sims = f
        .sbert()
        .similarity(&corpus.candidates, &corpus.references, batch_size)?;
    let sim_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let probs = f.fluency(&corpus.candidates)?;
    let flu_s = t2.elapsed().as_secs_f64();
    let s = fense_from_parts(&sims, &probs, options.error_threshold, options.penalty);

    let summary = serde_json::json!({
        "load_s": load_s,
        "similarity_s": sim_s,
        "fluency_s": flu_s,
        "score_s": sim_s + flu_s,
        "candidates": corpus.candidates.len(),
        "references": corpus.references.iter().map(Vec::len).sum::<usize>(),
        "fense": s.fense,
        "sbert_sim": s.sbert_sim,
        "fer": s.fer,
    });
    println!("{summary}");
    if let Some(out) = output {
        let per = serde_json::json!({
            "fense": s.sentences.iter().map(|x| x.fense).collect::<Vec<_>>(),
            "sbert_sim": s.sentences.iter().map(|x| x.sbert_sim).collect::<Vec<_>>(),
            "error_prob": s.sentences.iter().map(|x| x.fluency.error()).collect::<Vec<_>>(),
            "summary": summary,
        });
        std::fs::write(out, serde_json::to_string(&per)?)?;
    }
    Ok(())
}
