//! Encoder and decoder forward passes on a randomly initialised mid-size Qwen2-Audio
//! (encoder d 384 × 4 layers, decoder hidden 512 × 8 layers, vocab of the tiny tokenizer),
//! CPU f32: the encoder on 5 s and 30 s clips (it only runs the frames a clip needs), the
//! decoder's prefill of 300 tokens, and one cached decoding step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use model::decoder::KvCache;
use model::Qwen2AudioModel;

const D_AUDIO: usize = 384;
const AUDIO_LAYERS: usize = 4;
const HIDDEN: usize = 512;
const LAYERS: usize = 8;
const FFN: usize = 1536;
const INTER: usize = 1408;

fn write_model(dir: &Path) {
    let tiny = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/tiny/model"
    ));
    std::fs::create_dir_all(dir).unwrap();
    for f in ["tokenizer.json", "generation_config.json"] {
        std::fs::copy(tiny.join(f), dir.join(f)).unwrap();
    }
    let vocab = 446;
    let cfg = serde_json::json!({
        "audio_config": {"d_model": D_AUDIO, "encoder_layers": AUDIO_LAYERS, "encoder_attention_heads": 6,
                         "encoder_ffn_dim": FFN, "num_mel_bins": 128},
        "text_config": {"hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": 8,
                        "num_key_value_heads": 4, "intermediate_size": INTER, "vocab_size": vocab},
        "audio_token_index": 443
    });
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let dev = Device::Cpu;
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let mut put = |k: String, shape: &[usize]| {
        t.insert(k, Tensor::randn(0f32, 0.05, shape, &dev).unwrap());
    };
    let a = "audio_tower";
    put(format!("{a}.conv1.weight"), &[D_AUDIO, 128, 3]);
    put(format!("{a}.conv1.bias"), &[D_AUDIO]);
    put(format!("{a}.conv2.weight"), &[D_AUDIO, D_AUDIO, 3]);
    put(format!("{a}.conv2.bias"), &[D_AUDIO]);
    put(format!("{a}.embed_positions.weight"), &[1500, D_AUDIO]);
    {
        let n = "layer_norm";
        put(format!("{a}.{n}.weight"), &[D_AUDIO]);
        put(format!("{a}.{n}.bias"), &[D_AUDIO]);
    }
    for i in 0..AUDIO_LAYERS {
        let p = format!("{a}.layers.{i}");
        for m in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            put(format!("{p}.self_attn.{m}.weight"), &[D_AUDIO, D_AUDIO]);
            if m != "k_proj" {
                put(format!("{p}.self_attn.{m}.bias"), &[D_AUDIO]);
            }
        }
        for n in ["self_attn_layer_norm", "final_layer_norm"] {
            put(format!("{p}.{n}.weight"), &[D_AUDIO]);
            put(format!("{p}.{n}.bias"), &[D_AUDIO]);
        }
        put(format!("{p}.fc1.weight"), &[FFN, D_AUDIO]);
        put(format!("{p}.fc1.bias"), &[FFN]);
        put(format!("{p}.fc2.weight"), &[D_AUDIO, FFN]);
        put(format!("{p}.fc2.bias"), &[D_AUDIO]);
    }
    put(
        "multi_modal_projector.linear.weight".into(),
        &[HIDDEN, D_AUDIO],
    );
    put("multi_modal_projector.linear.bias".into(), &[HIDDEN]);
    let l = "language_model";
    put(format!("{l}.model.embed_tokens.weight"), &[vocab, HIDDEN]);
    put(format!("{l}.model.norm.weight"), &[HIDDEN]);
    put(format!("{l}.lm_head.weight"), &[vocab, HIDDEN]);
    let kv = HIDDEN / 2;
    for i in 0..LAYERS {
        let p = format!("{l}.model.layers.{i}");
        for (m, o) in [("q_proj", HIDDEN), ("k_proj", kv), ("v_proj", kv)] {
            put(format!("{p}.self_attn.{m}.weight"), &[o, HIDDEN]);
            put(format!("{p}.self_attn.{m}.bias"), &[o]);
        }
        put(format!("{p}.self_attn.o_proj.weight"), &[HIDDEN, HIDDEN]);
        put(format!("{p}.mlp.gate_proj.weight"), &[INTER, HIDDEN]);
        put(format!("{p}.mlp.up_proj.weight"), &[INTER, HIDDEN]);
        put(format!("{p}.mlp.down_proj.weight"), &[HIDDEN, INTER]);
        put(format!("{p}.input_layernorm.weight"), &[HIDDEN]);
        put(format!("{p}.post_attention_layernorm.weight"), &[HIDDEN]);
    }
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("bench-model-{}", std::process::id()));
    write_model(&dir);
    let model = Qwen2AudioModel::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None)
        .unwrap();
    let clip = |secs: usize| {
        let x: Vec<f32> = (0..secs * 16_000)
            .map(|i| ((i as f32) * 0.05).sin() * 0.3)
            .collect();
        model.features(&x, audio::LongAudio::Error).unwrap()
    };
    let (c5, c30) = (clip(5), clip(30));
    let mut g = c.benchmark_group("encoder");
    g.sample_size(10);
    g.bench_function("5s", |b| b.iter(|| model.encode(&c5).unwrap()));
    g.bench_function("30s", |b| b.iter(|| model.encode(&c30).unwrap()));
    g.finish();

    let ids: Vec<u32> = (0..300u32).map(|i| i % 400).collect();
    let seq = model::model::Sequence { ids, audio: vec![] };
    let batch = model.batch(std::slice::from_ref(&seq)).unwrap();
    let mut g = c.benchmark_group("decoder");
    g.sample_size(10);
    g.bench_function("prefill_300", |b| {
        b.iter(|| model.forward_hidden(&batch, None).unwrap())
    });
    let mut cache = KvCache::new(model.decoder.n_layers());
    model.forward_hidden(&batch, Some(&mut cache)).unwrap();
    let tok = Tensor::new(&[[7u32]], &Device::Cpu).unwrap();
    let pos = Tensor::new(&[[300u32]], &Device::Cpu).unwrap();
    g.bench_function("step_after_300", |b| {
        b.iter(|| {
            let mut c = cache.clone();
            let e = model.decoder.embed(&tok).unwrap();
            let h = model.decoder.forward(&e, &pos, None, Some(&mut c)).unwrap();
            model.decoder.logits(&h).unwrap()
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
