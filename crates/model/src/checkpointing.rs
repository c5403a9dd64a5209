//! Activation (gradient) checkpointing for decoder layers, with candle's public custom-op API.
//!
//! A checkpointed layer runs its forward on a detached input and keeps only its output: the
//! activations inside the layer are freed at once. The output is attached to the graph by a
//! [`CustomOp3`] whose forward copies that output and whose backward recomputes the layer
//! under autograd, runs an inner backward with the incoming gradient, returns the gradient of
//! the layer's input, and puts the gradients of the layer's trainable tensors (LoRA matrices,
//! trained weights) in a [`SideGrads`] store; the caller merges that store into the outer
//! [`GradStore`] after `backward()` ([`SideGrads::drain_into`]). One trainable tensor of the
//! layer is passed as the op's third argument so candle records the node even when the
//! layer's input needs no gradient (the first layer, on frozen embeddings).
//!
//! The recomputation is the same computation on the same inputs (LoRA dropout masks are a pure
//! function of the seed, which does not change within a micro-batch), so the gradients are
//! those of the plain path. Cost: one more forward of each layer; saving: every activation
//! inside the layers (the bulk of training memory).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use candle_core::backend::BackendStorage;
use candle_core::backprop::GradStore;
use candle_core::{
    CpuStorage, CudaStorage, CustomOp3, Layout, MetalStorage, Shape, Tensor, TensorId, Var,
};

/// Gradients of trainable tensors computed inside checkpointed layers, waiting to be merged.
#[derive(Debug, Default)]
pub struct SideGrads {
    /// The tensors whose gradients are wanted (the trainer's `Var`s).
    wanted: HashSet<TensorId>,
    grads: Mutex<Vec<(TensorId, Tensor)>>,
}

impl SideGrads {
    /// A store for the gradients of `wanted` (the ids of the trainable `Var`s).
    pub fn new(wanted: impl IntoIterator<Item = TensorId>) -> Self {
        Self {
            wanted: wanted.into_iter().collect(),
            grads: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, id: TensorId, grad: Tensor) -> candle_core::Result<()> {
        self.grads
            .lock()
            .map_err(|_| candle_core::Error::Msg("checkpoint gradient store poisoned".into()))?
            .push((id, grad));
        Ok(())
    }

    /// Adds every stored gradient into `g` (summing with what `g` already holds for the
    /// tensor) and empties the store. Call it after each `backward()`.
    pub fn drain_into(&self, g: &mut GradStore) -> candle_core::Result<()> {
        let items =
            std::mem::take(&mut *self.grads.lock().map_err(|_| {
                candle_core::Error::Msg("checkpoint gradient store poisoned".into())
            })?);
        for (id, grad) in items {
            let sum = match g.get_id(id) {
                Some(prev) => (prev + grad)?,
                None => grad,
            };
            g.insert_id(id, sum);
        }
        Ok(())
    }

    /// Drops pending gradients (after a forward whose backward never ran, e.g. an error).
    pub fn clear(&self) {
        if let Ok(mut g) = self.grads.lock() {
            g.clear();
        }
    }
}

/// A layer as a function of its input, recomputable in the backward pass.
pub type LayerFn = Arc<dyn Fn(&Tensor) -> crate::Result<Tensor> + Send + Sync>;

struct Checkpoint {
    layer: LayerFn,
    store: Arc<SideGrads>,
}

fn copy<S: BackendStorage>(s: &S, l: &Layout) -> candle_core::Result<(S, Shape)> {
    Ok((s.try_clone(l)?, l.shape().clone()))
}

impl CustomOp3 for Checkpoint {
    fn name(&self) -> &'static str {
        "checkpointed-layer"
    }
    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        y: &CpuStorage,
        ly: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        copy(y, ly)
    }
    fn cuda_fwd(
        &self,
        _: &CudaStorage,
        _: &Layout,
        y: &CudaStorage,
        ly: &Layout,
        _: &CudaStorage,
        _: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        copy(y, ly)
    }
    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
        y: &MetalStorage,
        ly: &Layout,
        _: &MetalStorage,
        _: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        copy(y, ly)
    }
    fn bwd(
        &self,
        x: &Tensor,
        _y: &Tensor,
        _anchor: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let input = Var::from_tensor(&x.detach())?;
        let out = (self.layer)(input.as_tensor())
            .map_err(|e| candle_core::Error::Msg(format!("recomputing a layer: {e}")))?;
        let inner = (out * grad.detach())?.sum_all()?.backward()?;
        // The wanted leaves: LoRA matrices, trained weights (reached through their casts).
        for id in inner.get_ids() {
            if self.store.wanted.contains(id) {
                if let Some(gp) = inner.get_id(*id) {
                    self.store.push(*id, gp.clone())?;
                }
            }
        }
        Ok((inner.get(input.as_tensor()).cloned(), None, None))
    }
}

/// `layer(x)` keeping only its output alive. `anchor` is one of the layer's trainable
/// tensors (without one, nothing inside needs a gradient: call the layer directly).
pub fn checkpointed(
    layer: LayerFn,
    x: &Tensor,
    anchor: &Tensor,
    store: &Arc<SideGrads>,
) -> crate::Result<Tensor> {
    let y = layer(&x.detach())?.detach();
    let op = Checkpoint {
        layer,
        store: store.clone(),
    };
    Ok(x.apply_op3(&y, anchor, op)?)
}
