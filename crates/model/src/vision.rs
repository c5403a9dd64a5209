//! The vision tower of Qwen2-VL (`Qwen2VisionTransformerPretrainedModel`, the model's
//! `visual`; transformers 4.57 modeling_qwen2_vl.py:201-737): patch embedding (a Conv3d whose
//! kernel equals its stride, i.e. one matmul per patch row) → pre-LN blocks with 2-D rotary
//! attention restricted to each image (or video frame) → patch merger (LN → 2×2 patches
//! concatenated → Linear → GELU → Linear to the language model's hidden size).
//!
//! Input rows are the image processor's `pixel_values` ([patches, C·T·P·P], patches in the
//! spatial-merge order: each 2×2 block of neighbours is consecutive) with one `[t, h, w]`
//! grid per image. Attention runs per frame (`cu_seqlens` = cumsum of `h·w` repeated `t`
//! times), as transformers' eager path splits it; every op has a backward, rotary tables enter
//! through `constop` and frozen weights through the frozen matmul.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::checkpointing::{checkpointed, LayerFn, SideGrads};
use crate::lora::AdapterSource;
use crate::nn::{attention, LayerNorm, Linear, Rotary};
use crate::{Error, Result};

/// `vision_config` of a Qwen2-VL checkpoint (`Qwen2VLVisionConfig`, defaults of transformers
/// 4.57 = Qwen2-VL-7B's tower). Unknown keys (`in_chans`, `spatial_patch_size`, …) are ignored
/// as transformers ignores them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct VisionConfig {
    pub depth: usize,
    pub embed_dim: usize,
    /// The language model's hidden size: the merger's output width.
    pub hidden_size: usize,
    pub hidden_act: String,
    /// The MLP is `int(embed_dim · mlp_ratio)` wide.
    pub mlp_ratio: f64,
    pub num_heads: usize,
    pub in_channels: usize,
    pub patch_size: usize,
    pub spatial_merge_size: usize,
    pub temporal_patch_size: usize,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            depth: 32,
            embed_dim: 1280,
            hidden_size: 3584,
            hidden_act: "quick_gelu".into(),
            mlp_ratio: 4.0,
            num_heads: 16,
            in_channels: 3,
            patch_size: 14,
            spatial_merge_size: 2,
            temporal_patch_size: 2,
        }
    }
}

impl VisionConfig {
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }

    /// Width of the blocks' MLP, `int(embed_dim · mlp_ratio)`.
    pub fn mlp_dim(&self) -> usize {
        (self.embed_dim as f64 * self.mlp_ratio) as usize
    }

    /// Values per patch row of `pixel_values`: `C · T · P · P` (1176 for Qwen2-VL).
    pub fn patch_dim(&self) -> usize {
        self.in_channels * self.temporal_patch_size * self.patch_size * self.patch_size
    }

    /// Patches merged into one output token: `spatial_merge_size²`.
    pub fn merge_unit(&self) -> usize {
        self.spatial_merge_size * self.spatial_merge_size
    }

    /// Output tokens of one image or video of grid `[t, h, w]` (in patches): `t·h·w / m²`.
    pub fn tokens(&self, grid: [usize; 3]) -> usize {
        grid[0] * grid[1] * grid[2] / self.merge_unit()
    }

    /// Errors (naming `path`, the file the config was read from) on a configuration the tower
    /// cannot be built from.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Error::Config {
            path: path.into(),
            msg: format!("vision_config.{msg}"),
        };
        let positive = [
            ("depth", self.depth),
            ("embed_dim", self.embed_dim),
            ("hidden_size", self.hidden_size),
            ("num_heads", self.num_heads),
            ("in_channels", self.in_channels),
            ("patch_size", self.patch_size),
            ("spatial_merge_size", self.spatial_merge_size),
            ("temporal_patch_size", self.temporal_patch_size),
            ("mlp_ratio (embed_dim · mlp_ratio)", self.mlp_dim()),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(bad(format!("{name} must be positive")));
        }
        if !self.embed_dim.is_multiple_of(self.num_heads) {
            return Err(bad(format!(
                "embed_dim {} is not divisible by num_heads {}",
                self.embed_dim, self.num_heads
            )));
        }
        if !self.head_dim().is_multiple_of(4) {
            return Err(bad(format!(
                "embed_dim / num_heads = {} is not a multiple of 4 (the 2-D rotary embedding \
                 gives each of height and width a quarter of the head's dimensions)",
                self.head_dim()
            )));
        }
        Activation::parse(&self.hidden_act).map_err(bad)?;
        Ok(())
    }
}

