//! The communication interface of data parallelism ([`Communicator`]) and its in-process
//! implementation ([`ThreadComm`]: ranks as threads of one process, exchanging through
//! shared memory, every sum taken in rank order).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

/// Collective communication between the ranks of one data-parallel group. Every rank calls
/// the same collectives in the same order; a call returns once every rank has made it.
pub trait Communicator {
    /// This rank, `0 … world_size − 1`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn world_size(&self) -> usize;
    /// Replaces `buf` by its element-wise sum over the ranks (every rank gets the same
    /// bits). Every rank passes a buffer of the same length.
    fn all_reduce_f32(&self, buf: &mut [f32]) -> Result<()>;
    /// The element-wise sum over the ranks of `t`, a 1-D `f32` tensor on this rank's device
    /// (every rank passes the same length). By default through the host and
    /// [`Communicator::all_reduce_f32`]; NCCL sums on the device.
    fn all_reduce_tensor(&self, t: &Tensor) -> Result<Tensor> {
        let mut v = t.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        self.all_reduce_f32(&mut v)?;
        Ok(Tensor::from_vec(v, t.elem_count(), t.device())?)
    }
    /// The sum of `value` over the ranks.
    fn all_reduce_usize(&self, value: usize) -> Result<usize>;
    /// Every rank's `bytes`, in rank order.
    fn all_gather_bytes(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// Rank `root`'s `bytes` on every rank (what the others pass is ignored).
    fn broadcast_bytes(&self, root: usize, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut all = self.all_gather_bytes(bytes)?;
        if root >= all.len() {
            return Err(Error::Parallel(format!(
                "broadcast from rank {root} in a group of {}",
                all.len()
            )));
        }
        Ok(all.swap_remove(root))
    }
    /// Returns once every rank has called it.
    fn barrier(&self) -> Result<()>;
    /// Records that this rank failed (`what`): the other ranks' collectives return
    /// [`Error::PeerFailed`] from now on instead of waiting for it.
    fn abort(&self, what: &str);
}

/// One rank of an in-process group (threads of one process): see [`ThreadComm::group`].
/// Dropping a rank (its thread returned or panicked) leaves the group: a collective that
/// waits for it fails instead of hanging.
pub struct ThreadComm {
    rank: usize,
    shared: Arc<Shared>,
}

struct Shared {
    world: usize,
    round: Mutex<Round>,
    turn: Condvar,
}

/// What one rank contributes to a collective.
enum Payload {
    F32(Vec<f32>),
    Usize(usize),
    Bytes(Vec<u8>),
    Barrier,
}

impl Payload {
    fn kind(&self) -> (&'static str, usize) {
        match self {
            Payload::F32(v) => ("all_reduce_f32", v.len()),
            Payload::Usize(_) => ("all_reduce_usize", 0),
            Payload::Bytes(_) => ("all_gather_bytes", 0),
            Payload::Barrier => ("barrier", 0),
        }
    }
}

/// The collective in progress and the last completed one.
struct Round {
    /// Completed collectives so far.
    generation: u64,
    slots: Vec<Option<Payload>>,
    arrived: usize,
    /// Every rank's payload of the last completed collective, in rank order.
    result: Arc<Vec<Payload>>,
    /// The first rank that failed or left, and why.
    failure: Option<(usize, String)>,
}

impl ThreadComm {
    /// The `world` ranks of a new group, rank 0 first; move each into its own thread.
    pub fn group(world: usize) -> Vec<ThreadComm> {
        let shared = Arc::new(Shared {
            world,
            round: Mutex::new(Round {
                generation: 0,
                slots: (0..world).map(|_| None).collect(),
                arrived: 0,
                result: Arc::new(Vec::new()),
                failure: None,
            }),
            turn: Condvar::new(),
        });
        (0..world)
            .map(|rank| ThreadComm {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Round>> {
        self.shared
            .round
            .lock()
            .map_err(|_| Error::Parallel("a rank panicked inside a collective".into()))
    }

    /// Deposits `payload`, waits for every rank's, and returns them all in rank order.
    fn exchange(&self, payload: Payload) -> Result<Arc<Vec<Payload>>> {
        let peer = |f: &(usize, String)| Error::PeerFailed {
            rank: f.0,
            what: f.1.clone(),
        };
        let mut round = self.lock()?;
        if let Some(f) = &round.failure {
            return Err(peer(f));
        }
        let generation = round.generation;
        round.slots[self.rank] = Some(payload);
        round.arrived += 1;
        if round.arrived == self.shared.world {
            let all: Vec<Payload> = round.slots.iter_mut().filter_map(Option::take).collect();
            round.arrived = 0;
            let first = all[0].kind();
            if let Some((r, p)) = all.iter().enumerate().find(|(_, p)| p.kind() != first) {
                let what = format!(
                    "collective mismatch: rank 0 called {} ({} values), rank {r} {} ({} values)",
                    first.0,
                    first.1,
                    p.kind().0,
                    p.kind().1
                );
                round.failure.get_or_insert((self.rank, what.clone()));
                self.shared.turn.notify_all();
                return Err(Error::Parallel(what));
            }
            round.result = Arc::new(all);
            round.generation += 1;
            self.shared.turn.notify_all();
            return Ok(round.result.clone());
        }
        loop {
            round = self
                .shared
                .turn
                .wait(round)
                .map_err(|_| Error::Parallel("a rank panicked inside a collective".into()))?;
            if round.generation != generation {
                return Ok(round.result.clone());
            }
            if let Some(f) = &round.failure {
                return Err(peer(f));
            }
        }
    }

    fn fail(&self, what: String) {
        if let Ok(mut round) = self.shared.round.lock() {
            round.failure.get_or_insert((self.rank, what));
        }
        self.shared.turn.notify_all();
    }
}

impl Drop for ThreadComm {
    fn drop(&mut self) {
        self.fail("left the group".into());
    }
}

impl Communicator for ThreadComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.shared.world
    }

    fn all_reduce_f32(&self, buf: &mut [f32]) -> Result<()> {
        let all = self.exchange(Payload::F32(buf.to_vec()))?;
        // Rank order, one addition per rank: ((x0 + x1) + x2) + … on every rank.
        for (r, p) in all.iter().enumerate() {
            let Payload::F32(v) = p else {
                return Err(Error::Parallel("all_reduce_f32: wrong payload".into()));
            };
            if r == 0 {
                buf.copy_from_slice(v);
            } else {
                buf.iter_mut().zip(v).for_each(|(b, x)| *b += x);
            }
        }
        Ok(())
    }

    fn all_reduce_usize(&self, value: usize) -> Result<usize> {
        let all = self.exchange(Payload::Usize(value))?;
        all.iter().try_fold(0usize, |acc, p| match p {
            Payload::Usize(v) => acc
                .checked_add(*v)
                .ok_or_else(|| Error::Parallel("all_reduce_usize overflows".into())),
            _ => Err(Error::Parallel("all_reduce_usize: wrong payload".into())),
        })
    }

    fn all_gather_bytes(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let all = self.exchange(Payload::Bytes(bytes.to_vec()))?;
        all.iter()
            .map(|p| match p {
                Payload::Bytes(b) => Ok(b.clone()),
                _ => Err(Error::Parallel("all_gather_bytes: wrong payload".into())),
            })
            .collect()
    }

    fn barrier(&self) -> Result<()> {
        self.exchange(Payload::Barrier).map(drop)
    }

    fn abort(&self, what: &str) {
        self.fail(what.to_string());
    }
}
