//! The training library: LoRA or full finetuning of Qwen2-Audio-class models on task
//! mixtures, as a recipe a reader follows top to bottom ([`recipe`]):
//!
//! ```text
//! setup      config ─▶ params (model + trainable tensors) ─▶ AdamW ─▶ data (mixture, processor)
//!            └─ resume: state::load (weights, moments, data position) when a checkpoint exists
//! train_step micro-batches ─▶ forward ─▶ loss (+ extra term) ─▶ backward ─▶ accumulate
//!            ─▶ all-reduce seam ─▶ clip ─▶ AdamW ─▶ StepStats
//! save       state::save (checkpoint, atomic) ─▶ store (retention)
//! finish     export (PEFT adapter, merged model) ─▶ Outcome
//! ```
//!
//! Cross-modal distillation ([`distill`]) plugs into the step's extra-loss seam; data
//! parallelism ([`parallel`]: ranks behind a `Communicator`, in this build threads of one
//! process) into its all-reduce seam.
//!
//! Depends only on `model`, `data` and `processor` (plus `audio`'s policy enum and `rng`);
//! what runs around training (generating a world, evaluating, charts, data preparation
//! commands) is the application's (`trainer` crate).

pub mod adapters;
pub mod config;
pub mod distill;
mod error;
pub mod export;
pub mod loss;
pub mod optim;
pub mod parallel;
pub mod params;
pub mod recipe;
pub mod report;
pub mod schedule;
pub mod state;
pub mod step;
pub mod store;

pub use config::Config;
pub use error::{Error, Result};
pub use recipe::{run, run_until, run_with, Outcome};
pub use step::{train_step, Seams};
