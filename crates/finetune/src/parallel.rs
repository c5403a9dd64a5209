//! Data parallelism: W ranks train one model together, each on its own share of the step's
//! micro-batches, and their gradients are summed once per optimizer step.
//!
//! The communication sits behind [`Communicator`] (rank, world size, all-reduce-sum of an
//! `f32` buffer, of a tensor and of a `usize`, all-gather / broadcast of bytes, barrier).
//! Three implementations:
//!
//! - [`ThreadComm`]: W ranks as threads of one process on the same device, exchanging
//!   through shared memory ([`run`], `trainer --nproc N` on a CPU device);
//! - [`tcp::TcpComm`]: one process per rank, over TCP, rank 0 the hub ([`run_process`]: a
//!   process started from the torchrun-style environment, [`ProcessRank::from_env`], or by
//!   `trainer --nproc N --launch processes`). Its sums are taken in rank order like
//!   ThreadComm's, so processes and threads train the same bits;
//! - [`nccl::NcclComm`] (feature `nccl`): one process per GPU, the gradient buckets summed on
//!   the devices by NCCL, the group joined and the NCCL id exchanged over TCP.
//!
//! # Which rank trains what
//!
//! With world size W, per-rank accumulation K (`train.grad_accum`) and micro-batch m
//! (`train.micro_batch`), optimizer step s (from 0) consumes W·K *global* micro-batches
//! g = 0 … W·K−1. Every rank draws the whole global sequence from its own copy of the
//! mixture (same seed, same state), so:
//!
//! - global micro-batch g holds the m draws that follow those of micro-batch g − 1: draws
//!   s·W·K·m + g·m + j (j < m) counted from the start of the run, as long as no sample was
//!   skipped (a bad sample under `train.on_bad_sample = "skip"` is replaced by the next draw,
//!   shifting the rest exactly as one rank shifts them);
//! - global micro-batch g is trained by rank g mod W as its local micro-batch k = g div W;
//!   for m = 1, rank r takes draws r, r + W, r + 2W, … of the step;
//! - its dropout masks are seeded by (seed, s, g) ([`GradSync::micro_batch_index`]).
//!
//! One rank with accumulation W·K trains global micro-batch g as its g-th micro-batch: the
//! same examples in the same order, the same padding, the same dropout masks, and every
//! rank normalises by the step's answer tokens over all ranks. The two runs differ only in
//! the order the W·K micro-batch gradients are added (each rank's K first, then the ranks in
//! order), i.e. in float rounding.
//!
//! # Checkpoints and resume
//!
//! Only rank 0 writes (checkpoints, `metrics.jsonl`, exports, the run's `config.toml`); the
//! others follow the same steps. Every rank holds the same mixture state (the global
//! position), so rank 0's checkpoint restores all of them; rank 0 chooses the checkpoint and
//! broadcasts it. The checkpoint records the world size ([`crate::state::RunState`]); a
//! resume with another one is refused ([`Error::WorldSizeChanged`]): it would change the
//! global batch and which rank reads which sample.
//!
//! # Failures
//!
//! A rank that fails records its error in the group before leaving it; the others' next
//! collective returns [`Error::PeerFailed`] instead of waiting forever, and [`run`] reports
//! the first rank's own error. Rank 0 keeps the last good state as one rank would (no rank
//! has applied an update a peer did not reach).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Tensor};
use processor::Example;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::recipe::{draw_micro, Outcome, Session};
use crate::step::{GradSync, Seams, StepStats};

mod comm;
#[cfg(feature = "nccl")]
pub mod nccl;
pub mod tcp;
pub use comm::{Communicator, ThreadComm};

// ---------------------------------------------------------------------------------------
// Gradients

/// PyTorch DDP's default bucket: 25 MiB of `f32`.
pub const DEFAULT_BUCKET_ELEMS: usize = 25 * 1024 * 1024 / 4;

