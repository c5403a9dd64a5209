//! AdamW with savable state, and gradient-norm clipping, both with PyTorch semantics.
//!
//! `AdamW::step` follows `torch.optim.AdamW` (torch 2.x `_single_tensor_adam`, decoupled
//! weight decay, no amsgrad, not fused), in its operation order:
//! ```text
//! param *= 1 - lr*wd
//! m = lerp(m, g, 1 - beta1)            (m + (1-beta1)(g - m), torch's exp_avg.lerp_)
//! v = beta2*v + (1-beta2)*g*g
//! bc1 = 1 - beta1^t; bc2 = 1 - beta2^t  (f64 on the host, t = step count after increment)
//! denom = sqrt(v) / sqrt(bc2) + eps
//! param += (-lr/bc1) * m / denom
//! ```
//! Moments are f32 tensors on each parameter's device whatever the parameter dtype; the
//! update is computed in f32 on the device and written back with `Var::set`. Unlike
//! candle's own `AdamW`, the moments and the step count can be read and restored, so a
//! resumed run continues exactly where it stopped.

use std::collections::{HashMap, HashSet};

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("{got} gradients given for {expected} parameters")]
    GradCount { expected: usize, got: usize },
    #[error("gradient for {name}: shape {got:?}, parameter has {expected:?}")]
    GradShape {
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("parameter name {0:?} appears twice")]
    DuplicateName(String),
    #[error("optimizer state: key {0:?} missing")]
    MissingState(String),
    #[error("optimizer state {key}: shape {got:?}, parameter has {expected:?}")]
    StateShape {
        key: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
}

pub type Result<T> = std::result::Result<T, OptimError>;

/// Hyper-parameters of AdamW other than the learning rate (which is per step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    /// torch's defaults for betas and eps; weight decay 0 (torch's AdamW default is 0.01).
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Key of a parameter's first moment in [`AdamW::state_tensors`].
pub fn exp_avg_key(name: &str) -> String {
    format!("{name}.exp_avg")
}

/// Key of a parameter's second moment in [`AdamW::state_tensors`].
pub fn exp_avg_sq_key(name: &str) -> String {
    format!("{name}.exp_avg_sq")
}

/// AdamW over named variables; the names are the stable keys of the saved state.
pub struct AdamW {
    params: Vec<(String, Var)>,
    cfg: AdamWConfig,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    step: u64,
}

