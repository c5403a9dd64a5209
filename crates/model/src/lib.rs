//! Qwen2-Audio on Candle: checkpoint loading, the Whisper-style audio encoder, the projector,
//! the Qwen2 decoder with an explicit KV cache, prompt building and generation.
//!
//! Data flows one way: mel features (from the `audio` crate) → [`encoder::AudioEncoder`] →
//! [`Qwen2AudioModel::project`] → spliced into token embeddings at `<|AUDIO|>` positions →
//! [`decoder::Decoder`] → logits. Every op on the trainable path (decoder, projector, encoder)
//! is differentiable: no fused candle op without a backward is used here.

pub mod checkpoint;
pub mod checkpointing;
pub mod config;
pub mod constop;
pub mod decoder;
pub mod device;
pub mod encoder;
pub mod error;
pub mod frozen;
pub mod generate;
pub mod init;
pub mod lora;
pub mod model;
pub mod nn;
pub mod prompt;
pub mod qwen2_vl;
pub mod tokenizer;
pub mod vision;

pub use config::{AudioEncoderConfig, GenerationConfig, Qwen2AudioConfig, TextConfig};
pub use error::{Error, Result};
pub use model::{AudioInput, Batch, Qwen2AudioModel};
