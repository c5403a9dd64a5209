//! Evaluation of Qwen2-Audio-class models: did finetuning improve captioning, and what did it
//! cost on general skills?
//!
//! Every entry point takes an already-loaded [`model::Model`] (or files) and an
//! options struct, and returns a result struct; a separate function writes the output files.
//! The `eval` binary is a thin command line over these, and a trainer can call them directly
//! (a post-training evaluation, a demo).
//!
//! * [`caption`]: generate a caption per manifest line (batched, KV cache) and score it
//!   against the line's references ([`caption::caption_manifest`],
//!   [`caption::write_caption_outputs`]).
//! * [`predictions`]: score existing predictions against references, no model
//!   ([`predictions::score_files`]).
//! * [`score`]: the caption metrics: BLEU-1..4, ROUGE-L, CIDEr-D natively (`metrics` crate,
//!   equal to pycocoevalcap), METEOR and SPICE via [`java`] when available, SPIDEr.
//! * [`classify`]: classification probes by label likelihood or generate-then-map
//!   ([`classify::classify_manifest`], [`classify_report::write_classify_outputs`]);
//!   [`likelihood`] scores candidate answers with one prompt pass and a batched continuation.
//! * [`choice`]: multiple-choice recognition under an input condition (letter likelihood or
//!   generate-then-map), per-class results and teacher files ([`choice::choice_manifest`],
//!   [`choice::write_choice_outputs`], [`choice::teacher_file`]); [`difficulty`]: which
//!   classes the student finds hard (our difficulty model) and its rank correlation with
//!   the test error; [`choice_report`]: the per-class report of a distillation (student
//!   before and after, teacher, humans; hard and easy classes; the ears-vs-eyes gap
//!   correlation) as Markdown, JSON and PNG.
//! * [`result`]: the combined per-model result JSON ([`result::EvalResult`], schema in its
//!   module docs) that [`report`] turns into the forgetting table and chart.

pub mod caption;
pub mod chart;
pub mod choice;
pub mod choice_report;
pub mod classify;
pub mod classify_report;
pub mod common;
pub mod difficulty;
mod error;
pub mod input;
pub mod io;
pub mod java;
pub mod likelihood;
pub mod predictions;
pub mod report;
pub mod result;
pub mod score;

pub use common::{ModelId, OnEmpty, Progress, SkippedLine};
pub use error::{Error, Result};
