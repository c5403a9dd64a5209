//! A deterministic, resumable sampler over several task datasets: at each step a task is
//! drawn by weight, then that task's next sample in a seeded shuffle of its dataset; at the
//! end of a shuffle the task starts a new epoch with a new shuffle.
//!
//! Its whole state ([`MixtureState`]: the task-choice RNG, and per task the epoch, the cursor
//! and the seed its shuffles derive from) is serde-serialisable; a sampler restored from a
//! saved state continues with exactly the draws the original would have made. Shuffles are
//! recomputed from (task seed, epoch), never stored.

use rng::{derive_seed, Rng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Format version of [`MixtureState`].
pub const STATE_VERSION: u32 = 1;

/// One dataset of the mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSource {
    /// A name for messages and checks on restore (e.g. "ac", "acc").
    pub name: String,
    /// Number of samples.
    pub len: usize,
    /// Relative weight: finite, >= 0; the weights must not all be 0.
    pub weight: f64,
}

/// Where one task is in its shuffles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskCursor {
    pub name: String,
    pub len: usize,
    pub weight: f64,
    /// Seed of this task's shuffles: epoch `e` is a Fisher–Yates shuffle by
    /// `Rng::stream(seed, e)`.
    pub seed: u64,
    /// Current epoch, from 0.
    pub epoch: u64,
    /// Samples of the current epoch already drawn (`len` = the epoch is used up; the next
    /// draw starts epoch `epoch + 1`).
    pub cursor: usize,
}

/// The sampler's full state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureState {
    pub version: u32,
    /// Draws made so far.
    pub step: u64,
    /// The task-choice generator.
    pub rng: Rng,
    pub tasks: Vec<TaskCursor>,
}

/// One draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// Index into the sources.
    pub task: usize,
    /// Index into that task's dataset.
    pub index: usize,
    /// That task's epoch.
    pub epoch: u64,
    /// The step of this draw, from 0.
    pub step: u64,
}

/// The sampler; see the module docs.
#[derive(Debug, Clone)]
pub struct MixtureSampler {
    state: MixtureState,
    weights: Vec<f64>,
    perms: Vec<Vec<usize>>,
}

fn permutation(seed: u64, epoch: u64, len: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..len).collect();
    Rng::stream(seed, epoch).shuffle(&mut p);
    p
}

fn validate(sources: &[(&str, usize, f64)]) -> Result<()> {
    if sources.is_empty() {
        return Err(Error::config("tasks", "no task datasets"));
    }
    for &(name, len, w) in sources {
        if !w.is_finite() || w < 0.0 {
            return Err(Error::config(
                &format!("tasks.{name}.weight"),
                format!("{w} is not finite and >= 0"),
            ));
        }
        if w > 0.0 && len == 0 {
            return Err(Error::config(
                &format!("tasks.{name}"),
                "has a positive weight but no samples",
            ));
        }
    }
    if sources.iter().all(|s| s.2 == 0.0) {
        return Err(Error::config("tasks", "all weights are 0"));
    }
    Ok(())
}

impl MixtureSampler {
    /// A fresh sampler over `sources`, seeded with `seed`.
    pub fn new(sources: &[TaskSource], seed: u64) -> Result<Self> {
        let v: Vec<_> = sources
            .iter()
            .map(|s| (s.name.as_str(), s.len, s.weight))
            .collect();
        validate(&v)?;
        let tasks = sources
            .iter()
            .enumerate()
            .map(|(i, s)| TaskCursor {
                name: s.name.clone(),
                len: s.len,
                weight: s.weight,
                seed: derive_seed(seed, i as u64 + 1),
                epoch: 0,
                cursor: 0,
            })
            .collect();
        Self::from_state(MixtureState {
            version: STATE_VERSION,
            step: 0,
            rng: Rng::stream(seed, 0),
            tasks,
        })
    }