/// Sums `grads` over the ranks in flat buckets: the tensors, flattened and concatenated in
/// order (as `f32`), are cut into consecutive buckets of `bucket_elems` values (a tensor may
/// straddle two), each bucket is one [`Communicator::all_reduce_f32`], and the sums are split
/// back into tensors of the original shapes, dtypes and devices. The result is the
/// element-wise sum whatever the bucket size.
pub fn all_reduce_bucketed(
    comm: &dyn Communicator,
    grads: &mut [Tensor],
    bucket_elems: usize,
) -> Result<()> {
    if bucket_elems == 0 {
        return Err(Error::Parallel(
            "the all-reduce bucket size must be ≥ 1".into(),
        ));
    }
    let flat: Vec<Tensor> = grads
        .iter()
        .map(|g| g.flatten_all())
        .collect::<candle_core::Result<_>>()?;
    let total: usize = flat.iter().map(Tensor::elem_count).sum();
    let mut pieces: Vec<Vec<Tensor>> = vec![Vec::new(); grads.len()];
    // `offsets[i]`: where tensor i starts in the concatenation.
    let offsets: Vec<usize> = flat
        .iter()
        .scan(0, |acc, t| {
            let o = *acc;
            *acc += t.elem_count();
            Some(o)
        })
        .collect();
    let mut start = 0;
    while start < total {
        let end = (start + bucket_elems).min(total);
        // The tensors overlapping [start, end) and their ranges, in order.
        let mut spans = Vec::new();
        let mut parts = Vec::new();
        for (i, t) in flat.iter().enumerate() {
            let (lo, hi) = (offsets[i], offsets[i] + t.elem_count());
            let (a, b) = (lo.max(start), hi.min(end));
            if a < b {
                parts.push(t.narrow(0, a - lo, b - a)?.to_dtype(DType::F32)?);
                spans.push((i, b - a));
            }
        }
        let bucket = comm.all_reduce_tensor(&Tensor::cat(&parts, 0)?)?;
        let mut at = 0;
        for (i, len) in spans {
            let g = &grads[i];
            let t = bucket.narrow(0, at, len)?.to_device(g.device())?;
            pieces[i].push(t.to_dtype(g.dtype())?);
            at += len;
        }
        start = end;
    }
    for (g, parts) in grads.iter_mut().zip(pieces) {
        if !parts.is_empty() {
            *g = Tensor::cat(&parts, 0)?.reshape(g.dims())?;
        }
    }
    Ok(())
}

/// The step's all-reduce seam for one rank: the global answer-token count, bucketed
/// gradient sums, and the global micro-batch index that seeds dropout.
pub struct DataParallel<'c> {
    pub comm: &'c dyn Communicator,
    /// Values per all-reduce bucket.
    pub bucket_elems: usize,
}

impl GradSync for DataParallel<'_> {
    fn global_tokens(&mut self, local: usize) -> Result<usize> {
        self.comm.all_reduce_usize(local)
    }

    fn all_reduce(&mut self, grads: &mut [Tensor]) -> Result<()> {
        all_reduce_bucketed(self.comm, grads, self.bucket_elems)
    }

    fn micro_batch_index(&self, local: usize) -> u64 {
        (local * self.comm.world_size() + self.comm.rank()) as u64
    }
}

// ---------------------------------------------------------------------------------------
// The recipe's parallel parts

/// This rank's micro-batches of the step (see the module docs). Every rank draws all W·K
/// micro-batches and builds the examples of its own; when some rank meets a bad sample,
/// every rank draws the step again building every example, as one rank does, so the
/// replacement draws land where one rank puts them.
pub(crate) fn draw_step(s: &mut Session, comm: &dyn Communicator) -> Result<Vec<Vec<Example>>> {
    let (world, rank) = (comm.world_size(), comm.rank());
    let n = world * s.cfg.train.grad_accum;
    let mine = move |g: usize| g % world == rank;
    let start = s.mixture.clone();
    let quick = draw_micro(s, n, &mine, false)?;
    let bad = comm.all_reduce_usize(usize::from(quick.is_none()))?;
    if let (0, Some(micro)) = (bad, quick) {
        return Ok(micro);
    }
    s.mixture = start;
    draw_micro(s, n, &mine, true)?
        .ok_or_else(|| Error::Parallel("the serial draw met a bad sample".into()))
}

