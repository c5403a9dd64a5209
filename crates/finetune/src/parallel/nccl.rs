//! [`NcclComm`]: one rank per process and GPU, gradients summed on the devices by NCCL
//! (cudarc's bindings, as candle's `nccl` feature uses them). Built with the `nccl` feature.
//!
//! The group is first joined over TCP ([`TcpComm`]): rank 0 makes the NCCL unique id and
//! broadcasts it over that link, then every rank creates its NCCL communicator on its own
//! device's stream. Gradient buckets ([`Communicator::all_reduce_tensor`]) are summed in
//! place on the devices by `ncclAllReduce`; the small exchanges (counts, stop votes,
//! checkpoint names, barriers) stay on TCP. NCCL's sum order is its own (ring or tree), so
//! unlike the TCP and thread communicators it is not bit-identical to one rank with more
//! accumulation; it is equal within float rounding.

use candle_core::cuda_backend::cudarc::nccl::safe::{Comm, Id, ReduceOp};
use candle_core::{CpuStorage, CudaStorage, DType, Device, Layout, Shape, Tensor};

use super::tcp::TcpComm;
use super::Communicator;
use crate::error::{Error, Result};

/// One rank of an NCCL group: see the module documentation.
pub struct NcclComm {
    tcp: TcpComm,
    comm: Comm,
    device: Device,
}

impl NcclComm {
    /// Creates this rank's NCCL communicator on `device` (a CUDA device), the group already
    /// joined over `tcp`.
    pub fn new(tcp: TcpComm, device: &Device) -> Result<Self> {
        let Device::Cuda(cuda) = device else {
            return Err(Error::Parallel(format!(
                "NCCL needs a CUDA device, not {device:?}"
            )));
        };
        let nccl = |what: &str, e: &dyn std::fmt::Debug| {
            Error::Parallel(format!("NCCL {what} (rank {}): {e:?}", tcp.rank()))
        };
        let mine: Vec<u8> = if tcp.rank() == 0 {
            let id = Id::new().map_err(|e| nccl("unique id", &e))?;
            id.internal().iter().map(|&c| c as u8).collect()
        } else {
            Vec::new()
        };
        let bytes = tcp.broadcast_bytes(0, &mine)?;
        let mut internal = [0 as std::ffi::c_char; 128];
        if bytes.len() != internal.len() {
            return Err(Error::Parallel(format!(
                "NCCL unique id of {} bytes from rank 0, expected {}",
                bytes.len(),
                internal.len()
            )));
        }
        for (d, b) in internal.iter_mut().zip(&bytes) {
            *d = *b as std::ffi::c_char;
        }
        let comm = Comm::from_rank(
            cuda.cuda_stream(),
            tcp.rank(),
            tcp.world_size(),
            Id::uninit(internal),
        )
        .map_err(|e| nccl("communicator", &e))?;
        Ok(Self {
            tcp,
            comm,
            device: device.clone(),
        })
    }
}

/// `ncclAllReduce(sum)` of a contiguous `f32` CUDA tensor into a new one.
struct AllReduce<'a>(&'a Comm);

impl candle_core::CustomOp1 for AllReduce<'_> {
    fn name(&self) -> &'static str {
        "nccl-all-reduce"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        candle_core::bail!("the NCCL all-reduce takes CUDA tensors")
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> candle_core::Result<(CudaStorage, Shape)> {
        let n = l.shape().elem_count();
        let src = s.as_cuda_slice::<f32>()?;
        let src = match l.contiguous_offsets() {
            Some((0, end)) if end == src.len() => src.slice(..),
            Some((start, end)) => src.slice(start..end),
            None => candle_core::bail!("the NCCL all-reduce takes a contiguous tensor"),
        };
        let stream = self.0.stream();
        let mut dst = stream.alloc_zeros::<f32>(n).map_err(|e| {
            candle_core::Error::Msg(format!("allocating the all-reduce output: {e:?}"))
        })?;
        self.0
            .all_reduce(&src, &mut dst, &ReduceOp::Sum)
            .map_err(|e| candle_core::Error::Msg(format!("ncclAllReduce: {e:?}")))?;
        Ok((
            CudaStorage::wrap_cuda_slice(dst, s.device.clone()),
            l.shape().clone(),
        ))
    }
}

impl Communicator for NcclComm {
    fn rank(&self) -> usize {
        self.tcp.rank()
    }

    fn world_size(&self) -> usize {
        self.tcp.world_size()
    }

    fn all_reduce_f32(&self, buf: &mut [f32]) -> Result<()> {
        let t = Tensor::from_slice(buf, buf.len(), &self.device)?;
        let sum = self.all_reduce_tensor(&t)?.to_vec1::<f32>()?;
        buf.copy_from_slice(&sum);
        Ok(())
    }

    fn all_reduce_tensor(&self, t: &Tensor) -> Result<Tensor> {
        // A CUDA tensor stays where it is (this rank has one device); a host one moves.
        let t = if t.device().is_cuda() {
            t.clone()
        } else {
            t.to_device(&self.device)?
        };
        let t = t.to_dtype(DType::F32)?.contiguous()?;
        Ok(t.apply_op1_no_bwd(&AllReduce(&self.comm))?)
    }

    fn all_reduce_usize(&self, value: usize) -> Result<usize> {
        self.tcp.all_reduce_usize(value)
    }

    fn all_gather_bytes(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.tcp.all_gather_bytes(bytes)
    }

    fn barrier(&self) -> Result<()> {
        self.tcp.barrier()
    }

    fn abort(&self, what: &str) {
        self.tcp.abort(what)
    }
}
