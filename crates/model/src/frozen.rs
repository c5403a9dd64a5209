//! `x · Wᵀ` for a frozen weight W: a custom op whose backward returns only the input's
//! gradient. Candle's matmul backward would also compute W's full gradient (as large as W,
//! for every linear layer of a 7B model) and throw it away.
//!
//! The forward delegates to the backend's own matmul (`BackendStorage::matmul`), so one
//! generic function serves CPU, CUDA and Metal.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CudaStorage, CustomOp2, Layout, MetalStorage, Shape, Tensor};

struct FrozenMatmul;

fn fwd<S: BackendStorage>(
    x: &S,
    lx: &Layout,
    w: &S,
    lw: &Layout,
) -> candle_core::Result<(S, Shape)> {
    let (rows, k) = lx.shape().dims2()?;
    let (out, k2) = lw.shape().dims2()?;
    if k != k2 {
        candle_core::bail!("frozen matmul: x has {k} columns, W has {k2}");
    }
    let wt = lw.transpose(0, 1)?;
    let y = x.matmul(w, (1, rows, out, k), lx, &wt)?;
    Ok((y, Shape::from((rows, out))))
}

impl CustomOp2 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        fwd(s1, l1, s2, l2)
    }
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fwd(s1, l1, s2, l2)
    }
    fn metal_fwd(
        &self,
        s1: &MetalStorage,
        l1: &Layout,
        s2: &MetalStorage,
        l2: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        fwd(s1, l1, s2, l2)
    }
    fn bwd(
        &self,
        _x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.matmul(w)?), None))
    }
}

/// x [rows, in] · wᵀ, w [out, in] frozen → [rows, out]; no gradient is computed for w.
pub fn frozen_matmul(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op2(w, FrozenMatmul)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn gradients_equal_the_plain_matmul_and_skip_the_weight() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (5, 7), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (3, 7), &dev).unwrap();
        let y1 = frozen_matmul(x.as_tensor(), &w).unwrap();
        let y2 = x.as_tensor().matmul(&w.t().unwrap()).unwrap();
        let d = (&y1 - &y2)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5);
        let g1 = y1.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = y2.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let (a, b) = (
            g1.get(x.as_tensor()).unwrap(),
            g2.get(x.as_tensor()).unwrap(),
        );
        let d = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-4);
        assert!(g1.get(&w).is_none());
    }
}