/// The step's statistics over all ranks, as one rank with every micro-batch reports them:
/// answer tokens and tokens summed, the loss and per-task sums re-added example by example
/// in global micro-batch order (`tasks`: each local example's task, in order; `per_micro`:
/// the local micro-batch sizes), the extra term summed over ranks.
pub(crate) fn merge_stats(
    comm: &dyn Communicator,
    local: StepStats,
    tasks: &[String],
    per_micro: &[usize],
) -> Result<StepStats> {
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, x: u64| out.extend(x.to_le_bytes());
    put(&mut out, local.label_tokens as u64);
    put(&mut out, local.tokens as u64);
    put(&mut out, local.extra_loss.map_or(u64::MAX, f64::to_bits));
    put(&mut out, local.extra_loss.is_some() as u64);
    put(&mut out, per_micro.len() as u64);
    for &n in per_micro {
        put(&mut out, n as u64);
    }
    for ((sum, n), task) in local.examples.iter().zip(tasks) {
        put(&mut out, sum.to_bits());
        put(&mut out, *n as u64);
        put(&mut out, task.len() as u64);
        out.extend(task.as_bytes());
    }
    let gathered = comm.all_gather_bytes(&out)?;
    let ranks: Vec<RankStats> = gathered
        .iter()
        .map(|b| RankStats::decode(b))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Parallel("malformed step statistics".into()))?;
    let label_tokens: usize = ranks.iter().map(|r| r.label_tokens).sum();
    let mut merged = StepStats {
        loss: 0.0,
        extra_loss: None,
        lr: local.lr,
        grad_norm: local.grad_norm,
        label_tokens,
        tokens: ranks.iter().map(|r| r.tokens).sum(),
        tasks: BTreeMap::new(),
        examples: Vec::new(),
    };
    for r in &ranks {
        if let Some(x) = r.extra {
            *merged.extra_loss.get_or_insert(0.0) += x;
        }
    }
    // Global micro-batch g = k·W + r is rank r's local micro-batch k.
    let most = ranks.iter().map(|r| r.micro.len()).max().unwrap_or(0);
    let mut loss_sum = 0.0;
    for k in 0..most {
        for r in &ranks {
            let Some(rows) = r.micro.get(k) else { continue };
            for (sum, n, task) in rows {
                let t = merged.tasks.entry(task.clone()).or_default();
                t.0 += sum;
                t.1 += n;
                merged.examples.push((*sum, *n));
                loss_sum += sum;
            }
        }
    }
    merged.loss = loss_sum / label_tokens.max(1) as f64;
    Ok(merged)
}

/// One rank's part of [`merge_stats`], decoded.
struct RankStats {
    label_tokens: usize,
    tokens: usize,
    extra: Option<f64>,
    /// Per local micro-batch: (summed cross-entropy, answer tokens, task) per example.
    micro: Vec<Vec<(f64, usize, String)>>,
}

impl RankStats {
    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader { b, at: 0 };
        let label_tokens = r.u64()? as usize;
        let tokens = r.u64()? as usize;
        let extra_bits = r.u64()?;
        let extra = (r.u64()? == 1).then(|| f64::from_bits(extra_bits));
        let n_micro = r.u64()? as usize;
        let sizes: Vec<usize> = (0..n_micro)
            .map(|_| r.u64().map(|n| n as usize))
            .collect::<Option<_>>()?;
        let mut micro = Vec::with_capacity(n_micro);
        for n in sizes {
            let mut rows = Vec::with_capacity(n);
            for _ in 0..n {
                let sum = f64::from_bits(r.u64()?);
                let tokens = r.u64()? as usize;
                let len = r.u64()? as usize;
                let name = String::from_utf8(r.bytes(len)?.to_vec()).ok()?;
                rows.push((sum, tokens, name));
            }
            micro.push(rows);
        }
        (r.at == b.len()).then_some(Self {
            label_tokens,
            tokens,
            extra,
            micro,
        })
    }
}

/// Reads what [`merge_stats`] wrote: little-endian `u64`s and byte strings.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let out = self.b.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(out)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

/// Rank 0's choice of the checkpoint to resume from (a directory of `run_dir`), on every
/// rank.
pub(crate) fn agree_on_checkpoint(
    comm: &dyn Communicator,
    run_dir: &Path,
    chosen: Option<PathBuf>,
) -> Result<Option<PathBuf>> {
    let name = match &chosen {
        None => String::new(),
        Some(dir) => crate::store::split_dir(dir)?.1,
    };
    let got = comm.broadcast_bytes(0, name.as_bytes())?;
    let name = String::from_utf8(got)
        .map_err(|_| Error::Parallel("a checkpoint name that is not UTF-8".into()))?;
    Ok((!name.is_empty()).then(|| run_dir.join(name)))
}

