//! [`TcpComm`]: one rank per process, the ranks talking over TCP. Rank 0 is the hub: every
//! collective, each other rank sends its part to rank 0, which combines the parts in rank
//! order (the sums exactly as [`super::ThreadComm`] takes them, so processes and threads give
//! the same bits) and sends the result back. It carries the bytes, counts and barriers of any
//! group, and the gradients of CPU ranks; on GPUs the gradients go over NCCL instead
//! ([`super::nccl`]), which this communicator bootstraps.
//!
//! Wire format, every message: kind (1 byte), length (u64 little-endian), payload. A rank
//! that fails sends an abort message with its reason before leaving; a closed connection
//! reads as that rank having left. Either way the others' next collective returns
//! [`Error::PeerFailed`].
//!
//! Rendezvous ([`Rendezvous`]): an address (torchrun's `MASTER_ADDR` / `MASTER_PORT`: rank 0
//! listens on that port on every interface, the others connect to the address), or a file
//! (rank 0 listens on an ephemeral port and writes `host:port` there; the others read it).
//! Connecting is retried until the rendezvous timeout, so the ranks may start in any order.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Communicator;
use crate::error::{Error, Result};

/// How the ranks of a process group find rank 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendezvous {
    /// `host:port`: rank 0 listens on the port on every interface; the others connect to it.
    Address(String),
    /// Rank 0 listens on an ephemeral port of `host` and writes `host:port` to the file; the
    /// others read it (a shared file system for several machines).
    File { path: PathBuf, host: String },
}

/// How long ranks wait for each other to join.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

const F32: u8 = 1;
const USIZE: u8 = 2;
const BYTES: u8 = 3;
const BARRIER: u8 = 4;
const HELLO: u8 = 5;
const ABORT: u8 = 0xff;

fn kind_name(kind: u8) -> &'static str {
    match kind {
        F32 => "all_reduce_f32",
        USIZE => "all_reduce_usize",
        BYTES => "all_gather_bytes",
        BARRIER => "barrier",
        HELLO => "hello",
        ABORT => "abort",
        _ => "unknown",
    }
}

struct Link {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Link {
    fn new(stream: TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::with_capacity(1 << 20, stream.try_clone()?),
            writer: BufWriter::with_capacity(1 << 20, stream),
        })
    }

    fn send(&mut self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(&[kind])?;
        self.writer
            .write_all(&(payload.len() as u64).to_le_bytes())?;
        self.writer.write_all(payload)?;
        self.writer.flush()
    }

    fn recv(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 9];
        self.reader.read_exact(&mut head)?;
        let len = u64::from_le_bytes(head[1..].try_into().expect("8 bytes")) as usize;
        let mut payload = vec![0u8; len];
        self.reader.read_exact(&mut payload)?;
        Ok((head[0], payload))
    }
}

/// One rank of a process group over TCP: see the module documentation.
pub struct TcpComm {
    rank: usize,
    world: usize,
    /// Rank 0: the links to ranks 1 … W − 1, in rank order. Other ranks: the link to rank 0.
    links: Mutex<Vec<Link>>,
    /// The first failure seen (rank, what): every later collective returns it.
    failure: Mutex<Option<(usize, String)>>,
}

impl TcpComm {
    /// Joins the group: rank 0 accepts the `world − 1` others, the others connect to it;
    /// within `timeout`.
    pub fn connect(
        rank: usize,
        world: usize,
        rendezvous: &Rendezvous,
        timeout: Duration,
    ) -> Result<Self> {
        if world == 0 || rank >= world {
            return Err(Error::Parallel(format!(
                "rank {rank} in a group of {world}"
            )));
        }
        let links = if world == 1 {
            Vec::new()
        } else if rank == 0 {
            accept_all(world, rendezvous, timeout)?
        } else {
            vec![connect_to_hub(rank, world, rendezvous, timeout)?]
        };
        Ok(Self {
            rank,
            world,
            links: Mutex::new(links),
            failure: Mutex::new(None),
        })
    }

