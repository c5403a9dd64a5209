//! Qwen2-Audio and Qwen2-VL on Candle: checkpoint loading, the Whisper-style audio encoder and
//! its projector, the vision tower and its merger, the one Qwen2 decoder (1-D RoPE or M-RoPE)
//! with an explicit KV cache, prompt building and generation.
//!
//! Data flows one way: mel features (from the `audio` crate) → [`encoder::AudioEncoder`] →
//! projector, and patches (from the `vision` crate) → [`vision::VisionTower`] → merger; both
//! spliced into the token embeddings at their placeholders ([`model::splice`]) →
//! [`decoder::Decoder`] → logits. [`Model`] holds whichever towers the checkpoint has.
//! Every op on the trainable path (decoder, projector, encoders, vision tower) is
//! differentiable: no fused candle op without a backward is used here.

pub mod checkpoint;
pub mod checkpointing;
pub mod config;
pub mod constop;
pub mod decoder;
pub mod derive;
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
pub use model::{AudioInput, Batch, Family, Inputs, Model, Sequence, VisualInput};
