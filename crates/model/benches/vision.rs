//! Qwen2-VL vision tower forward passes, CPU f32: the committed tiny tower (embed 32 × 2
//! blocks) and a random mid-size tower (embed 384 × 4 blocks, 6 heads, MLP ×4, merger → 512)
//! on the fixture's `large` image (10×16 patches → 40 tokens) and on a 448×448 image's worth
//! of patches (32×32 → 256 tokens).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use criterion::{criterion_group, criterion_main, Criterion};
use model::lora::NoAdapters;
use model::vision::{VisionConfig, VisionTower};

fn fixtures() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/vision"
    ))
}

fn tiny() -> VisionTower {
    let dir = fixtures().join("model");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let cfg: VisionConfig = serde_json::from_value(cfg["vision_config"].clone()).unwrap();
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    VisionTower::load(&cfg, vb.pp("visual"), &NoAdapters).unwrap()
}

/// A random tower of the bench's mid size.
fn mid() -> VisionTower {
    let cfg = VisionConfig {
        depth: 4,
        embed_dim: 384,
        hidden_size: 512,
        num_heads: 6,
        ..VisionConfig::default()
    };
    let dev = Device::Cpu;
    let (e, m, w) = (
        cfg.embed_dim,
        cfg.mlp_dim(),
        cfg.embed_dim * cfg.merge_unit(),
    );
    let mut shapes: Vec<(String, Vec<usize>)> =
        vec![("patch_embed.proj.weight".into(), vec![e, 3, 2, 14, 14])];
    for i in 0..cfg.depth {
        let p = format!("blocks.{i}");
        for (name, shape) in [
            ("attn.qkv.weight", vec![3 * e, e]),
            ("attn.qkv.bias", vec![3 * e]),
            ("attn.proj.weight", vec![e, e]),
            ("attn.proj.bias", vec![e]),
            ("mlp.fc1.weight", vec![m, e]),
            ("mlp.fc1.bias", vec![m]),
            ("mlp.fc2.weight", vec![e, m]),
            ("mlp.fc2.bias", vec![e]),
            ("norm1.weight", vec![e]),
            ("norm1.bias", vec![e]),
            ("norm2.weight", vec![e]),
            ("norm2.bias", vec![e]),
        ] {
            shapes.push((format!("{p}.{name}"), shape));
        }
    }
    for (name, shape) in [
        ("merger.ln_q.weight", vec![e]),
        ("merger.ln_q.bias", vec![e]),
        ("merger.mlp.0.weight", vec![w, w]),
        ("merger.mlp.0.bias", vec![w]),
        ("merger.mlp.2.weight", vec![cfg.hidden_size, w]),
        ("merger.mlp.2.bias", vec![cfg.hidden_size]),
    ] {
        shapes.push((name.into(), shape));
    }
    let tensors: HashMap<String, Tensor> = shapes
        .into_iter()
        .map(|(k, s)| {
            let t = Tensor::randn(0f32, 0.05, s, &dev).unwrap();
            let t = if k.contains("norm") || k.contains("ln_q") {
                (t + 1.0).unwrap()
            } else {
                t
            };
            (k, t)
        })
        .collect();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &dev);
    VisionTower::load(&cfg, vb, &NoAdapters).unwrap()
}

fn bench(c: &mut Criterion) {
    let r = candle_core::safetensors::load(fixtures().join("reference.safetensors"), &Device::Cpu)
        .unwrap();
    let large = r["large.pixel_values"].clone();
    let large_grid = [[1usize, 10, 16]];
    assert_eq!(large.dim(0).unwrap(), 160);
    let img448 = Tensor::randn(0f32, 1.0, (32 * 32, 1176), &Device::Cpu).unwrap();
    let grid448 = [[1usize, 32, 32]];

    let mut g = c.benchmark_group("vision");
    g.sample_size(10);
    let t = tiny();
    g.bench_function("tiny_large", |b| {
        b.iter(|| t.forward(&large, &large_grid).unwrap())
    });
    let t = mid();
    g.bench_function("mid_large", |b| {
        b.iter(|| t.forward(&large, &large_grid).unwrap())
    });
    g.bench_function("mid_448x448", |b| {
        b.iter(|| t.forward(&img448, &grid448).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