impl AdamW {
    /// Zero moments (f32, on each parameter's device) and a step count of 0.
    pub fn new(params: Vec<(String, Var)>, cfg: AdamWConfig) -> Result<Self> {
        let mut seen = HashSet::new();
        for (name, _) in &params {
            if !seen.insert(name.as_str()) {
                return Err(OptimError::DuplicateName(name.clone()));
            }
        }
        let zeros = |v: &Var| Tensor::zeros(v.shape(), DType::F32, v.device());
        let exp_avg = params
            .iter()
            .map(|(_, v)| zeros(v))
            .collect::<std::result::Result<_, _>>()?;
        let exp_avg_sq = params
            .iter()
            .map(|(_, v)| zeros(v))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Self {
            params,
            cfg,
            exp_avg,
            exp_avg_sq,
            step: 0,
        })
    }

    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }

    /// Number of optimizer steps taken (torch's `state["step"]`).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    pub fn params(&self) -> &[(String, Var)] {
        &self.params
    }

    /// One update with learning rate `lr`; `grads[i]` is the gradient of `params()[i]`.
    ///
    /// Every parameter is updated, a zero gradient included (decay and moment decay still
    /// apply, as in torch for a parameter whose `.grad` exists). The trainer passes a
    /// gradient for every parameter; a parameter that got no gradient from the backward
    /// pass must be given zeros (or, better, be reported as a bug: with LoRA every
    /// trainable tensor receives a gradient).
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        if grads.len() != self.params.len() {
            return Err(OptimError::GradCount {
                expected: self.params.len(),
                got: grads.len(),
            });
        }
        for ((name, var), g) in self.params.iter().zip(grads) {
            if g.dims() != var.dims() {
                return Err(OptimError::GradShape {
                    name: name.clone(),
                    expected: var.dims().to_vec(),
                    got: g.dims().to_vec(),
                });
            }
        }
        self.step += 1;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.cfg;
        let t = self.step as f64;
        let bc1 = 1.0 - beta1.powf(t);
        let bc2 = 1.0 - beta2.powf(t);
        let step_size = lr / bc1;
        let bc2_sqrt = bc2.sqrt();
        let decay = 1.0 - lr * weight_decay;
        let w1 = 1.0 - beta1;
        let mut bc2_scalar = Scalar::new(bc2_sqrt);

        for (i, ((_, var), g)) in self.params.iter().zip(grads).enumerate() {
            let dev = var.device();
            let g = g.detach().to_dtype(DType::F32)?;
            let p = var.as_detached_tensor().to_dtype(DType::F32)?;
            let p = if weight_decay != 0.0 {
                p.affine(decay, 0.0)?
            } else {
                p
            };
            // torch.lerp: small weights interpolate from `start`, large ones from `end`.
            let m = &self.exp_avg[i];
            let m = if w1.abs() < 0.5 {
                (m + (g.sub(m)?.affine(w1, 0.0))?)?
            } else {
                g.sub(&g.sub(m)?.affine(1.0 - w1, 0.0)?)?
            };
            // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            let v =
                (self.exp_avg_sq[i].affine(beta2, 0.0)? + g.affine(1.0 - beta2, 0.0)?.mul(&g)?)?;
            let denom = v
                .sqrt()?
                .broadcast_div(bc2_scalar.on(dev)?)?
                .affine(1.0, eps)?;
            // param.addcdiv_(exp_avg, denom, value=-step_size)
            let p = (p + m.affine(-step_size, 0.0)?.div(&denom)?)?;
            var.set(&p.to_dtype(var.dtype())?)?;
            self.exp_avg[i] = m;
            self.exp_avg_sq[i] = v;
        }
        Ok(())
    }

    /// The moments, keyed `"{name}.exp_avg"` and `"{name}.exp_avg_sq"` (f32). The tensors
    /// are snapshots: later steps replace them rather than writing into them.
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::with_capacity(2 * self.params.len());
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.insert(exp_avg_key(name), self.exp_avg[i].clone());
            out.insert(exp_avg_sq_key(name), self.exp_avg_sq[i].clone());
        }
        out
    }

    /// Restores the moments saved by [`state_tensors`](Self::state_tensors) and the step
    /// count. Every parameter's two keys must be present with the parameter's shape; they are
    /// converted to f32 on the parameter's device. Extra keys are ignored. Nothing changes
    /// when an error is returned.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, step: u64) -> Result<()> {
        let mut exp_avg = Vec::with_capacity(self.params.len());
        let mut exp_avg_sq = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            for (key, dst) in [
                (exp_avg_key(name), &mut exp_avg),
                (exp_avg_sq_key(name), &mut exp_avg_sq),
            ] {
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| OptimError::MissingState(key.clone()))?;
                if t.dims() != var.dims() {
                    return Err(OptimError::StateShape {
                        key,
                        expected: var.dims().to_vec(),
                        got: t.dims().to_vec(),
                    });
                }
                let t = t
                    .to_device(var.device())?
                    .to_dtype(DType::F32)?
                    .contiguous()?;
                dst.push(t);
            }
        }
        self.exp_avg = exp_avg;
        self.exp_avg_sq = exp_avg_sq;
        self.step = step;
        Ok(())
    }
}

/// A host scalar as a 0-d f32 tensor, created once per device and reused across params.
struct Scalar {
    value: f64,
    cached: Option<Tensor>,
}

impl Scalar {
    fn new(value: f64) -> Self {
        Self {
            value,
            cached: None,
        }
    }

    fn on(&mut self, dev: &Device) -> Result<&Tensor> {
        let stale = match &self.cached {
            Some(t) => !t.device().same_device(dev),
            None => true,
        };
        if stale {
            self.cached = Some(Tensor::new(self.value as f32, dev)?);
        }
        self.cached
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("scalar cache".into()).into())
    }
}