    fn failed(&self) -> Option<Error> {
        let f = self.failure.lock().ok()?;
        f.as_ref().map(|(rank, what)| Error::PeerFailed {
            rank: *rank,
            what: what.clone(),
        })
    }

    fn record(&self, rank: usize, what: String) -> Error {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert((rank, what.clone()));
        }
        Error::PeerFailed { rank, what }
    }

    /// Sends this rank's part of a collective, and returns every rank's part, in rank order
    /// (rank 0 gathers them; the others get them back combined by `combine`).
    fn exchange(
        &self,
        kind: u8,
        part: Vec<u8>,
        combine: impl FnOnce(Vec<Vec<u8>>) -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        if let Some(e) = self.failed() {
            return Err(e);
        }
        if self.world == 1 {
            return combine(vec![part]);
        }
        let mut links = self
            .links
            .lock()
            .map_err(|_| Error::Parallel("a collective panicked".into()))?;
        if self.rank == 0 {
            let mut parts = vec![part];
            for (i, link) in links.iter_mut().enumerate() {
                let peer = i + 1;
                let got = match link.recv() {
                    Ok(m) => m,
                    Err(_) => {
                        let e = self.record(peer, "left the group".into());
                        abort_links(&mut links, &format!("rank {peer} left the group"));
                        return Err(e);
                    }
                };
                match got {
                    (ABORT, why) => {
                        let why = String::from_utf8_lossy(&why).into_owned();
                        let e = self.record(peer, why.clone());
                        abort_links(&mut links, &format!("rank {peer}: {why}"));
                        return Err(e);
                    }
                    (k, payload) if k == kind => parts.push(payload),
                    (k, payload) => {
                        let what = format!(
                            "collective mismatch: rank 0 called {} ({} bytes), rank {peer} {} ({} bytes)",
                            kind_name(kind),
                            parts[0].len(),
                            kind_name(k),
                            payload.len()
                        );
                        abort_links(&mut links, &what);
                        self.record(0, what.clone());
                        return Err(Error::Parallel(what));
                    }
                }
            }
            let result = match combine(parts) {
                Ok(r) => r,
                Err(e) => {
                    abort_links(&mut links, &e.to_string());
                    self.record(0, e.to_string());
                    return Err(e);
                }
            };
            for (i, link) in links.iter_mut().enumerate() {
                if link.send(kind, &result).is_err() {
                    let e = self.record(i + 1, "left the group".into());
                    abort_links(&mut links, &format!("rank {} left the group", i + 1));
                    return Err(e);
                }
            }
            Ok(result)
        } else {
            let hub = &mut links[0];
            if hub.send(kind, &part).is_err() {
                return Err(self.record(0, "left the group".into()));
            }
            match hub.recv() {
                Ok((k, result)) if k == kind => Ok(result),
                Ok((ABORT, why)) => {
                    let why = String::from_utf8_lossy(&why).into_owned();
                    // "rank R: why" from the hub names the rank that failed.
                    let (rank, what) = parse_abort(&why);
                    Err(self.record(rank, what))
                }
                Ok((k, _)) => Err(self.record(
                    0,
                    format!(
                        "protocol error: sent {}, got {}",
                        kind_name(kind),
                        kind_name(k)
                    ),
                )),
                Err(_) => Err(self.record(0, "left the group".into())),
            }
        }
    }
}

