//! The trainer: LoRA or full finetuning of Qwen2-Audio-class models on task mixtures.
//!
//! `config` (TOML, validated) → `params` (model + trainable tensors) → `train` (the loop:
//! `example` → `loss` → `optim` with `schedule`) → `state` (checkpoints via `store`) →
//! `export` (PEFT adapter, merged model). `report` is what the user sees and what is logged.

pub mod adapters;
pub mod config;
pub mod example;
pub mod export;
pub mod loss;
pub mod optim;
pub mod params;
pub mod pipeline;
pub mod prep;
pub mod report;
pub mod schedule;
pub mod state;
pub mod store;
pub mod train;