/// Prefix of the tower's weights in a Qwen2-VL checkpoint whose root is `vb`: `visual` (the
/// hub's layout, which transformers 4.57's `save_pretrained` also writes) or `model.visual`
/// (the in-memory module layout of transformers ≥ 4.52); None when neither is there.
pub fn checkpoint_prefix(vb: &VarBuilder) -> Option<&'static str> {
    ["visual", "model.visual"]
        .into_iter()
        .find(|p| vb.contains_tensor(&format!("{p}.patch_embed.proj.weight")))
}

const LN_EPS: f64 = 1e-6;
const ROPE_THETA: f32 = 10_000.0;

/// The blocks' MLP activation (transformers' `ACT2FN[hidden_act]`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Activation {
    /// `x · sigmoid(1.702 x)`
    QuickGelu,
    GeluErf,
    GeluTanh,
    Silu,
}

impl Activation {
    fn parse(name: &str) -> std::result::Result<Self, String> {
        Ok(match name {
            "quick_gelu" => Self::QuickGelu,
            "gelu" => Self::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" => Self::GeluTanh,
            "silu" | "swish" => Self::Silu,
            other => {
                return Err(format!(
                    "hidden_act {other:?} is not supported (quick_gelu, gelu, gelu_new, \
                     gelu_pytorch_tanh, silu)"
                ))
            }
        })
    }

    fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::QuickGelu => (x * candle_nn::ops::sigmoid(&(x * 1.702)?)?)?,
            Self::GeluErf => x.gelu_erf()?,
            Self::GeluTanh => x.gelu()?,
            Self::Silu => x.silu()?,
        })
    }
}

/// `PatchEmbed`: Conv3d with kernel = stride = [T, P, P] and no bias, over rows that are each
/// one whole kernel window, is `x · Wᵀ` with W flattened to [embed_dim, C·T·P·P].
#[derive(Debug, Clone)]
struct PatchEmbed {
    /// [embed_dim, C·T·P·P]
    weight: Tensor,
}

impl PatchEmbed {
    fn load(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let (c, t, p) = (cfg.in_channels, cfg.temporal_patch_size, cfg.patch_size);
        let w = vb.get((cfg.embed_dim, c, t, p, p), "weight")?;
        Ok(Self {
            weight: w.reshape((cfg.embed_dim, cfg.patch_dim()))?,
        })
    }

    /// x: [rows, C·T·P·P] → [rows, embed_dim] in the weight's dtype.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x
            .to_device(self.weight.device())?
            .to_dtype(self.weight.dtype())?;
        Ok(if self.weight.track_op() {
            x.matmul(&self.weight.t()?)?
        } else {
            crate::frozen::frozen_matmul(&x, &self.weight)?
        })
    }
}

/// `Qwen2VLVisionBlock`: x + attn(norm1(x)), then + fc2(act(fc1(norm2(x)))).
#[derive(Debug, Clone)]
struct VisionBlock {
    norm1: LayerNorm,
    norm2: LayerNorm,
    qkv: Linear,
    proj: Linear,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
    act: Activation,
}

