//! Scores a JSON file of captions with `metrics::score_captions` and prints the scores and
//! the time taken, as JSON (used by `scripts/bench_metrics.py`).
//!
//!     cargo run --release -p metrics --example score_json -- captions.json [--per-clip] [--stages]
//!
//! Input: `{"predictions": [str, ...], "references": [[str, ...], ...]}`. Output: corpus
//! scores, `elapsed_s` of `score_captions` (tokenisation + all metrics, file I/O excluded),
//! per-clip scores with `--per-clip`, and with `--stages` the same work done again stage by
//! stage, timed in `stages_s`.

use std::error::Error;
use std::time::Instant;

use metrics::tokenize::tokenize_captions;
use metrics::{bleu, cider_d, rouge_l, score_captions};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Input {
    predictions: Vec<String>,
    references: Vec<Vec<String>>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: score_json FILE.json [--per-clip] [--stages]";
    let path = args.iter().find(|a| !a.starts_with("--")).ok_or(usage)?;
    let per_clip = args.iter().any(|a| a == "--per-clip");
    let stages = args.iter().any(|a| a == "--stages");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let input: Input = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;

    let start = Instant::now();
    let scores = score_captions(&input.predictions, &input.references)?;
    let elapsed = start.elapsed().as_secs_f64();

    let c = &scores.corpus;
    let mut out = json!({
        "clips": input.predictions.len(),
        "corpus": {"bleu": c.bleu, "rouge_l": c.rouge_l, "cider_d": c.cider_d},
        "elapsed_s": elapsed,
    });
    if per_clip {
        out["per_clip"] = json!({
            "bleu": scores.per_clip.iter().map(|s| s.bleu).collect::<Vec<_>>(),
            "rouge_l": scores.per_clip.iter().map(|s| s.rouge_l).collect::<Vec<_>>(),
            "cider_d": scores.per_clip.iter().map(|s| s.cider_d).collect::<Vec<_>>(),
        });
    }
    if stages {
        out["stages_s"] = stage_times(&input)?;
    }
    println!("{out}");
    Ok(())
}

/// The work of `score_captions` again, stage by stage, timed.
fn stage_times(input: &Input) -> Result<serde_json::Value, Box<dyn Error>> {
    let t = Instant::now();
    let hyps = tokenize_captions(&input.predictions);
    let flat: Vec<&str> = input
        .references
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut tokens = tokenize_captions(&flat).into_iter();
    let refs: Vec<Vec<String>> = input
        .references
        .iter()
        .map(|r| tokens.by_ref().take(r.len()).collect())
        .collect();
    let t_tok = t.elapsed().as_secs_f64();
    let t = Instant::now();
    bleu::bleu(&hyps, &refs)?;
    let t_bleu = t.elapsed().as_secs_f64();
    let t = Instant::now();
    rouge_l::rouge_l(&hyps, &refs)?;
    let t_rouge = t.elapsed().as_secs_f64();
    let t = Instant::now();
    cider_d::cider_d(&hyps, &refs)?;
    let t_cider = t.elapsed().as_secs_f64();
    Ok(json!({"tokenize": t_tok, "bleu": t_bleu, "rouge_l": t_rouge, "cider_d": t_cider}))
}
