//! Data parallelism on the tiny model, with the in-process (threads) communicator: 2 ranks ×
//! micro-batch m × accumulation K train the weights of 1 rank with accumulation 2K (LoRA
//! dropout on, so the dropout masks must correspond too), bad samples included; a 2-rank
//! run stopped and resumed is bit-exact; a resume with another world size is refused; the
//! bucketed all-reduce is the plain sum for any bucket size; a failed rank does not leave
//! the others waiting; the torchrun-style environment makes a process rank; TCP ranks (the
//! multi-process communicator) sum to the same bits as thread ranks and fail instead of
//! hanging when a peer fails, leaves or calls another collective.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use candle_core::{Device, Tensor};
use finetune::config::Config;
use finetune::parallel::tcp::{Rendezvous, TcpComm};
use finetune::parallel::{
    all_reduce_bucketed, Communicator, ParallelOptions, ProcessRank, ThreadComm,
};
use finetune::Error;
use testkit::{fixtures, max_abs_diff, scratch};

/// An AC manifest (3 clips) and an ACC one (a pair), and a LoRA config (dropout 0.1) over
/// both; `extra` is appended to `[train]`.
fn setup(dir: &Path, extra: &str) -> PathBuf {
    let clips = fixtures().join("tiny/clips");
    let c = |n: &str| clips.join(n).display().to_string();
    let ac = format!(
        "{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"a voice hums\"}}\n{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"a steady tone\"}}\n{{\"task\":\"ac\",\"audio\":\"{}\",\"target\":\"noise and a pluck\"}}\n",
        c("speech.wav"),
        c("tone.wav"),
        c("noise_pluck.wav")
    );
    let acc = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":\"<audio><audio>What do they share?\"}},{{\"role\":\"assistant\",\"content\":\"a steady sound\"}}],\"audios\":[\"{}\",\"{}\"]}}\n",
        c("speech.wav"),
        c("tone.wav")
    );
    std::fs::write(dir.join("ac.jsonl"), ac).unwrap();
    std::fs::write(dir.join("acc.jsonl"), acc).unwrap();
    let cfg = format!(
        r#"
[model]
source = "{model}"
dtype = "f32"
device = "cpu"
[lora]
r = 4
alpha = 8
dropout = 0.1
target_modules = "all-linear"
[train]
lr = 1e-3
weight_decay = 0.1
schedule = "cosine"
steps = 3
seed = 3
{extra}
[[data.train]]
task = "ac"
manifest = "{dir}/ac.jsonl"
[[data.train]]
task = "acc"
manifest = "{dir}/acc.jsonl"
[output]
dir = "{dir}/run"
save_every = 2
keep_last = 0
"#,
        model = fixtures().join("tiny/model").display(),
        dir = dir.display(),
    );
    let p = dir.join("cfg.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn ranks(n: usize) -> ParallelOptions {
    ParallelOptions {
        nproc: n,
        // Small buckets: tensors straddle them.
        bucket_elems: 1000,
    }
}

fn never() -> AtomicBool {
    AtomicBool::new(false)
}

fn adapter(run: &Path) -> HashMap<String, Tensor> {
    testkit::load_tensors(run.join("adapter/adapter_model.safetensors"))
}

