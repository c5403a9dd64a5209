//! Charts of a run: `loss.png` in the run directory, the total, per-task and validation loss
//! by step, read back from `metrics.jsonl` and drawn by `eval::chart::plot_lines`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

/// Draws `run_dir/loss.png` from `run_dir/metrics.jsonl` (nothing when there is no record).
pub fn plot_run(run_dir: &Path) -> Result<()> {
    let text = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap_or_default();
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        if let Some(loss) = v["loss"].as_f64() {
            series.entry("total".into()).or_default().push((step, loss));
        }
        if let Some(tasks) = v["tasks"].as_object() {
            for (k, t) in tasks {
                if let Some(l) = t["loss"].as_f64() {
                    series.entry(k.clone()).or_default().push((step, l));
                }
            }
        }
        if let Some(vl) = v["valid_loss"].as_object() {
            for (k, l) in vl {
                if let Some(l) = l.as_f64() {
                    series
                        .entry(format!("valid {k}"))
                        .or_default()
                        .push((step, l));
                }
            }
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = series.into_iter().collect();
    eval::chart::plot_lines(
        &run_dir.join("loss.png"),
        &series,
        "training loss",
        ("step", "loss"),
    )?;
    Ok(())
}
