//! Encoder and decoder forward passes on a randomly initialised mid-size Qwen2-Audio
//! (encoder d 384 × 4 layers, decoder hidden 512 × 8 layers, written by `model::init`),
//! CPU f32: the encoder on 5 s and 30 s clips (it only runs the frames a clip needs), the
//! decoder's prefill of 300 tokens, and one cached decoding step.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use model::decoder::KvCache;
use model::init::{write_new_checkpoint, AudioSpec, InitSpec, TextSpec};
use model::Model;

const D_AUDIO: usize = 384;
const AUDIO_LAYERS: usize = 4;
const HIDDEN: usize = 512;
const LAYERS: usize = 8;
const FFN: usize = 1536;
const INTER: usize = 1408;

/// A randomly initialised model of the bench's shape, written by `model::init` (its BPE
/// tokenizer trained on a line of text; the vocabulary size barely matters here).
fn write_model(dir: &Path) {
    let spec = InitSpec {
        audio: AudioSpec {
            num_mel_bins: 128,
            d_model: D_AUDIO,
            encoder_layers: AUDIO_LAYERS,
            encoder_attention_heads: 6,
            encoder_ffn_dim: FFN,
        },
        text: TextSpec {
            hidden_size: HIDDEN,
            num_hidden_layers: LAYERS,
            num_attention_heads: 8,
            num_key_value_heads: 4,
            intermediate_size: INTER,
            tie_word_embeddings: false,
            rope_theta: 10_000.0,
            max_position_embeddings: 8192,
            vocab_size: None,
        },
        bpe_vocab: 440,
        init_std: 0.05,
        seed: 1,
        dtype: model::device::DTypeSpec::F32,
    };
    let texts = vec!["a bell rings twice while a low hum continues".to_string()];
    write_new_checkpoint(&spec, &texts, dir).unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("bench-model-{}", std::process::id()));
    write_model(&dir);
    let model = Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap();
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

    let ids: Vec<u32> = (0..300u32).map(|i| i % 250).collect(); // byte tokens: always present
    let seq = model::Sequence {
        ids,
        inputs: model::Inputs::default(),
    };
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
