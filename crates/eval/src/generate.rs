//! `eval generate`: prompt + audio → text, with the reference chat template.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};
use model::device::{DTypeSpec, DeviceSpec};
use model::generate::{generate, GenerateOptions, Strategy};
use model::prompt::Message;
use model::Qwen2AudioModel;

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint directory or Hugging Face hub id (Qwen2AudioForConditionalGeneration layout).
    #[arg(long)]
    model: String,
    /// PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors).
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Audio file; repeat for several clips (Audio 1, Audio 2, … in the prompt).
    #[arg(long)]
    audio: Vec<PathBuf>,
    /// The user's text. With --raw, the whole prompt, one <|audio_bos|><|AUDIO|><|audio_eos|> per clip.
    #[arg(long)]
    prompt: String,
    /// Use --prompt as written instead of the chat template.
    #[arg(long)]
    raw: bool,
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    #[arg(long, default_value_t = 0)]
    min_new_tokens: usize,
    /// Sample with this temperature (greedy when absent).
    #[arg(long)]
    temperature: Option<f64>,
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Beam search with this many beams.
    #[arg(long)]
    num_beams: Option<usize>,
    /// Clips longer than 30 s.
    #[arg(long, value_enum, default_value_t = audio::LongAudio::Truncate)]
    long_audio: audio::LongAudio,
    /// Also write the prompt's forward pass: `logits` [T, V] f32 and `input_ids` [T] i64.
    #[arg(long)]
    dump_logits: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    #[arg(long, default_value = "f32")]
    dtype: DTypeSpec,
}

pub fn run(a: Args) -> Result<()> {
    let device = a.device.open()?;
    let model =
        Qwen2AudioModel::from_source(&a.model, &device, a.dtype.into(), a.adapter.as_deref())
            .with_context(|| format!("loading {}", a.model))?;
    let long = a.long_audio;
    let mut clips = Vec::with_capacity(a.audio.len());
    for path in &a.audio {
        let samples = audio::load_mono_16k(path)?;
        let clip = model
            .features(&samples, long)
            .with_context(|| format!("features of {}", path.display()))?;
        if let Some(n) = clip.truncated_from {
            eprintln!(
                "warning: {} is {:.1} s long; only its first 30 s are used",
                path.display(),
                n as f64 / audio::SAMPLE_RATE as f64
            );
        }
        clips.push(clip);
    }
    let seq = if a.raw {
        model.sequence(&a.prompt, clips)?
    } else {
        model.chat_sequence(&[Message::user_with_audio(a.audio.len(), &a.prompt)], clips)?
    };
    if let Some(out) = &a.dump_logits {
        let logits = model
            .prompt_logits(&seq)?
            .to_device(&candle_core::Device::Cpu)?;
        let ids: Vec<i64> = seq.ids.iter().map(|&x| x as i64).collect();
        let n = ids.len();
        let tensors = HashMap::from([
            ("logits".to_string(), logits.to_dtype(DType::F32)?),
            (
                "input_ids".to_string(),
                Tensor::from_vec(ids, n, &candle_core::Device::Cpu)?,
            ),
        ]);
        crate::output::save_safetensors(&tensors, out)?;
        eprintln!(
            "wrote logits [{n}, {}] to {}",
            model.config.text_config.vocab_size,
            out.display()
        );
    }
    let strategy = match (a.num_beams, a.temperature) {
        (Some(_), Some(_)) => bail!("--num-beams and --temperature exclude each other"),
        (Some(n), None) => Strategy::Beam {
            num_beams: n,
            length_penalty: 1.0,
        },
        (None, Some(t)) => Strategy::Sample {
            temperature: t,
            top_p: a.top_p,
            seed: a.seed,
        },
        (None, None) => Strategy::Greedy,
    };
    let opts = GenerateOptions {
        max_new_tokens: a.max_new_tokens,
        min_new_tokens: a.min_new_tokens,
        strategy,
        eos: vec![],
    };
    let out = generate(&model, std::slice::from_ref(&seq), &opts)?;
    let text = model.tokenizer.decode(&out[0], true)?;
    println!("{text}");
    Ok(())
}
