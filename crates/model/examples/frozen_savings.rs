//! What the frozen-weight matmul saves: forward + backward through a stack of LoRA'd linear
//! layers with the weight frozen, once with `model::frozen::frozen_matmul` (backward: the
//! input's gradient only) and once with candle's matmul (backward: also the weight's full
//! gradient, computed and thrown away). Each variant runs in its own process so its peak RSS
//! is its own.
//!
//! `cargo run --release -p model --example frozen_savings` (prints time and peak memory of both)

use std::time::Instant;

use candle_core::{Device, Tensor, Var};

const LAYERS: usize = 8;
const DIM: usize = 1024;
const ROWS: usize = 8 * 512;
const RANK: usize = 8;

fn run(frozen: bool) -> candle_core::Result<f64> {
    let dev = Device::Cpu;
    let ws: Vec<Tensor> = (0..LAYERS)
        .map(|_| Tensor::randn(0f32, 0.02, (DIM, DIM), &dev))
        .collect::<candle_core::Result<_>>()?;
    let loras: Vec<(Var, Var)> = (0..LAYERS)
        .map(|_| {
            Ok((
                Var::randn(0f32, 0.02, (RANK, DIM), &dev)?,
                Var::randn(0f32, 0.02, (DIM, RANK), &dev)?,
            ))
        })
        .collect::<candle_core::Result<_>>()?;
    let x0 = Tensor::randn(0f32, 1.0, (ROWS, DIM), &dev)?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let mut x = x0.clone();
        for (w, (a, b)) in ws.iter().zip(&loras) {
            let y = if frozen {
                model::frozen::frozen_matmul(&x, w)?
            } else {
                x.matmul(&w.t()?)?
            };
            let delta = x.matmul(&a.as_tensor().t()?)?.matmul(&b.as_tensor().t()?)?;
            x = (y + delta)?;
        }
        let g = x.sqr()?.mean_all()?.backward()?;
        assert!(g.get(loras[0].0.as_tensor()).is_some());
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(which) = std::env::args().nth(1) {
        let secs = run(which == "frozen")?;
        println!("{secs} {}", peak_rss_mb());
        return Ok(());
    }
    let me = std::env::current_exe()?;
    let mut out = Vec::new();
    for which in ["frozen", "plain"] {
        let o = std::process::Command::new(&me).arg(which).output()?;
        let text = String::from_utf8(o.stdout)?;
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        println!(
            "{which:>6}: forward+backward {:.3} s, peak RSS {:.0} MB",
            v[0], v[1]
        );
        out.push(v);
    }
    println!(
        "frozen-weight matmul: {:.0}% less time, {:.0}% less peak memory ({LAYERS} layers {DIM}x{DIM}, {ROWS} rows, LoRA r {RANK})",
        100.0 * (1.0 - out[0][0] / out[1][0]),
        100.0 * (1.0 - out[0][1] / out[1][1])
    );
    Ok(())
}