    /// The sampler a saved state describes (checked for internal consistency only).
    pub fn from_state(state: MixtureState) -> Result<Self> {
        let bad = |reason: String| Error::State { reason };
        if state.version != STATE_VERSION {
            return Err(bad(format!(
                "state version {} (expected {STATE_VERSION})",
                state.version
            )));
        }
        let v: Vec<_> = state
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.len, t.weight))
            .collect();
        validate(&v).map_err(|e| bad(e.to_string()))?;
        for t in &state.tasks {
            if t.cursor > t.len {
                return Err(bad(format!(
                    "task `{}`: cursor {} > length {}",
                    t.name, t.cursor, t.len
                )));
            }
        }
        let weights = state.tasks.iter().map(|t| t.weight).collect();
        let perms = state
            .tasks
            .iter()
            .map(|t| permutation(t.seed, t.epoch, t.len))
            .collect();
        Ok(Self {
            state,
            weights,
            perms,
        })
    }

    /// Restores a saved state onto `sources`, refusing it unless their names, lengths and
    /// weights are those the state was saved with (resuming over a changed dataset would
    /// silently continue a different stream).
    pub fn restore(sources: &[TaskSource], state: MixtureState) -> Result<Self> {
        if sources.len() != state.tasks.len() {
            return Err(Error::State {
                reason: format!(
                    "{} tasks given, the state has {}",
                    sources.len(),
                    state.tasks.len()
                ),
            });
        }
        for (s, t) in sources.iter().zip(&state.tasks) {
            if (s.name.as_str(), s.len, s.weight) != (t.name.as_str(), t.len, t.weight) {
                return Err(Error::State {
                    reason: format!(
                        "task {:?} (len {}, weight {}) does not match the saved {:?} (len {}, weight {})",
                        s.name, s.len, s.weight, t.name, t.len, t.weight
                    ),
                });
            }
        }
        Self::from_state(state)
    }

    /// The state to save; [`MixtureSampler::from_state`] of it continues identically.
    pub fn state(&self) -> &MixtureState {
        &self.state
    }

    /// The next (task, sample) draw.
    pub fn next_draw(&mut self) -> Draw {
        let task = self.state.rng.weighted(&self.weights);
        let t = &mut self.state.tasks[task];
        if t.cursor >= t.len {
            t.epoch += 1;
            t.cursor = 0;
            self.perms[task] = permutation(t.seed, t.epoch, t.len);
        }
        let index = self.perms[task][t.cursor];
        t.cursor += 1;
        let step = self.state.step;
        self.state.step += 1;
        Draw {
            task,
            index,
            epoch: t.epoch,
            step,
        }
    }
}

impl Iterator for MixtureSampler {
    type Item = Draw;
    /// Never ends.
    fn next(&mut self) -> Option<Draw> {
        Some(self.next_draw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<TaskSource> {
        [("ac", 37, 0.5), ("acc", 11, 0.3), ("adc", 5, 0.2)]
            .iter()
            .map(|&(n, len, weight)| TaskSource {
                name: n.into(),
                len,
                weight,
            })
            .collect()
    }

    #[test]
    fn proportions_follow_weights() {
        let mut s = MixtureSampler::new(&sources(), 1234).unwrap();
        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            counts[s.next_draw().task] += 1;
        }
        for (c, w) in counts.iter().zip([0.5, 0.3, 0.2]) {
            let p = *c as f64 / 10_000.0;
            assert!((p - w).abs() < 0.02, "{counts:?}");
        }
    }

    #[test]
    fn each_epoch_is_a_permutation() {
        let src = vec![TaskSource {
            name: "ac".into(),
            len: 7,
            weight: 1.0,
        }];
        let mut s = MixtureSampler::new(&src, 9).unwrap();
        let mut epochs = Vec::new();
        for _ in 0..3 {
            let mut e: Vec<usize> = (0..7).map(|_| s.next_draw().index).collect();
            epochs.push(e.clone());
            e.sort();
            assert_eq!(e, (0..7).collect::<Vec<_>>());
        }
        assert_ne!(epochs[0], epochs[1]);
    }

    #[test]
    fn save_restore_continues_identically() {
        let mut a = MixtureSampler::new(&sources(), 77).unwrap();
        for _ in 0..1234 {
            a.next_draw();
        }
        let saved = serde_json::to_string(a.state()).unwrap();
        let expected: Vec<Draw> = (0..3000).map(|_| a.next_draw()).collect();
        let state: MixtureState = serde_json::from_str(&saved).unwrap();
        let mut b = MixtureSampler::restore(&sources(), state.clone()).unwrap();
        let got: Vec<Draw> = (0..3000).map(|_| b.next_draw()).collect();
        assert_eq!(expected, got);
        let mut changed = sources();
        changed[1].len += 1;
        assert!(MixtureSampler::restore(&changed, state).is_err());
    }

    #[test]
    fn bad_weights_are_refused() {
        let mut s = sources();
        s[0].weight = f64::NAN;
        assert!(MixtureSampler::new(&s, 0).is_err());
        let mut s = sources();
        s.iter_mut().for_each(|t| t.weight = 0.0);
        assert!(MixtureSampler::new(&s, 0).is_err());
        let mut s = sources();
        s[2].len = 0;
        assert!(MixtureSampler::new(&s, 0).is_err());
        s[2].weight = 0.0;
        assert!(MixtureSampler::new(&s, 0).is_ok());
    }
}