/// `metrics.jsonl`'s training records: (step, loss, label tokens, lr, grad norm).
fn records(run: &Path) -> Vec<(u64, f64, u64, f64, f64)> {
    testkit::read_jsonl(run.join("metrics.jsonl"))
        .iter()
        .map(|v| {
            (
                v["step"].as_u64().unwrap(),
                v["loss"].as_f64().unwrap(),
                v["label_tokens"].as_u64().unwrap(),
                v["lr"].as_f64().unwrap(),
                v["grad_norm"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn max_weight_diff(a: &HashMap<String, Tensor>, b: &HashMap<String, Tensor>) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .map(|(k, t)| max_abs_diff(t, &b[k]))
        .fold(0.0, f64::max)
}

/// 2 ranks × micro-batch m × K vs 1 rank × m × 2K, 3 steps: weights within 1e-6; the first
/// step's loss (same weights, same examples, same dropout masks) identical; the token
/// counts of every step identical; the measured difference is printed.
fn two_ranks_equal_one_with_twice_the_accumulation(name: &str, m: usize, k: usize, extra: &str) {
    let train = |dir: &Path, accum: usize, nproc: usize| {
        let sets = format!("micro_batch = {m}\ngrad_accum = {accum}\n{extra}");
        let cfg = Config::load(&setup(dir, &sets), &[]).unwrap();
        let out = match nproc {
            // The one-device recipe itself, no communicator.
            1 => finetune::run_until(&cfg, &never(), None).unwrap(),
            n => finetune::parallel::run(&cfg, &never(), None, &ranks(n)).unwrap(),
        };
        assert_eq!(out.steps_done, 3);
        out
    };
    let one = scratch(&format!("dp-one-{name}"));
    let two = scratch(&format!("dp-two-{name}"));
    let o1 = train(&one, 2 * k, 1);
    let o2 = train(&two, k, 2);
    // The same samples skipped, in the same order (the lines name each run's own files).
    let tail = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(tail(&o1.skipped), tail(&o2.skipped));
    if !extra.is_empty() {
        assert!(!o2.skipped.is_empty(), "{name}: nothing was skipped");
    }
    let (w1, w2) = (adapter(&one.join("run")), adapter(&two.join("run")));
    let d = max_weight_diff(&w1, &w2);
    let max_w = w1.values().map(testkit::max_abs).fold(0.0, f64::max);
    eprintln!(
        "{name}: max |w(2 ranks) − w(1 rank, 2× accumulation)| = {d:.3e} (max |w| {max_w:.3})"
    );
    assert!(d <= 1e-6, "{name}: weights differ by {d}");
    let (r1, r2) = (records(&one.join("run")), records(&two.join("run")));
    assert_eq!(r1.len(), 3);
    assert_eq!(r1.len(), r2.len());
    // Step 1: the same examples, masks and weights give the same loss, bit for bit (only
    // the order of adding the micro-batches' gradients differs).
    assert_eq!(r1[0].1, r2[0].1, "{name}: the first loss differs");
    for (a, b) in r1.iter().zip(&r2) {
        assert_eq!((a.0, a.2, a.3), (b.0, b.2, b.3));
        assert!(
            (a.1 - b.1).abs() <= 1e-6 * a.1,
            "{name}: loss {a:?} vs {b:?}"
        );
        assert!(
            (a.4 - b.4).abs() <= 1e-5 * a.4,
            "{name}: grad norm {a:?} vs {b:?}"
        );
    }
    // Training changed the adapter (B starts at zero).
    assert!(w2
        .iter()
        .any(|(k, t)| k.contains("lora_B") && testkit::max_abs(t) > 0.0));
}

#[test]
fn two_ranks_give_the_weights_of_one_rank_with_twice_the_accumulation() {
    two_ranks_equal_one_with_twice_the_accumulation("m2k1", 2, 1, "");
    two_ranks_equal_one_with_twice_the_accumulation("m1k2", 1, 2, "");
}

#[test]
fn skipped_samples_land_where_one_rank_puts_them() {
    // The ACC pair (119 tokens) and one AC clip (122) are longer than train.max_tokens:
    // every draw of them is skipped and replaced by the next draw, on one rank as on two.
    two_ranks_equal_one_with_twice_the_accumulation(
        "skip",
        2,
        2,
        "max_tokens = 100\non_bad_sample = \"skip\"",
    );
}

#[test]
fn a_two_rank_run_stopped_and_resumed_is_bit_exact() {
    let steps = ["train.steps=4".to_string()];
    let a = scratch("dp-straight");
    let cfg = Config::load(&setup(&a, "grad_accum = 2"), &steps).unwrap();
    finetune::parallel::run(&cfg, &never(), None, &ranks(2)).unwrap();

    let b = scratch("dp-resumed");
    let cfg_b = Config::load(&setup(&b, "grad_accum = 2"), &steps).unwrap();
    let first = finetune::parallel::run(&cfg_b, &never(), Some(2), &ranks(2)).unwrap();
    assert!(first.interrupted && first.steps_done == 2);
    let state = testkit::read_json(b.join("run/checkpoint-00000002/state.json"));
    assert_eq!(state["world_size"], 2);

    // One rank may not continue it (and trying leaves it intact).
    let e = finetune::run_until(&cfg_b, &never(), None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::WorldSizeChanged {
                saved: 2,
                now: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--nproc 2"), "{e}");

    let second = finetune::parallel::run(&cfg_b, &never(), None, &ranks(2)).unwrap();
    assert_eq!(second.steps_done, 4);
    assert_eq!(records(&a.join("run")), records(&b.join("run")));
    let (wa, wb) = (adapter(&a.join("run")), adapter(&b.join("run")));
    assert_eq!(max_weight_diff(&wa, &wb), 0.0, "resume is not bit-exact");
    // Only rank 0 wrote: one line per step.
    assert_eq!(records(&b.join("run")).len(), 4);
}

#[test]
fn resuming_with_another_world_size_is_refused() {
    let d = scratch("dp-world");
    let cfg = Config::load(&setup(&d, ""), &[]).unwrap();
    let out = finetune::run_until(&cfg, &never(), Some(1)).unwrap();
    assert!(out.interrupted);
    let e = finetune::parallel::run(&cfg, &never(), None, &ranks(2)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::WorldSizeChanged {
                saved: 1,
                now: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("trained with 1 rank(s), this run has 2"),
        "{e}"
    );
}

/// Runs `f(rank's communicator)` on `n` threads; the results in rank order.
fn on_ranks<T: Send>(n: usize, f: impl Fn(&ThreadComm) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadComm::group(n)
            .into_iter()
            .map(|c| {
                let f = &f;
                s.spawn(move || f(&c))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Rank `r`'s gradients: odd sizes, a scalar-like tensor and an empty one.
fn grads(r: usize) -> Vec<Tensor> {
    let shapes: [&[usize]; 6] = [&[3], &[2, 5], &[1], &[7, 1, 3], &[0, 4], &[11]];
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n: usize = s.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|j| {
                    let x = ((r * 7919 + i * 104_729 + j * 31) % 1000) as f32;
                    (x - 500.0) * 1.37e-3 + (j as f32).sin() * 1e-7
                })
                .collect();
            Tensor::from_vec(v, *s, &Device::Cpu).unwrap()
        })
        .collect()
}

#[test]
fn the_bucketed_all_reduce_is_the_plain_sum() {
    for world in [1, 2, 3] {
        // The plain sum, in rank order.
        let mut want = grads(0);
        for r in 1..world {
            for (w, g) in want.iter_mut().zip(grads(r)) {
                *w = (&*w + g).unwrap();
            }
        }
        for bucket in [1, 2, 5, 7, 13, 1000] {
            let got = on_ranks(world, |c| {
                let mut g = grads(c.rank());
                all_reduce_bucketed(c, &mut g, bucket).unwrap();
                g
            });
            for (r, g) in got.iter().enumerate() {
                for (a, b) in g.iter().zip(&want) {
                    assert_eq!(a.dims(), b.dims());
                    let d = if a.elem_count() == 0 {
                        0.0
                    } else {
                        max_abs_diff(a, b)
                    };
                    assert_eq!(d, 0.0, "world {world}, bucket {bucket}, rank {r}");
                }
            }
        }
    }
    let e = on_ranks(1, |c| all_reduce_bucketed(c, &mut grads(0), 0).unwrap_err());
    assert!(matches!(e[0], Error::Parallel(_)));
}

#[test]
fn a_failed_rank_does_not_leave_the_others_waiting() {
    let got = on_ranks(3, |c| {
        if c.rank() == 1 {
            c.abort("disk full");
            return None;
        }
        Some(c.all_reduce_usize(1).unwrap_err())
    });
    for e in got.into_iter().flatten() {
        assert!(
            matches!(&e, Error::PeerFailed { rank: 1, what } if what == "disk full"),
            "{e}"
        );
    }
    // Mismatched collectives are named, not summed.
    let got = on_ranks(2, |c| {
        if c.rank() == 0 {
            c.all_reduce_f32(&mut [1.0, 2.0]).map(drop)
        } else {
            c.all_reduce_usize(3).map(drop)
        }
    });
    assert!(got.iter().all(Result::is_err));
    assert!(got
        .iter()
        .any(|r| matches!(r, Err(Error::Parallel(m)) if m.contains("collective mismatch"))));
    // Usize sums and broadcasts.
    let got = on_ranks(3, |c| {
        let n = c.all_reduce_usize(c.rank() + 1).unwrap();
        let b = c.broadcast_bytes(2, &[c.rank() as u8]).unwrap();
        c.barrier().unwrap();
        (n, b)
    });
    assert!(got.iter().all(|x| *x == (6, vec![2])));
}

#[test]
fn the_torchrun_environment_makes_a_process_rank() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(ProcessRank::from_env(env(&[])).unwrap(), None);
    assert_eq!(
        ProcessRank::from_env(env(&[("WORLD_SIZE", "1"), ("RANK", "0")])).unwrap(),
        None
    );
    let me = ProcessRank::from_env(env(&[
        ("WORLD_SIZE", "4"),
        ("RANK", "3"),
        ("LOCAL_RANK", "1"),
        ("MASTER_ADDR", "10.0.0.1"),
        ("MASTER_PORT", "29500"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!((me.rank, me.local_rank, me.world_size), (3, 1, 4));
    assert_eq!(me.rendezvous, Rendezvous::Address("10.0.0.1:29500".into()));
    let me = ProcessRank::from_env(env(&[
        ("WORLD_SIZE", "2"),
        ("RANK", "1"),
        ("TRAINER_RDZV_FILE", "/shared/rdzv"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(me.local_rank, 1, "LOCAL_RANK defaults to RANK");
    assert!(matches!(me.rendezvous, Rendezvous::File { ref host, .. } if host == "127.0.0.1"));
    // Missing or malformed variables are named.
    for (pairs, needle) in [
        (&[("WORLD_SIZE", "two")][..], "WORLD_SIZE=\"two\""),
        (
            &[
                ("WORLD_SIZE", "2"),
                ("MASTER_ADDR", "h"),
                ("MASTER_PORT", "1"),
            ][..],
            "no RANK",
        ),
        (
            &[
                ("WORLD_SIZE", "2"),
                ("RANK", "2"),
                ("MASTER_ADDR", "h"),
                ("MASTER_PORT", "1"),
            ][..],
            "RANK=2",
        ),
        (
            &[("WORLD_SIZE", "2"), ("RANK", "1"), ("MASTER_ADDR", "h")][..],
            "MASTER_PORT",
        ),
    ] {
        let pairs: &'static [(&str, &str)] = Box::leak(pairs.to_vec().into_boxed_slice());
        let e = ProcessRank::from_env(env(pairs)).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
}

/// `world` TCP ranks (threads standing in for processes) joined through a rendezvous file.
fn tcp_group(world: usize, name: &str) -> Vec<TcpComm> {
    let path = testkit::scratch(name).join("rdzv");
    let rdzv = Rendezvous::File {
        path,
        host: "127.0.0.1".into(),
    };
    let handles: Vec<_> = (0..world)
        .rev()
        .map(|rank| {
            let rdzv = rdzv.clone();
            std::thread::spawn(move || {
                TcpComm::connect(rank, world, &rdzv, Duration::from_secs(30)).unwrap()
            })
        })
        .collect();
    let mut comms: Vec<TcpComm> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    comms.sort_by_key(|c| c.rank());
    comms
}

#[test]
fn tcp_ranks_give_the_bits_of_thread_ranks() {
    let world = 3;
    let data = |rank: usize| -> Vec<f32> {
        (0..1000)
            .map(|i| ((i * 7 + rank * 13) as f32 * 0.37).sin() * 1e3f32.powi(rank as i32 - 1))
            .collect()
    };
    let run = |comms: Vec<Box<dyn Communicator + Send>>| -> Vec<(Vec<f32>, usize, Vec<Vec<u8>>)> {
        std::thread::scope(|s| {
            let hs: Vec<_> = comms
                .into_iter()
                .map(|c| {
                    s.spawn(move || {
                        let r = c.rank();
                        let mut v = data(r);
                        c.all_reduce_f32(&mut v).unwrap();
                        let n = c.all_reduce_usize(r + 1).unwrap();
                        let g = c.all_gather_bytes(format!("rank{r}").as_bytes()).unwrap();
                        c.barrier().unwrap();
                        let b = c.broadcast_bytes(2, &[r as u8]).unwrap();
                        assert_eq!(b, vec![2u8]);
                        (v, n, g)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let tcp = run(tcp_group(world, "tcp-bits")
        .into_iter()
        .map(|c| Box::new(c) as Box<dyn Communicator + Send>)
        .collect());
    let threads = run(ThreadComm::group(world)
        .into_iter()
        .map(|c| Box::new(c) as Box<dyn Communicator + Send>)
        .collect());
    for (a, b) in tcp.iter().zip(&threads) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.0), bits(&b.0), "the same sum order");
        assert_eq!(a.1, 6);
        assert_eq!(a.2, b.2);
        assert_eq!(a.2[1], b"rank1");
    }
}

#[test]
fn a_failed_tcp_rank_fails_the_others_instead_of_hanging() {
    // Rank 1 aborts: ranks 0 and 2 get PeerFailed naming rank 1 at their next collective.
    let comms = tcp_group(3, "tcp-abort");
    let out: Vec<std::result::Result<(), Error>> = std::thread::scope(|s| {
        let hs: Vec<_> = comms
            .iter()
            .map(|c| {
                s.spawn(move || {
                    if c.rank() == 1 {
                        c.abort("out of memory");
                        return Ok(());
                    }
                    c.barrier()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in [0, 2] {
        match &out[r] {
            Err(Error::PeerFailed { rank: 1, what }) => {
                assert!(what.contains("out of memory"), "{what}")
            }
            other => panic!("rank {r}: {other:?}"),
        }
    }
    // A rank that leaves (its process died: the connection closes) fails the group too.
    let mut comms = tcp_group(2, "tcp-leave");
    drop(comms.pop());
    match comms[0].barrier() {
        Err(Error::PeerFailed { rank: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Different collectives are a mismatch, named, not a hang.
    let comms = tcp_group(2, "tcp-mismatch");
    let out: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = comms
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let e = if c.rank() == 0 {
                        c.barrier().unwrap_err()
                    } else {
                        c.all_reduce_usize(1).unwrap_err()
                    };
                    e.to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        out[0].contains("mismatch") && out[0].contains("all_reduce_usize"),
        "{out:?}"
    );
    assert!(out[1].contains("mismatch"), "{out:?}");
}
