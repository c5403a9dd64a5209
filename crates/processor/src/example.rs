//! A training example: the chat-templated prompt and its answer as token ids, labels on the
//! answer only, and the media's inputs (clip features, image patches).
//!
//! Convention (pinned by tests/fixtures/train, generated with transformers 4.57): the text is
//! `render_chat([user: clips + prompt], add_generation_prompt) + target + "<|im_end|>\n"`; the
//! labels cover the target's tokens and the `<|im_end|>` that ends the turn, not the final
//! newline; every other position (system turn, user turn, media) is masked.
//!
//! The labels are hard token targets; a distilled multiple-choice item also carries its
//! teacher's distribution over the option letters ([`Target::Distill`]), trained towards at
//! the answer's first position (`finetune::distill`).

use model::prompt::{render_chat, Message};
use model::{Inputs, Model};

/// Label value of a position that does not count (transformers' ignore index).
pub const IGNORE: i64 = -100;

/// What the answer positions are trained towards.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The answer's own tokens (cross-entropy).
    Tokens,
    /// The answer's tokens, and at the answer's first position a teacher's probabilities over
    /// the option letters (`letters`: their token ids, in order).
    Distill {
        letters: Vec<u32>,
        teacher: Vec<f32>,
    },
}

#[derive(Debug, Clone)]
pub struct Example {
    /// Prompt and answer, every placeholder expanded.
    pub ids: Vec<u32>,
    /// Same length as `ids`: the token at answer positions, `IGNORE` elsewhere.
    pub labels: Vec<i64>,
    pub inputs: Inputs,
    pub target: Target,
    /// Where it came from (`file:line (id)`), for error messages.
    pub source: String,
    /// The task it was drawn for (`ac`, `acc`, …), for per-task statistics.
    pub task: String,
}

impl Example {
    /// Positions whose label counts.
    pub fn label_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    #[error("the answer is empty")]
    EmptyTarget,
    #[error("{0} tokens, more than train.max_tokens {1}")]
    TooLong(usize, usize),
    #[error("the prompt's tokens are not a prefix of prompt + answer (the answer's first token merges with the template)")]
    NotPrefix,
    #[error(transparent)]
    Model(#[from] model::Error),
}

/// Builds the example for a conversation (its last turn the user's) answered by `target`.
pub fn build(
    model: &Model,
    messages: &[Message],
    target: &str,
    inputs: impl Into<Inputs>,
    max_tokens: usize,
) -> Result<Example, ExampleError> {
    let inputs = inputs.into();
    if target.trim().is_empty() {
        return Err(ExampleError::EmptyTarget);
    }
    let templated = render_chat(messages, true);
    let full = format!("{templated}{}\n", crate::answer_text(target));
    let tok = &model.tokenizer;
    let prompt_ids = tok.encode(&templated)?;
    let full_ids = tok.encode(&full)?;
    if !full_ids.starts_with(&prompt_ids) {
        return Err(ExampleError::NotPrefix);
    }
    // Labels: from the end of the prompt up to and including the turn's <|im_end|>.
    let end = full_ids
        .iter()
        .rposition(|&t| t == tok.special.im_end)
        .filter(|&p| p >= prompt_ids.len())
        .ok_or(ExampleError::NotPrefix)?;
    let expanded_prompt = model.expand_ids(prompt_ids.clone(), &inputs)?;
    let mut ids = expanded_prompt.clone();
    let mut labels = vec![IGNORE; expanded_prompt.len()];
    for (i, &t) in full_ids.iter().enumerate().skip(prompt_ids.len()) {
        ids.push(t);
        labels.push(if i <= end { t as i64 } else { IGNORE });
    }
    if ids.len() > max_tokens {
        return Err(ExampleError::TooLong(ids.len(), max_tokens));
    }
    Ok(Example {
        ids,
        labels,
        inputs,
        target: Target::Tokens,
        source: String::new(),
        task: String::new(),
    })
}
