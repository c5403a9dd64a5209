//! The audio tower (`Qwen2AudioEncoder`, transformers 4.57 modeling_qwen2_audio.py:295-456):
//! conv1 → GELU(erf) → conv2 (stride 2) → GELU → + learned positions → pre-LN transformer layers
//! → average pool 2 → layer norm.
//!
//! The reference always pads to 30 s (3000 mel frames) and masks keys past the valid length.
//! Here a clip is processed at its own length: the mel given is `audio::model_features`
//! output, which carries the frames of padding the convolutions read at the clip's end, and
//! only the `L1 = (L-1)/2+1` conv2 outputs that the reference leaves unmasked are attended
//! over. Queries at valid positions never see masked keys in the reference, so every valid
//! audio token is the same.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::config::AudioEncoderConfig;
use crate::lora::AdapterSource;
use crate::nn::{attention, Conv1d, LayerNorm, Linear};
use crate::{Error, Result};

/// Frames after conv2 and audio tokens after pooling, for `valid_frames` mel frames
/// (`_get_feat_extract_output_lengths`).
/// In integers: `L1 = (L-1)//2 + 1 = ⌈L/2⌉` and `tokens = (L1-2)//2 + 1 = ⌊L1/2⌋`.
pub fn output_lengths(valid_frames: usize) -> (usize, usize) {
    let l1 = valid_frames.div_ceil(2);
    (l1, l1 / 2)
}

const LN_EPS: f64 = 1e-5;

#[derive(Debug, Clone)]
struct EncoderLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    attn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    final_norm: LayerNorm,
    heads: usize,
}

impl EncoderLayer {
    fn load(cfg: &AudioEncoderConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        let d = cfg.d_model;
        let sa = vb.pp("self_attn");
        Ok(Self {
            q: Linear::load(d, d, true, sa.pp("q_proj"), ad)?,
            k: Linear::load(d, d, false, sa.pp("k_proj"), ad)?,
            v: Linear::load(d, d, true, sa.pp("v_proj"), ad)?,
            out: Linear::load(d, d, true, sa.pp("out_proj"), ad)?,
            attn_norm: LayerNorm::load(d, LN_EPS, vb.pp("self_attn_layer_norm"))?,
            fc1: Linear::load(d, cfg.encoder_ffn_dim, true, vb.pp("fc1"), ad)?,
            fc2: Linear::load(cfg.encoder_ffn_dim, d, true, vb.pp("fc2"), ad)?,
            final_norm: LayerNorm::load(d, LN_EPS, vb.pp("final_layer_norm"))?,
            heads: cfg.encoder_attention_heads,
        })
    }

    /// x: [B, T, D] → [B, T, D]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let hd = d / self.heads;
        let h = self.attn_norm.forward(x)?;
        let split = |y: Tensor| -> Result<Tensor> {
            Ok(y.reshape((b, t, self.heads, hd))?.transpose(1, 2)?)
        };
        // The reference scales q by head_dim^-0.5 before the product.
        let q = split((self.q.forward(&h)? * (hd as f64).powf(-0.5))?)?;
        let k = split(self.k.forward(&h)?)?;
        let v = split(self.v.forward(&h)?)?;
        let a = attention(&q, &k, &v, None, 1.0)?;
        let a = a.transpose(1, 2)?.reshape((b, t, d))?;
        let x = (x + self.out.forward(&a)?)?;
        let h = self.final_norm.forward(&x)?;
        let h = self.fc2.forward(&self.fc1.forward(&h)?.gelu_erf()?)?;
        Ok((x + h)?)
    }
}

/// The Whisper-style audio encoder.
#[derive(Debug, Clone)]
pub struct AudioEncoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    cfg: AudioEncoderConfig,
}

impl AudioEncoder {
    pub fn load(cfg: &AudioEncoderConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        let d = cfg.d_model;
        let layers = (0..cfg.encoder_layers)
            .map(|i| EncoderLayer::load(cfg, vb.pp("layers").pp(i), ad))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            conv1: Conv1d::load(cfg.num_mel_bins, d, 3, 1, vb.pp("conv1"))?,
            conv2: Conv1d::load(d, d, 3, 2, vb.pp("conv2"))?,
            positions: vb
                .pp("embed_positions")
                .get((cfg.max_source_positions, d), "weight")?,
            layers,
            norm: LayerNorm::load(d, LN_EPS, vb.pp("layer_norm"))?,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &AudioEncoderConfig {
        &self.cfg
    }

    /// Uploads a mel (row-major [n_mels, frames]) as a [1, n_mels, frames] tensor.
    pub fn mel_tensor(&self, mel: &audio::Mel, device: &Device, dtype: DType) -> Result<Tensor> {
        if mel.n_mels != self.cfg.num_mel_bins {
            return Err(Error::Prompt(format!(
                "the mel has {} bins, the encoder expects {}",
                mel.n_mels, self.cfg.num_mel_bins
            )));
        }
        Ok(
            Tensor::from_slice(&mel.data, (1, mel.n_mels, mel.n_frames), device)?
                .to_dtype(dtype)?,
        )
    }

    /// One clip: mel [1, n_mels, F] (F ≥ min(L+2, 3000) frames, see `audio::model_features`)
    /// with `valid_frames` = L → audio tokens [tokens, d_model].
    pub fn forward(&self, mel: &Tensor, valid_frames: usize) -> Result<Tensor> {
        let frames = mel.dim(2)?;
        let max_frames = 2 * self.cfg.max_source_positions;
        if valid_frames == 0 || valid_frames > max_frames {
            return Err(Error::Prompt(format!(
                "{valid_frames} valid mel frames; the encoder takes 1..={max_frames}"
            )));
        }
        let needed = (valid_frames + 2).min(max_frames);
        if frames < needed {
            return Err(Error::Prompt(format!(
                "the mel has {frames} frames; {valid_frames} valid frames need {needed} \
                 (the clip's end is read through the conv windows)"
            )));
        }
        let (l1, tokens) = output_lengths(valid_frames);
        if tokens == 0 {
            return Err(Error::Prompt(format!(
                "a clip of {valid_frames} mel frames gives no audio token (at least 3 frames, \
                 i.e. 321 samples at 16 kHz, are needed)"
            )));
        }
        let mel = mel.narrow(2, 0, needed)?;
        let x = self.conv1.forward(&mel)?.gelu_erf()?;
        let x = self.conv2.forward(&x)?.gelu_erf()?; // [1, D, ≥ L1]
        let x = x.narrow(2, 0, l1)?.transpose(1, 2)?; // [1, L1, D]
        let pos = self.positions.narrow(0, 0, l1)?.to_dtype(x.dtype())?;
        let mut x = crate::constop::add_const(&x, &pos)?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        // AvgPool1d(2, 2) over time keeps 2·tokens frames.
        let d = self.cfg.d_model;
        let x = x.narrow(1, 0, 2 * tokens)?.reshape((1, tokens, 2, d))?;
        let x = (x.sum(2)? * 0.5)?;
        Ok(self.norm.forward(&x)?.squeeze(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_the_reference() {
        assert_eq!(output_lengths(3000), (1500, 750));
        assert_eq!(output_lengths(100), (50, 25));
        assert_eq!(output_lengths(101), (51, 25));
        assert_eq!(output_lengths(3), (2, 1));
        assert_eq!(output_lengths(2), (1, 0));
        assert_eq!(output_lengths(1), (1, 0));
    }
}