/// Refuses to resume a checkpoint trained with another world size.
pub(crate) fn check_world_size(dir: &Path, saved: usize, now: usize) -> Result<()> {
    if saved != now {
        return Err(Error::WorldSizeChanged {
            path: dir.to_path_buf(),
            saved,
            now,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Launch

/// A rank thread's stack: the main thread's 8 MiB is what one device trains with (candle's
/// backward walks the graph recursively); reserved, not committed, so generous is free.
const RANK_STACK_BYTES: usize = 64 << 20;

/// How [`run`] runs the ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParallelOptions {
    /// Ranks (threads of this process, on the configured device).
    pub nproc: usize,
    /// Values per all-reduce bucket (the result does not depend on it).
    pub bucket_elems: usize,
}

impl Default for ParallelOptions {
    fn default() -> Self {
        Self {
            nproc: 1,
            bucket_elems: DEFAULT_BUCKET_ELEMS,
        }
    }
}

/// Runs (or resumes) the experiment of `cfg` on `opts.nproc` ranks, threads of this process
/// on the configured device, each with its own copy of the model; `stop` and `until` as in
/// [`crate::run_until`] (the ranks agree on stopping before every step). Returns rank 0's
/// outcome, or the first error a rank raised itself. One rank is the one-device recipe.
pub fn run(
    cfg: &Config,
    stop: &AtomicBool,
    until: Option<u64>,
    opts: &ParallelOptions,
) -> Result<Outcome> {
    match opts.nproc {
        0 => return Err(Error::Parallel("--nproc must be at least 1".into())),
        1 => return crate::recipe::run_until(cfg, stop, until),
        _ => {}
    }
    if let Some(model) = cfg.distill.as_ref().and_then(|d| d.teacher_model.as_ref()) {
        return Err(Error::Parallel(format!(
            "distill.teacher_model = {model:?} (an in-process teacher) is not supported with \
             several ranks in this build; give its recorded answers as distill.teacher = <file>"
        )));
    }
    let results: Vec<Result<Outcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ThreadComm::group(opts.nproc)
            .into_iter()
            .map(|comm| {
                let cfg = cfg.clone();
                let bucket_elems = opts.bucket_elems;
                std::thread::Builder::new()
                    .name(format!("rank-{}", comm.rank()))
                    .stack_size(RANK_STACK_BYTES)
                    .spawn_scoped(scope, move || {
                        let mut sync = DataParallel {
                            comm: &comm,
                            bucket_elems,
                        };
                        let seams = Seams {
                            extra_loss: None,
                            sync: Some(&mut sync),
                        };
                        let out = crate::recipe::run_in(&cfg, stop, until, seams, Some(&comm));
                        if let Err(e) = &out {
                            comm.abort(&e.to_string());
                        }
                        out
                    })
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(rank, h)| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(Error::Parallel(format!("rank {rank} panicked")))),
                Err(e) => Err(Error::Parallel(format!("starting rank {rank}: {e}"))),
            })
            .collect()
    });
    let mut first_peer = None;
    let mut outcome = None;
    for (rank, r) in results.into_iter().enumerate() {
        match r {
            Ok(o) if rank == 0 => outcome = Some(o),
            Ok(_) => {}
            Err(e) if e.from_peer() => {
                first_peer.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match (first_peer, outcome) {
        (Some(e), _) => Err(e),
        (None, Some(o)) => Ok(o),
        (None, None) => Err(Error::Parallel("rank 0 returned nothing".into())),
    }
}

/// One rank of a multi-process group (one process per rank; on GPUs, one GPU per process):
/// read from the torchrun-style environment ([`ProcessRank::from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRank {
    /// `RANK`: this process's rank in the whole group.
    pub rank: usize,
    /// `LOCAL_RANK`: its rank on this machine, the CUDA device it trains on (default `RANK`).
    pub local_rank: usize,
    /// `WORLD_SIZE`.
    pub world_size: usize,
    /// `MASTER_ADDR` + `MASTER_PORT`, or the file `TRAINER_RDZV_FILE` (with
    /// `TRAINER_RDZV_HOST`, default 127.0.0.1, the address rank 0 listens on).
    pub rendezvous: tcp::Rendezvous,
}

/// The environment variables a process rank reads.
pub const RANK_ENV: [&str; 7] = [
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TRAINER_RDZV_FILE",
    "TRAINER_RDZV_HOST",
];

impl ProcessRank {
    /// This process's rank when `WORLD_SIZE` is above 1 (`None` without it, or at 1);
    /// `var` reads the environment (`std::env::var(..).ok()`). A missing or malformed
    /// variable is an error naming it.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let num = |k: &str| -> Result<Option<usize>> {
            var(k)
                .map(|v| {
                    v.trim().parse::<usize>().map_err(|_| {
                        Error::Parallel(format!("{k}={v:?} is not a non-negative integer"))
                    })
                })
                .transpose()
        };
        let world_size = match num("WORLD_SIZE")? {
            None | Some(0 | 1) => return Ok(None),
            Some(w) => w,
        };
        let rank = num("RANK")?
            .ok_or_else(|| Error::Parallel(format!("WORLD_SIZE={world_size} but no RANK")))?;
        if rank >= world_size {
            return Err(Error::Parallel(format!(
                "RANK={rank} is not below WORLD_SIZE={world_size}"
            )));
        }
        let local_rank = num("LOCAL_RANK")?.unwrap_or(rank);
        let rendezvous = match (
            var("TRAINER_RDZV_FILE"),
            var("MASTER_ADDR"),
            var("MASTER_PORT"),
        ) {
            (Some(f), _, _) => tcp::Rendezvous::File {
                path: PathBuf::from(f),
                host: var("TRAINER_RDZV_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            },
            (None, Some(a), Some(p)) => tcp::Rendezvous::Address(format!("{a}:{p}")),
            _ => {
                return Err(Error::Parallel(format!(
                    "WORLD_SIZE={world_size}: set MASTER_ADDR and MASTER_PORT (rank 0's address), \
                     or TRAINER_RDZV_FILE (a file every rank can read)"
                )))
            }
        };
        Ok(Some(Self {
            rank,
            local_rank,
            world_size,
            rendezvous,
        }))
    }
}

/// Runs (or resumes) the experiment of `cfg` as process rank `me`: joins the group (within
/// `join_timeout`), trains on the configured device — on CUDA, device `LOCAL_RANK` — with the
/// gradients summed over TCP on CPU and over NCCL on CUDA (with the `nccl` feature), and
/// returns this rank's outcome (rank 0's is the run's). `stop` and `until` as in [`run`].
pub fn run_process(
    cfg: &Config,
    stop: &AtomicBool,
    until: Option<u64>,
    me: &ProcessRank,
    bucket_elems: usize,
    join_timeout: std::time::Duration,
) -> Result<Outcome> {
    if let Some(model) = cfg.distill.as_ref().and_then(|d| d.teacher_model.as_ref()) {
        return Err(Error::Parallel(format!(
            "distill.teacher_model = {model:?} (an in-process teacher) is not supported with \
             several ranks in this build; give its recorded answers as distill.teacher = <file>"
        )));
    }
    let mut cfg = cfg.clone();
    if let model::device::DeviceSpec::Cuda(_) = cfg.model.device {
        cfg.model.device = model::device::DeviceSpec::Cuda(me.local_rank);
    }
    let tcp = tcp::TcpComm::connect(me.rank, me.world_size, &me.rendezvous, join_timeout)?;
    let comm: Box<dyn Communicator> = match cfg.model.device {
        #[cfg(feature = "nccl")]
        model::device::DeviceSpec::Cuda(_) => {
            let device = cfg.model.device.open()?;
            Box::new(nccl::NcclComm::new(tcp, &device)?)
        }
        _ => Box::new(tcp),
    };
    let mut sync = DataParallel {
        comm: comm.as_ref(),
        bucket_elems,
    };
    let seams = Seams {
        extra_loss: None,
        sync: Some(&mut sync),
    };
    let out = crate::recipe::run_in(&cfg, stop, until, seams, Some(comm.as_ref()));
    if let Err(e) = &out {
        comm.abort(&e.to_string());
    }
    out
}

/// How the ranks of a run are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranks {
    /// N ranks as threads of this process on the configured device (1: no parallelism).
    Threads(usize),
    /// This process is one rank of a multi-process group.
    Process(ProcessRank),
}

impl Ranks {
    /// Whether this process writes the run's files and evaluates (rank 0, or threads).
    pub fn lead(&self) -> bool {
        match self {
            Ranks::Threads(_) => true,
            Ranks::Process(p) => p.rank == 0,
        }
    }
}

/// Trains (or resumes) `cfg` on `ranks`: [`run`] for threads, [`run_process`] for a process
/// rank (default bucket size and join timeout).
pub fn run_ranks(
    cfg: &Config,
    stop: &AtomicBool,
    until: Option<u64>,
    ranks: &Ranks,
) -> Result<Outcome> {
    match ranks {
        Ranks::Threads(n) => run(
            cfg,
            stop,
            until,
            &ParallelOptions {
                nproc: *n,
                ..Default::default()
            },
        ),
        Ranks::Process(me) => run_process(
            cfg,
            stop,
            until,
            me,
            DEFAULT_BUCKET_ELEMS,
            tcp::DEFAULT_JOIN_TIMEOUT,
        ),
    }
}
