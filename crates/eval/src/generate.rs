//! `eval generate`: prompt + audio (Qwen2-Audio) or images (Qwen2-VL) → text, with the
//! reference chat template.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};
use model::device::{DTypeSpec, DeviceSpec};
use model::generate::{generate, GenerateOptions, Strategy};
use model::prompt::{Message, Part, Role};
use model::{Inputs, Model};

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint directory or Hugging Face hub id (Qwen2-Audio or Qwen2-VL).
    #[arg(long)]
    model: String,
    /// PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors).
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Audio file; repeat for several clips (Audio 1, Audio 2, … in the prompt).
    #[arg(long)]
    audio: Vec<PathBuf>,
    /// Image file (PNG, JPEG, WebP) for a Qwen2-VL model; repeat for several, in prompt order.
    #[arg(long)]
    image: Vec<PathBuf>,
    /// Video (MP4/H.264 file, or a folder of frames) for a Qwen2-VL model; repeat for several,
    /// after the images.
    #[arg(long)]
    video: Vec<PathBuf>,
    #[command(flatten)]
    video_options: crate::cli::common::VideoArgs,
    /// The user's text. With --raw, the whole prompt: one <|audio_bos|><|AUDIO|><|audio_eos|> per
    /// clip, one <|vision_start|><|image_pad|><|vision_end|> per image (<|video_pad|> per video).
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
    let model = Model::from_source(&a.model, &device, a.dtype.into(), a.adapter.as_deref())
        .with_context(|| format!("loading {}", a.model))?;
    let mut inputs = Inputs::default();
    if !a.audio.is_empty() {
        let long = a.long_audio;
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
            inputs.audio.push(clip);
        }
    }
    for path in &a.image {
        inputs.images.push(model.image(path)?);
    }
    let video_options = a.video_options.options()?;
    for path in &a.video {
        inputs.videos.push(model.video(path, &video_options)?);
    }
    let seq = if a.raw {
        model.sequence(&a.prompt, inputs)?
    } else {
        // Media first, then the question, as in the reference's examples.
        let mut parts = vec![Part::Audio; a.audio.len()];
        parts.extend(vec![Part::Image; a.image.len()]);
        parts.extend(vec![Part::Video; a.video.len()]);
        parts.push(Part::Text(a.prompt.clone()));
        let user = Message {
            role: Role::User,
            parts,
        };
        model.chat_sequence(&[user], inputs)?
    };
    if let Some(out) = &a.dump_logits {
        let logits = model
            .prompt_logits(&seq)?
            .to_device(&candle_core::Device::Cpu)?;
        write_logits(out, logits, &seq.ids)?;
    }
    let opts = options(&a)?;
    let out = generate(&model, std::slice::from_ref(&seq), &opts)?;
    let text = model.tokenizer.decode(&out[0], true)?;
    println!("{text}");
    Ok(())
}

fn write_logits(out: &std::path::Path, logits: Tensor, ids: &[u32]) -> Result<()> {
    let ids: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
    let n = ids.len();
    let v = logits.dim(1)?;
    let tensors = HashMap::from([
        ("logits".to_string(), logits.to_dtype(DType::F32)?),
        (
            "input_ids".to_string(),
            Tensor::from_vec(ids, n, &candle_core::Device::Cpu)?,
        ),
    ]);
    crate::output::save_safetensors(&tensors, out)?;
    eprintln!("wrote logits [{n}, {v}] to {}", out.display());
    Ok(())
}

fn options(a: &Args) -> Result<GenerateOptions> {
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
    Ok(GenerateOptions {
        max_new_tokens: a.max_new_tokens,
        min_new_tokens: a.min_new_tokens,
        strategy,
        eos: vec![],
    })
}
