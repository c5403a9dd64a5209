//! A new checkpoint from `model::init`: loadable, deterministic, tokenizer with Qwen specials.

use candle_core::{DType, Device};
use model::init::{write_new_checkpoint, AudioSpec, InitSpec, TextSpec};
use model::prompt::Message;
use model::Model;

fn spec(seed: u64) -> InitSpec {
    InitSpec {
        audio: AudioSpec {
            num_mel_bins: 80,
            d_model: 32,
            encoder_layers: 1,
            encoder_attention_heads: 2,
            encoder_ffn_dim: 64,
        },
        text: TextSpec {
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            intermediate_size: 64,
            tie_word_embeddings: true,
            rope_theta: 10_000.0,
            max_position_embeddings: 4096,
            vocab_size: None,
        },
        bpe_vocab: 400,
        init_std: 0.02,
        seed,
        dtype: model::device::DTypeSpec::F32,
    }
}

fn texts() -> Vec<String> {
    [
        "a bell rings twice",
        "a low hum continues while a bell rings",
        "a dog barks three times",
        "laughter",
        "cough",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_new_checkpoint_loads_runs_and_is_reproducible() {
    let (a, b, c) = (
        testkit::scratch("init-a"),
        testkit::scratch("init-b"),
        testkit::scratch("init-c"),
    );
    let vocab = write_new_checkpoint(&spec(1), &texts(), &a).unwrap();
    write_new_checkpoint(&spec(1), &texts(), &b).unwrap();
    write_new_checkpoint(&spec(2), &texts(), &c).unwrap();
    for f in ["tokenizer.json", "model.safetensors", "config.json"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert!(
        std::fs::read(a.join("model.safetensors")).unwrap()
            != std::fs::read(c.join("model.safetensors")).unwrap()
    );

    let m = Model::from_source(a.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap();
    assert_eq!(m.tokenizer.vocab_size(), vocab);
    assert_eq!(m.text_config().vocab_size, vocab);
    // The six Qwen specials follow the BPE vocabulary, in the reference's order.
    let s = m.tokenizer.special;
    assert_eq!(
        (
            s.endoftext,
            s.im_start,
            s.im_end,
            m.tokenizer.token_to_id("<|AUDIO|>").unwrap()
        ),
        (
            vocab as u32 - 6,
            vocab as u32 - 5,
            vocab as u32 - 4,
            vocab as u32 - 3
        )
    );
    let text = "a bell rings";
    let ids = m.tokenizer.encode(text).unwrap();
    assert!(
        ids.len() <= 6,
        "{ids:?}: frequent words should be whole tokens"
    );
    assert_eq!(m.tokenizer.decode(&ids, true).unwrap(), text);

    let clip = audio::load_mono_16k(&testkit::tiny_clip("tone.wav")).unwrap();
    let f = m.features(&clip, audio::LongAudio::Error).unwrap();
    let seq = m
        .chat_sequence(
            &[Message::user_with_audio(
                1,
                "Describe the audio in a sentence.",
            )],
            vec![f],
        )
        .unwrap();
    let logits = m.prompt_logits(&seq).unwrap();
    assert_eq!(logits.dims(), &[seq.ids.len(), vocab]);
    // Random init with std 0.02: logits are small and finite.
    let max = testkit::max_abs(&logits);
    assert!(max.is_finite() && max < 5.0, "{max}");
}

/// `--no-weights` with a padded vocabulary: the config (padded rows), tokenizer and side files
/// but no weights, and a model built over it with weights drawn on the device.
#[test]
fn a_checkpoint_without_weights_builds_with_random_weights_and_a_padded_vocabulary() {
    let d = testkit::scratch("init-no-weights");
    let mut s = spec(1);
    s.text.vocab_size = Some(1000);
    let vocab = model::init::write_checkpoint_files(&s, &texts(), &d, false).unwrap();
    assert_eq!(vocab, 1000);
    assert!(!d.join("model.safetensors").exists());
    assert!(model::checkpoint::local(&d).is_err(), "no weights to load");
    let files = model::checkpoint::without_weights(&d).unwrap();
    assert!(files.weights.is_empty());
    let vb = model::init::random_var_builder(0.02, 1, DType::F32, &Device::Cpu);
    let m = Model::build(&files, vb, &model::lora::NoAdapters).unwrap();
    assert_eq!(m.text_config().vocab_size, 1000);
    assert!(m.tokenizer.vocab_size() < 1000);
    let clip = audio::load_mono_16k(&testkit::tiny_clip("tone.wav")).unwrap();
    let f = m.features(&clip, audio::LongAudio::Error).unwrap();
    let seq = m
        .chat_sequence(&[Message::user_with_audio(1, "What is it?")], vec![f])
        .unwrap();
    let logits = m.prompt_logits(&seq).unwrap();
    assert_eq!(logits.dims(), &[seq.ids.len(), 1000]);
    let max = testkit::max_abs(&logits);
    assert!(max.is_finite() && max > 0.0, "{max}");
    // A directory with weights is not taken for one without.
    write_new_checkpoint(&spec(1), &texts(), &d).unwrap();
    assert!(model::checkpoint::without_weights(&d).is_err());
}
