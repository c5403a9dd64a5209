//! A manifest sample → the model's input, through `processor` — the one path that training
//! uses too, so evaluation asks exactly the question training taught. This module only names
//! the failing sample (its manifest line and id) in eval's error.

use data::task::Prompts;
use data::Sample;
use model::Model;
use processor::Processor;

use crate::error::{Error, Result};

pub use processor::Prepared;

/// Loads a sample's media (clips: decoded, 16 kHz, mel features; images and videos: patches),
/// renders its prompt and tokenises it. Errors name the sample's manifest line and id.
pub fn prepare(
    model: &Model,
    sample: &Sample,
    prompts: &Prompts,
    long: audio::LongAudio,
    video: &vision::VideoOptions,
) -> Result<Prepared> {
    let p = Processor {
        model,
        prompts,
        long_audio: long,
        cache: None,
        video,
    };
    p.prompt(sample).map_err(|e| at(sample)(e.into()))
}

/// Wraps a per-sample failure with the sample's line and id (for errors raised after
/// [`prepare`], e.g. by the model).
pub(crate) fn at(sample: &Sample) -> impl Fn(Error) -> Error + '_ {
    move |e| e.at_sample(&sample.source, &sample.id)
}

/// Wraps a failure of a whole batch: the sample's own line and id for a batch of one, else
/// the batch's size and its first sample's line and id, after what was being done.
pub(crate) fn batch_error(samples: &[&Sample], doing: &str, e: Error) -> Error {
    match samples {
        [one] => at(one)(e),
        _ => Error::Invalid(format!(
            "{doing} the batch of {} items starting at {} (id {}): {e}",
            samples.len(),
            samples
                .first()
                .map_or(String::new(), |s| s.source.to_string()),
            samples.first().map_or("", |s| s.id.as_str())
        )),
    }
}