/// "rank R: what" → (R, what); anything else is rank 0's own reason.
fn parse_abort(why: &str) -> (usize, String) {
    why.strip_prefix("rank ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(r, what)| Some((r.parse().ok()?, what.to_string())))
        .or_else(|| {
            why.strip_prefix("rank ")
                .and_then(|rest| rest.split_once(' '))
                .and_then(|(r, what)| Some((r.parse().ok()?, what.to_string())))
        })
        .unwrap_or((0, why.to_string()))
}

fn abort_links(links: &mut [Link], why: &str) {
    for link in links {
        let _ = link.send(ABORT, why.as_bytes());
    }
}

fn accept_all(world: usize, rendezvous: &Rendezvous, timeout: Duration) -> Result<Vec<Link>> {
    let io = |what: &str, e: std::io::Error| Error::Parallel(format!("rank 0 {what}: {e}"));
    let listener = match rendezvous {
        Rendezvous::Address(addr) => {
            let port = addr.rsplit_once(':').map(|(_, p)| p).ok_or_else(|| {
                Error::Parallel(format!("rendezvous address {addr:?} has no port"))
            })?;
            TcpListener::bind(format!("0.0.0.0:{port}"))
                .map_err(|e| io(&format!("listening on port {port}"), e))?
        }
        Rendezvous::File { path, host } => {
            let l = TcpListener::bind(format!("{host}:0"))
                .map_err(|e| io(&format!("listening on {host}"), e))?;
            let port = l
                .local_addr()
                .map_err(|e| io("reading its port", e))?
                .port();
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{host}:{port}\n"))
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| {
                    io(
                        &format!("writing the rendezvous file {}", path.display()),
                        e,
                    )
                })?;
            l
        }
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| io("listening", e))?;
    let deadline = Instant::now() + timeout;
    let mut slots: Vec<Option<Link>> = (1..world).map(|_| None).collect();
    let mut joined = 0;
    while joined < world - 1 {
        match listener.accept() {
            Ok((stream, from)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(|e| io("accepting", e))?;
                // A connection that does not greet in time is not a rank: dropped.
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .map_err(|e| io("accepting", e))?;
                let mut link = Link::new(stream).map_err(|e| io("accepting", e))?;
                // Hello: the peer's rank and world size.
                let Ok((kind, payload)) = link.recv() else {
                    eprintln!("rank 0: dropped a connection from {from} that did not greet");
                    continue;
                };
                if kind != HELLO || payload.len() != 16 {
                    continue;
                }
                link.reader
                    .get_ref()
                    .set_read_timeout(None)
                    .map_err(|e| io("accepting", e))?;
                let rank = u64::from_le_bytes(payload[..8].try_into().expect("8")) as usize;
                let size = u64::from_le_bytes(payload[8..].try_into().expect("8")) as usize;
                if size != world || rank == 0 || rank >= world || slots[rank - 1].is_some() {
                    let why = format!(
                        "rank {rank} of a group of {size} joined a group of {world}{}",
                        if rank > 0 && rank < world && slots[rank - 1].is_some() {
                            " twice"
                        } else {
                            ""
                        }
                    );
                    let _ = link.send(ABORT, why.as_bytes());
                    let mut joined: Vec<Link> = slots.iter_mut().filter_map(Option::take).collect();
                    abort_links(&mut joined, &why);
                    return Err(Error::Parallel(why));
                }
                link.send(HELLO, &[]).map_err(|e| io("greeting", e))?;
                slots[rank - 1] = Some(link);
                joined += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    let missing: Vec<String> = slots
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.is_none())
                        .map(|(i, _)| (i + 1).to_string())
                        .collect();
                    return Err(Error::Parallel(format!(
                        "rank 0 waited {} s for rank(s) {} to join",
                        timeout.as_secs(),
                        missing.join(", ")
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(io("accepting", e)),
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

fn connect_to_hub(
    rank: usize,
    world: usize,
    rendezvous: &Rendezvous,
    timeout: Duration,
) -> Result<Link> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("nothing tried");
    loop {
        let addr = match rendezvous {
            Rendezvous::Address(a) => Some(a.clone()),
            Rendezvous::File { path, .. } => std::fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        };
        if let Some(addr) = addr {
            let attempt = addr
                .to_socket_addrs()
                .map_err(|e| e.to_string())
                .and_then(|mut a| a.next().ok_or_else(|| "no address".to_string()))
                .and_then(|a| {
                    TcpStream::connect_timeout(&a, Duration::from_secs(5))
                        .map_err(|e| e.to_string())
                })
                .and_then(|s| Link::new(s).map_err(|e| e.to_string()))
                .and_then(|mut link| {
                    let mut hello = (rank as u64).to_le_bytes().to_vec();
                    hello.extend((world as u64).to_le_bytes());
                    link.send(HELLO, &hello).map_err(|e| e.to_string())?;
                    match link.recv().map_err(|e| e.to_string())? {
                        (HELLO, _) => Ok(link),
                        (ABORT, why) => Err(format!("refused: {}", String::from_utf8_lossy(&why))),
                        (k, _) => Err(format!("protocol error: {}", kind_name(k))),
                    }
                });
            match attempt {
                Ok(link) => return Ok(link),
                Err(e) if e.starts_with("refused") => {
                    return Err(Error::Parallel(format!("rank {rank}: rank 0 {e}")))
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        } else if let Rendezvous::File { path, .. } = rendezvous {
            last = format!("{} not written yet", path.display());
        }
        if Instant::now() > deadline {
            return Err(Error::Parallel(format!(
                "rank {rank} could not join rank 0 within {} s ({last})",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

impl Communicator for TcpComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.world
    }

    fn all_reduce_f32(&self, buf: &mut [f32]) -> Result<()> {
        let n = buf.len();
        let sum = self.exchange(F32, f32_bytes(buf), |parts| {
            let mut acc = bytes_f32(&parts[0]);
            for (r, p) in parts.iter().enumerate().skip(1) {
                let v = bytes_f32(p);
                if v.len() != n {
                    return Err(Error::Parallel(format!(
                        "all_reduce_f32: rank 0 has {n} values, rank {r} {}",
                        v.len()
                    )));
                }
                // Rank order, one addition per rank, as ThreadComm.
                acc.iter_mut().zip(&v).for_each(|(a, x)| *a += x);
            }
            Ok(f32_bytes(&acc))
        })?;
        let v = bytes_f32(&sum);
        if v.len() != n {
            return Err(Error::Parallel(format!(
                "all_reduce_f32: sent {n} values, got {} back",
                v.len()
            )));
        }
        buf.copy_from_slice(&v);
        Ok(())
    }

    fn all_reduce_usize(&self, value: usize) -> Result<usize> {
        let sum = self.exchange(USIZE, (value as u64).to_le_bytes().to_vec(), |parts| {
            let mut acc = 0u64;
            for p in &parts {
                let v = u64::from_le_bytes(
                    p.as_slice()
                        .try_into()
                        .map_err(|_| Error::Parallel("all_reduce_usize: malformed part".into()))?,
                );
                acc = acc
                    .checked_add(v)
                    .ok_or_else(|| Error::Parallel("all_reduce_usize overflows".into()))?;
            }
            Ok(acc.to_le_bytes().to_vec())
        })?;
        let v = u64::from_le_bytes(
            sum.as_slice()
                .try_into()
                .map_err(|_| Error::Parallel("all_reduce_usize: malformed sum".into()))?,
        );
        Ok(v as usize)
    }

    fn all_gather_bytes(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let all = self.exchange(BYTES, bytes.to_vec(), |parts| {
            let mut out = Vec::new();
            for p in &parts {
                out.extend((p.len() as u64).to_le_bytes());
                out.extend(p);
            }
            Ok(out)
        })?;
        let mut parts = Vec::with_capacity(self.world);
        let mut at = 0;
        while at < all.len() {
            let len = all
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
                .ok_or_else(|| Error::Parallel("all_gather_bytes: malformed result".into()))?;
            at += 8;
            let part = all
                .get(at..at + len)
                .ok_or_else(|| Error::Parallel("all_gather_bytes: malformed result".into()))?;
            parts.push(part.to_vec());
            at += len;
        }
        if parts.len() != self.world {
            return Err(Error::Parallel(format!(
                "all_gather_bytes: {} parts from {} ranks",
                parts.len(),
                self.world
            )));
        }
        Ok(parts)
    }

    fn barrier(&self) -> Result<()> {
        self.exchange(BARRIER, Vec::new(), |_| Ok(Vec::new()))
            .map(drop)
    }

    fn abort(&self, what: &str) {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert((self.rank, what.to_string()));
        }
        if let Ok(mut links) = self.links.lock() {
            let why = if self.rank == 0 {
                format!("rank 0: {what}")
            } else {
                what.to_string()
            };
            abort_links(&mut links, &why);
        }
    }
}
