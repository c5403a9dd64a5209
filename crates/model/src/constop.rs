//! `x + c` and `x · c` for a constant `c` (a tensor that needs no gradient: a mask, RoPE's
//! cos/sin, a dropout mask, a frozen norm weight or bias), as custom ops whose backward gives
//! only `x`'s gradient. Candle's own binary ops compute the gradient of both operands even
//! when one is a constant, and keep it until the end of the backward pass: for an attention
//! mask that is a [B, H, T, S] tensor per layer, wasted.
//!
//! The forward is the backend's own binary op (`BackendStorage::binary_impl`), so one generic
//! function serves CPU, CUDA and Metal and the values are those of `broadcast_add` /
//! `broadcast_mul`. When `c` does need a gradient (it is trained), or `x` does not, the plain
//! op is used.

use candle_core::backend::BackendStorage;
use candle_core::op::{Add, BinaryOpT, Mul};
use candle_core::{CpuStorage, CudaStorage, CustomOp2, Layout, MetalStorage, Shape, Tensor};

use crate::Result;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Add,
    Mul,
}

struct ConstOp(Kind);

fn fwd<S: BackendStorage>(
    k: Kind,
    s1: &S,
    l1: &Layout,
    s2: &S,
    l2: &Layout,
) -> candle_core::Result<(S, Shape)> {
    let out = match k {
        Kind::Add => s1.binary_impl::<Add>(s2, l1, l2)?,
        Kind::Mul => s1.binary_impl::<Mul>(s2, l1, l2)?,
    };
    Ok((out, l1.shape().clone()))
}

impl CustomOp2 for ConstOp {
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Add => Add::NAME,
            Kind::Mul => Mul::NAME,
        }
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        fwd(self.0, s1, l1, s2, l2)
    }
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fwd(self.0, s1, l1, s2, l2)
    }
    fn metal_fwd(
        &self,
        s1: &MetalStorage,
        l1: &Layout,
        s2: &MetalStorage,
        l2: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        fwd(self.0, s1, l1, s2, l2)
    }
    fn bwd(
        &self,
        _x: &Tensor,
        c: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok(match self.0 {
            Kind::Add => (Some(grad.clone()), None),
            Kind::Mul => (Some(grad.mul(c)?), None),
        })
    }
}

fn apply(k: Kind, x: &Tensor, c: &Tensor) -> Result<Tensor> {
    if c.track_op() || !x.track_op() {
        return Ok(match k {
            Kind::Add => x.broadcast_add(c)?,
            Kind::Mul => x.broadcast_mul(c)?,
        });
    }
    let c = c.broadcast_as(x.shape())?;
    Ok(x.apply_op2(&c, ConstOp(k))?)
}

/// `x + c`, `c` broadcast to `x`'s shape.
pub fn add_const(x: &Tensor, c: &Tensor) -> Result<Tensor> {
    apply(Kind::Add, x, c)
}

/// `x · c`, `c` broadcast to `x`'s shape.
pub fn mul_const(x: &Tensor, c: &Tensor) -> Result<Tensor> {
    apply(Kind::Mul, x, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn same_values_and_input_gradient_as_plain_ops() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 4), &dev).unwrap()).unwrap();
        let c = Tensor::randn(0f32, 1.0, (3, 1), &dev).unwrap();
        for k in [Kind::Add, Kind::Mul] {
            let ours = apply(k, x.as_tensor(), &c).unwrap();
            let plain = match k {
                Kind::Add => x.broadcast_add(&c).unwrap(),
                Kind::Mul => x.broadcast_mul(&c).unwrap(),
            };
            let d = (&ours - &plain).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0);
            let g1 = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = plain.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let d = (g1.get(&x).unwrap() - g2.get(&x).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap();
            assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0);
            // The plain op also computed (and kept) a gradient for the constant; ours did not.
            assert!(g2.get_ids().count() > g1.get_ids().count());
        }
    }
}