impl VisionBlock {
    fn load(
        cfg: &VisionConfig,
        act: Activation,
        vb: VarBuilder,
        ad: &dyn AdapterSource,
    ) -> Result<Self> {
        let (e, m) = (cfg.embed_dim, cfg.mlp_dim());
        let (attn, mlp) = (vb.pp("attn"), vb.pp("mlp"));
        Ok(Self {
            norm1: LayerNorm::load(e, LN_EPS, vb.pp("norm1"))?,
            norm2: LayerNorm::load(e, LN_EPS, vb.pp("norm2"))?,
            qkv: Linear::load(e, 3 * e, true, attn.pp("qkv"), ad)?,
            proj: Linear::load(e, e, true, attn.pp("proj"), ad)?,
            fc1: Linear::load(e, m, true, mlp.pp("fc1"), ad)?,
            fc2: Linear::load(m, e, true, mlp.pp("fc2"), ad)?,
            heads: cfg.num_heads,
            act,
        })
    }

    /// The block's trained tensors (LoRA matrices, trained weights).
    fn trainable(&self) -> Vec<Tensor> {
        let mut out: Vec<Tensor> = [&self.qkv, &self.proj, &self.fc1, &self.fc2]
            .iter()
            .flat_map(|l| l.trainable())
            .collect();
        out.extend(self.norm1.trainable());
        out.extend(self.norm2.trainable());
        out
    }

