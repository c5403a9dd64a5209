//! A manifest sample → the model's input: its clips' features and the chat-templated prompt,
//! built exactly as the trainer builds a training example's prompt (optional system turn, then
//! the user turn with the clips where the prompt's `<audio>` tags are, else first).

use std::path::PathBuf;

use data::task::{PromptPart, Prompts};
use data::Sample;
use model::model::Sequence;
use model::prompt::{render_chat, Message, Part, Role};
use model::Qwen2AudioModel;

use crate::error::{Error, Result};

/// A sample ready for the model.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Prompt ids (every `<|AUDIO|>` expanded) and clip features.
    pub seq: Sequence,
    /// The chat-templated prompt text, ending with the generation prompt.
    pub templated: String,
    /// Clips longer than 30 s whose first 30 s only were used.
    pub truncated: Vec<PathBuf>,
}

/// The conversation of a sample: its system turn if it has one, then the user turn.
pub fn messages(sample: &Sample, prompts: &Prompts) -> Result<Vec<Message>> {
    let mut out = Vec::with_capacity(2);
    if let Some(sys) = &sample.system {
        out.push(Message {
            role: Role::System,
            parts: vec![Part::Text(sys.clone())],
        });
    }
    let parts = sample
        .user_parts(prompts)?
        .into_iter()
        .map(|p| match p {
            PromptPart::Audio(_) => Part::Audio,
            PromptPart::Text(t) => Part::Text(t),
        })
        .collect();
    out.push(Message {
        role: Role::User,
        parts,
    });
    Ok(out)
}

/// Loads a sample's clips (decoded, 16 kHz, mel features), renders its prompt and tokenises it.
/// Errors name the sample's manifest line and id.
pub fn prepare(
    model: &Qwen2AudioModel,
    sample: &Sample,
    prompts: &Prompts,
    long: audio::LongAudio,
) -> Result<Prepared> {
    let run = || -> Result<Prepared> {
        let mut clips = Vec::with_capacity(sample.audio.len());
        let mut truncated = Vec::new();
        for path in &sample.audio {
            let samples = audio::load_mono_16k(path)?;
            let clip = model.features(&samples, long)?;
            if clip.truncated_from.is_some() {
                truncated.push(path.clone());
            }
            clips.push(clip);
        }
        let templated = render_chat(&messages(sample, prompts)?, true);
        let seq = model.sequence(&templated, clips)?;
        Ok(Prepared {
            seq,
            templated,
            truncated,
        })
    };
    run().map_err(|e| e.at_sample(&sample.source, &sample.id))
}

/// Wraps a per-sample failure with the sample's line and id (for errors raised after
/// [`prepare`], e.g. by the model).
pub(crate) fn at(sample: &Sample) -> impl Fn(Error) -> Error + '_ {
    move |e| e.at_sample(&sample.source, &sample.id)
}