/// Clips gradients in place by their total L2 norm, like `torch.nn.utils.clip_grad_norm_`.
///
/// Each gradient's sum of squares is reduced in f32 on its device; the per-tensor sums are
/// brought to the host in one transfer and added in f64. With `clip_coef = max_norm /
/// (total + 1e-6)`, the gradients are multiplied by `clip_coef` only when it is below 1.
/// Returns the total norm before clipping. A non-finite total is returned as is and the
/// gradients are left untouched: the caller decides (usually to skip the step).
pub fn clip_grad_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let Some(first) = grads.first() else {
        return Ok(0.0);
    };
    let dev = first.device().clone();
    let sums = grads
        .iter()
        .map(|g| {
            g.detach()
                .to_dtype(DType::F32)?
                .sqr()?
                .sum_all()?
                .reshape(1)?
                .to_device(&dev)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let sums = Tensor::cat(&sums, 0)?.to_vec1::<f32>()?;
    let total = sums.iter().map(|&s| s as f64).sum::<f64>().sqrt();
    if !total.is_finite() {
        return Ok(total);
    }
    let clip_coef = max_norm / (total + 1e-6);
    if clip_coef < 1.0 {
        for g in grads.iter_mut() {
            *g = g.affine(clip_coef, 0.0)?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(v: &[f32]) -> Var {
        Var::from_slice(v, v.len(), &Device::Cpu).expect("var")
    }

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v, v.len(), &Device::Cpu).expect("tensor")
    }

    fn values(v: &Var) -> Vec<f32> {
        v.as_tensor().to_vec1::<f32>().expect("to_vec1")
    }

    /// The update rule, in f64 on the host.
    fn reference(
        p: &mut [f64],
        m: &mut [f64],
        v: &mut [f64],
        g: &[f64],
        lr: f64,
        t: i32,
        c: &AdamWConfig,
    ) {
        for i in 0..p.len() {
            p[i] *= 1.0 - lr * c.weight_decay;
            m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * g[i];
            v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * g[i] * g[i];
            let bc1 = 1.0 - c.beta1.powi(t);
            let bc2 = 1.0 - c.beta2.powi(t);
            let denom = v[i].sqrt() / bc2.sqrt() + c.eps;
            p[i] -= lr / bc1 * m[i] / denom;
        }
    }

    #[test]
    fn two_steps_match_hand_computation() {
        let cfg = AdamWConfig {
            weight_decay: 0.1,
            ..Default::default()
        };
        let p0 = [0.5f32, -1.0, 2.0, 0.0, 3.0];
        let g1 = [0.1f32, -0.2, 0.3, 0.0, -4.0];
        let g2 = [-0.05f32, 0.4, 0.3, 1e-3, 2.5];
        let w = var(&p0);
        let mut opt = AdamW::new(vec![("w".into(), w.clone())], cfg).expect("new");
        opt.step(&[t(&g1)], 1e-2).expect("step 1");
        opt.step(&[t(&g2)], 5e-3).expect("step 2");
        assert_eq!(opt.step_count(), 2);

        let f = |x: &[f32]| x.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let (mut p, mut m, mut v) = (f(&p0), vec![0.0; 5], vec![0.0; 5]);
        reference(&mut p, &mut m, &mut v, &f(&g1), 1e-2, 1, &cfg);
        reference(&mut p, &mut m, &mut v, &f(&g2), 5e-3, 2, &cfg);

        let got = values(&w);
        for i in 0..5 {
            assert!(
                (got[i] as f64 - p[i]).abs() < 1e-6,
                "p[{i}] {} vs {}",
                got[i],
                p[i]
            );
        }
        let state = opt.state_tensors();
        let gm = state["w.exp_avg"].to_vec1::<f32>().expect("m");
        let gv = state["w.exp_avg_sq"].to_vec1::<f32>().expect("v");
        for i in 0..5 {
            assert!((gm[i] as f64 - m[i]).abs() < 1e-6 * m[i].abs().max(1.0));
            assert!((gv[i] as f64 - v[i]).abs() < 1e-6 * v[i].abs().max(1e-3));
        }
    }

    #[test]
    fn zero_grad_still_decays() {
        let cfg = AdamWConfig {
            weight_decay: 0.5,
            ..Default::default()
        };
        let w = var(&[2.0, -4.0]);
        let mut opt = AdamW::new(vec![("w".into(), w.clone())], cfg).expect("new");
        opt.step(&[t(&[0.0, 0.0])], 0.1).expect("step");
        assert_eq!(values(&w), vec![1.9, -3.8]);
    }

    #[test]
    fn bf16_param_keeps_dtype_and_f32_moments() {
        let w =
            Var::from_tensor(&t(&[1.0, 2.0]).to_dtype(DType::BF16).expect("bf16")).expect("var");
        let mut opt =
            AdamW::new(vec![("w".into(), w.clone())], AdamWConfig::default()).expect("new");
        opt.step(&[t(&[1.0, -1.0])], 0.5).expect("step");
        assert_eq!(w.dtype(), DType::BF16);
        assert_eq!(opt.state_tensors()["w.exp_avg"].dtype(), DType::F32);
        let got = w
            .as_tensor()
            .to_dtype(DType::F32)
            .expect("f32")
            .to_vec1::<f32>()
            .expect("v");
        assert_eq!(got, vec![0.5, 2.5]);
    }

    #[test]
    fn save_load_round_trip_continues_identically() {
        let cfg = AdamWConfig {
            weight_decay: 0.01,
            ..Default::default()
        };
        let init = [[0.3f32, -0.7, 1.1], [2.0, 0.0, -0.5]];
        let grads = [
            [[0.2f32, -0.1, 0.05], [1.0, -2.0, 0.3]],
            [[-0.3f32, 0.2, 0.0], [0.5, 0.5, -0.1]],
            [[0.1f32, 0.1, -0.4], [-1.5, 0.2, 0.7]],
        ];
        let make = |vals: &[[f32; 3]; 2]| {
            vec![
                ("a".to_string(), var(&vals[0])),
                ("b".to_string(), var(&vals[1])),
            ]
        };
        let mut a = AdamW::new(make(&init), cfg).expect("new");
        for (k, g) in grads.iter().take(2).enumerate() {
            a.step(&[t(&g[0]), t(&g[1])], 1e-3 * (k + 1) as f64)
                .expect("step");
        }
        let saved = a.state_tensors();
        let snapshot = [values(&a.params()[0].1), values(&a.params()[1].1)];
        let snapshot = [
            [snapshot[0][0], snapshot[0][1], snapshot[0][2]],
            [snapshot[1][0], snapshot[1][1], snapshot[1][2]],
        ];

        let mut b = AdamW::new(make(&snapshot), cfg).expect("new");
        b.load_state(&saved, a.step_count()).expect("load");
        assert_eq!(b.step_count(), 2);
        let mut fresh = AdamW::new(make(&snapshot), cfg).expect("new");

        let g3 = [t(&grads[2][0]), t(&grads[2][1])];
        a.step(&g3, 3e-3).expect("a");
        b.step(&g3, 3e-3).expect("b");
        fresh.step(&g3, 3e-3).expect("fresh");
        for i in 0..2 {
            assert_eq!(values(&a.params()[i].1), values(&b.params()[i].1));
            assert_ne!(values(&a.params()[i].1), values(&fresh.params()[i].1));
        }
        let (sa, sb) = (a.state_tensors(), b.state_tensors());
        for k in ["a.exp_avg", "a.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"] {
            assert_eq!(
                sa[k].to_vec1::<f32>().expect("a"),
                sb[k].to_vec1::<f32>().expect("b"),
                "{k}"
            );
        }
    }

    #[test]
    fn load_state_errors_name_the_key() {
        let mut opt =
            AdamW::new(vec![("w".into(), var(&[1.0, 2.0]))], AdamWConfig::default()).expect("new");
        let mut state = HashMap::new();
        state.insert("w.exp_avg".to_string(), t(&[0.0, 0.0]));
        let err = opt.load_state(&state, 3).expect_err("missing");
        assert!(err.to_string().contains("w.exp_avg_sq"), "{err}");
        state.insert("w.exp_avg_sq".to_string(), t(&[0.0, 0.0, 0.0]));
        let err = opt.load_state(&state, 3).expect_err("shape");
        assert!(err.to_string().contains("w.exp_avg_sq"), "{err}");
        assert!(err.to_string().contains("[3]"), "{err}");
        assert_eq!(opt.step_count(), 0);
        state.insert("w.exp_avg_sq".to_string(), t(&[0.0, 1.0]));
        state.insert("other.exp_avg".to_string(), t(&[9.0]));
        opt.load_state(&state, 3).expect("ok");
        assert_eq!(opt.step_count(), 3);
    }

    #[test]
    fn step_checks_grads() {
        let mut opt =
            AdamW::new(vec![("w".into(), var(&[1.0, 2.0]))], AdamWConfig::default()).expect("new");
        assert!(matches!(
            opt.step(&[], 1e-3),
            Err(OptimError::GradCount {
                expected: 1,
                got: 0
            })
        ));
        let err = opt.step(&[t(&[1.0])], 1e-3).expect_err("shape");
        assert!(err.to_string().contains('w'), "{err}");
        assert_eq!(opt.step_count(), 0);
        let dup = vec![
            ("w".to_string(), var(&[1.0])),
            ("w".to_string(), var(&[2.0])),
        ];
        assert!(matches!(
            AdamW::new(dup, AdamWConfig::default()),
            Err(OptimError::DuplicateName(_))
        ));
    }

    #[test]
    fn config_serde_defaults() {
        let c: AdamWConfig = serde_json::from_str(r#"{"weight_decay": 0.1}"#).expect("parse");
        assert_eq!(c.beta1, 0.9);
        assert_eq!(c.beta2, 0.999);
        assert_eq!(c.eps, 1e-8);
        assert_eq!(c.weight_decay, 0.1);
        assert!(serde_json::from_str::<AdamWConfig>(r#"{"lr": 1}"#).is_err());
    }

    #[test]
    fn clip_grad_norm_scales_only_when_above() {
        // Norm of [3, 4] and [12] is 13.
        let mut g = vec![t(&[3.0, 4.0]), t(&[12.0])];
        let n = clip_grad_norm(&mut g, 100.0).expect("clip");
        assert!((n - 13.0).abs() < 1e-6);
        assert_eq!(g[0].to_vec1::<f32>().expect("g"), vec![3.0, 4.0]);

        let n = clip_grad_norm(&mut g, 1.0).expect("clip");
        assert!((n - 13.0).abs() < 1e-6);
        let coef = 1.0 / (13.0 + 1e-6);
        let g0 = g[0].to_vec1::<f32>().expect("g");
        let g1 = g[1].to_vec1::<f32>().expect("g");
        assert!((g0[0] as f64 - 3.0 * coef).abs() < 1e-7);
        assert!((g0[1] as f64 - 4.0 * coef).abs() < 1e-7);
        assert!((g1[0] as f64 - 12.0 * coef).abs() < 1e-7);
        let after = clip_grad_norm(&mut g, 1e9).expect("norm");
        assert!((after - 1.0).abs() < 1e-6, "{after}");

        assert_eq!(clip_grad_norm(&mut [], 1.0).expect("empty"), 0.0);
    }

    #[test]
    fn clip_grad_norm_non_finite_left_to_caller() {
        let mut g = vec![t(&[f32::NAN, 1.0]), t(&[2.0])];
        assert!(clip_grad_norm(&mut g, 1.0).expect("clip").is_nan());
        assert_eq!(g[1].to_vec1::<f32>().expect("g"), vec![2.0]);
        let mut g = vec![t(&[f32::INFINITY])];
        assert_eq!(clip_grad_norm(&mut g, 1.0).expect("clip"), f64::INFINITY);
        assert_eq!(g[0].to_vec1::<f32>().expect("g"), vec![f32::INFINITY]);
    }
}