    /// x: [rows, E]; cos/sin: [rows, 1, head_dim] f32; spans: (start, len) of each attention
    /// group (one frame of one image), covering the rows in order.
    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        spans: &[(usize, usize)],
    ) -> Result<Tensor> {
        let (rows, e) = x.dims2()?;
        let hd = e / self.heads;
        let dtype = x.dtype();
        let h = self.norm1.forward(x)?;
        let qkv = self.qkv.forward(&h)?.reshape((rows, 3, self.heads, hd))?;
        let part = |i: usize| qkv.narrow(1, i, 1).and_then(|t| t.squeeze(1));
        // apply_rotary_pos_emb_vision: in f32, cast back. [rows, H, hd] → [1, H, rows, hd].
        let rope = |t: Tensor| -> Result<Tensor> {
            Rotary::apply(&t.to_dtype(DType::F32)?, cos, sin)?
                .to_dtype(dtype)?
                .transpose(0, 1)?
                .unsqueeze(0)
                .map_err(Error::from)
        };
        let q = rope(part(0)?)?;
        let k = rope(part(1)?)?;
        let v = part(2)?.transpose(0, 1)?.unsqueeze(0)?;
        let scale = (hd as f64).powf(-0.5);
        let a = if spans.len() == 1 {
            attention(&q, &k, &v, None, scale)?
        } else {
            let outs = spans
                .iter()
                .map(|&(s, l)| {
                    attention(
                        &q.narrow(2, s, l)?,
                        &k.narrow(2, s, l)?,
                        &v.narrow(2, s, l)?,
                        None,
                        scale,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            Tensor::cat(&outs, 2)?
        }; // [1, H, rows, hd]
        let a = a.squeeze(0)?.transpose(0, 1)?.reshape((rows, e))?;
        let x = (x + self.proj.forward(&a)?)?;
        let h = self.norm2.forward(&x)?;
        let h = self.fc2.forward(&self.act.apply(&self.fc1.forward(&h)?)?)?;
        Ok((x + h)?)
    }
}

/// `PatchMerger`: ln_q → each m² consecutive patches concatenated → Linear → GELU(erf) →
/// Linear to the language model's hidden size.
#[derive(Debug, Clone)]
struct PatchMerger {
    ln_q: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    unit: usize,
}

impl PatchMerger {
    fn load(cfg: &VisionConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        let unit = cfg.merge_unit();
        let wide = cfg.embed_dim * unit;
        let mlp = vb.pp("mlp");
        Ok(Self {
            ln_q: LayerNorm::load(cfg.embed_dim, LN_EPS, vb.pp("ln_q"))?,
            fc1: Linear::load(wide, wide, true, mlp.pp("0"), ad)?,
            fc2: Linear::load(wide, cfg.hidden_size, true, mlp.pp("2"), ad)?,
            unit,
        })
    }

    /// x: [rows, E] → [rows / m², hidden_size].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (rows, e) = x.dims2()?;
        let x = self
            .ln_q
            .forward(x)?
            .reshape((rows / self.unit, self.unit * e))?;
        self.fc2.forward(&self.fc1.forward(&x)?.gelu_erf()?)
    }
}

/// The Qwen2-VL vision tower.
#[derive(Debug, Clone)]
pub struct VisionTower {
    patch_embed: PatchEmbed,
    blocks: Vec<VisionBlock>,
    merger: PatchMerger,
    cfg: VisionConfig,
    /// Set by [`VisionTower::enable_checkpointing`]: blocks with trained tensors are recomputed
    /// in the backward pass.
    checkpoint: Option<Arc<SideGrads>>,
}

impl VisionTower {
    /// Loads the tower from `vb` at its prefix (`vb.pp("visual")` for a hub checkpoint; see
    /// [`checkpoint_prefix`]). LoRA is asked for at every linear layer by its full path
    /// (`visual.blocks.0.attn.qkv`, `….attn.proj`, `….mlp.fc1`, `….mlp.fc2`,
    /// `visual.merger.mlp.0`, `visual.merger.mlp.2`); the patch embedding (a convolution)
    /// takes none.
    pub fn load(cfg: &VisionConfig, vb: VarBuilder, ad: &dyn AdapterSource) -> Result<Self> {
        cfg.check(Path::new("vision_config"))?;
        let act = Activation::parse(&cfg.hidden_act).map_err(|msg| Error::Config {
            path: "vision_config".into(),
            msg,
        })?;
        let blocks = (0..cfg.depth)
            .map(|i| VisionBlock::load(cfg, act, vb.pp("blocks").pp(i), ad))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            patch_embed: PatchEmbed::load(cfg, vb.pp("patch_embed").pp("proj"))?,
            blocks,
            merger: PatchMerger::load(cfg, vb.pp("merger"), ad)?,
            cfg: cfg.clone(),
            checkpoint: None,
        })
    }

    /// Activation checkpointing (as the decoder's, into the same `store`): each block with
    /// trained tensors keeps only its output and is recomputed in the backward pass.
    pub fn enable_checkpointing(&mut self, store: Arc<SideGrads>) {
        self.checkpoint = Some(store);
    }

    pub fn config(&self) -> &VisionConfig {
        &self.cfg
    }

    /// Output tokens of one image or video of grid `[t, h, w]`: `t·h·w / m²`.
    pub fn tokens(&self, grid: [usize; 3]) -> usize {
        self.cfg.tokens(grid)
    }

    /// pixel_values: [Σ t·h·w, C·T·P·P] (any float dtype and device; moved to the weights')
    /// with one `[t, h, w]` per image or video, in the order of the rows
    /// → [Σ t·h·w / m², hidden_size] in the weights' dtype.
    pub fn forward(&self, pixel_values: &Tensor, grid_thw: &[[usize; 3]]) -> Result<Tensor> {
        let spans = self.check_grid(pixel_values, grid_thw)?;
        let (cos, sin) = self.rotary(grid_thw, self.patch_embed.weight.device())?;
        let mut x = self.patch_embed.forward(pixel_values)?;
        for block in &self.blocks {
            if let Some(store) = &self.checkpoint {
                if let Some(anchor) = block.trainable().first() {
                    let (b, cos, sin, spans) =
                        (block.clone(), cos.clone(), sin.clone(), spans.clone());
                    let f: LayerFn = Arc::new(move |x: &Tensor| b.forward(x, &cos, &sin, &spans));
                    x = checkpointed(f, &x, anchor, store)?;
                    continue;
                }
            }
            x = block.forward(&x, &cos, &sin, &spans)?;
        }
        self.merger.forward(&x)
    }

    /// The attention groups (start, len): one per frame, `h·w` rows each; errors unless the
    /// grids describe exactly the rows given.
    fn check_grid(&self, pv: &Tensor, grid_thw: &[[usize; 3]]) -> Result<Vec<(usize, usize)>> {
        let bad = |msg: String| Err(Error::Shape(format!("vision tower: {msg}")));
        let dims = pv.dims();
        let want = self.cfg.patch_dim();
        if dims.len() != 2 || dims[1] != want {
            return bad(format!(
                "pixel_values has shape {dims:?}; expected [patches, {want}] \
                 (channels·temporal_patch·patch·patch)"
            ));
        }
        if grid_thw.is_empty() {
            return bad("no grid given (one [t, h, w] per image)".into());
        }
        let m = self.cfg.spatial_merge_size;
        let mut spans = Vec::new();
        let mut start = 0;
        for (i, &[t, h, w]) in grid_thw.iter().enumerate() {
            if t == 0 || h == 0 || w == 0 || !h.is_multiple_of(m) || !w.is_multiple_of(m) {
                return bad(format!(
                    "grid {i} is [t={t}, h={h}, w={w}]; t, h and w must be positive and h, w \
                     multiples of spatial_merge_size {m}"
                ));
            }
            for _ in 0..t {
                spans.push((start, h * w));
                start += h * w;
            }
        }
        if start != dims[0] {
            return bad(format!(
                "the grids {grid_thw:?} describe {start} patches (Σ t·h·w) but pixel_values \
                 has {} rows",
                dims[0]
            ));
        }
        Ok(spans)
    }

    /// `rot_pos_emb` + `cat((emb, emb))`: per row the angles of its height and width ids
    /// (spatial-merge order, repeated per frame), each against `head_dim/4` frequencies
    /// `1/10000^(2i/(head_dim/2))`, in f32 → (cos, sin) [rows, 1, head_dim] f32.
    fn rotary(&self, grid_thw: &[[usize; 3]], device: &Device) -> Result<(Tensor, Tensor)> {
        let hd = self.cfg.head_dim();
        let dim = hd / 2;
        let inv: Vec<f32> = (0..dim / 2)
            .map(|i| 1.0f32 / ROPE_THETA.powf((2 * i) as f32 / dim as f32))
            .collect();
        let m = self.cfg.spatial_merge_size;
        let rows: usize = grid_thw.iter().map(|g| g[0] * g[1] * g[2]).sum();
        let mut angles = Vec::with_capacity(rows * hd);
        let mut row = Vec::with_capacity(hd);
        for &[t, h, w] in grid_thw {
            let mut frame = Vec::with_capacity(h * w * hd);
            for bh in 0..h / m {
                for bw in 0..w / m {
                    for ih in 0..m {
                        for iw in 0..m {
                            let (ph, pw) = ((bh * m + ih) as f32, (bw * m + iw) as f32);
                            row.clear();
                            row.extend(inv.iter().map(|f| ph * f));
                            row.extend(inv.iter().map(|f| pw * f));
                            frame.extend_from_slice(&row);
                            frame.extend_from_slice(&row);
                        }
                    }
                }
            }
            for _ in 0..t {
                angles.extend_from_slice(&frame);
            }
        }
        let emb = Tensor::from_vec(angles, (rows, 1, hd), device)?;
        Ok((emb.cos()?, emb.sin()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_7b_tower_and_tokens_follow_the_grid() {
        let cfg: VisionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, VisionConfig::default());
        assert_eq!(cfg.patch_dim(), 1176);
        assert_eq!(cfg.mlp_dim(), 5120);
        assert_eq!(cfg.tokens([1, 32, 32]), 256);
        assert_eq!(cfg.tokens([2, 4, 6]), 12);
        cfg.check(Path::new("config.json")).unwrap();
        let bad = VisionConfig {
            hidden_act: "relu6".into(),
            ..cfg.clone()
        };
        assert!(bad.check(Path::new("x")).is_err());
        let bad = VisionConfig {
            num_heads: 3,
            ..cfg
        };
        assert!(bad.check(Path::new("x")).is_err());
    }
}
