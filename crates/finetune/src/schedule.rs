//! Learning-rate schedules with linear warmup, as in transformers' `optimization.py`
//! (4.57): `get_constant_schedule_with_warmup`, `get_linear_schedule_with_warmup` and
//! `get_cosine_schedule_with_warmup` with `num_cycles = 0.5`.
//!
//! `lr_at(.., step)` is the learning rate used by optimizer step number `step` (0-based):
//! Hugging Face calls `scheduler.step()` after each `optimizer.step()`, so the first update
//! uses `lambda(0)` — zero when there is any warmup.

use serde::{Deserialize, Serialize};

/// Shape of the learning rate after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// `get_constant_schedule_with_warmup`: 1 after warmup.
    Constant,
    /// `get_linear_schedule_with_warmup`: linear decay to 0 at `total_steps`.
    Linear,
    /// `get_cosine_schedule_with_warmup` (half a cosine period, to 0 at `total_steps`).
    Cosine,
}

/// The multiplier `lambda(step)` that transformers' `LambdaLR` applies to the base rate.
///
/// Mirrors the Python expressions term by term (same operation order), so the f64 results
/// equal the reference's bit for bit.
pub fn lambda(schedule: Schedule, warmup_steps: u64, total_steps: u64, step: u64) -> f64 {
    if step < warmup_steps {
        // float(current_step) / float(max(1, num_warmup_steps))
        return step as f64 / warmup_steps.max(1) as f64;
    }
    // Steps are counts far below 2^53, so the i64/f64 conversions are exact.
    let (step, warmup, total) = (step as i64, warmup_steps as i64, total_steps as i64);
    match schedule {
        Schedule::Constant => 1.0,
        Schedule::Linear => {
            // max(0.0, float(total - step) / float(max(1, total - warmup)))
            let r = (total - step) as f64 / (total - warmup).max(1) as f64;
            r.max(0.0)
        }
        Schedule::Cosine => {
            const NUM_CYCLES: f64 = 0.5;
            let progress = (step - warmup) as f64 / (total - warmup).max(1) as f64;
            // max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
            let c = 0.5 * (1.0 + (std::f64::consts::PI * NUM_CYCLES * 2.0 * progress).cos());
            c.max(0.0)
        }
    }
}

/// Learning rate for the 0-based optimizer step `step`: `base_lr * lambda(step)`.
pub fn lr_at(
    schedule: Schedule,
    base_lr: f64,
    warmup_steps: u64,
    total_steps: u64,
    step: u64,
) -> f64 {
    base_lr * lambda(schedule, warmup_steps, total_steps, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15 * b.abs().max(1e-300)
    }

    #[test]
    fn warmup_is_linear_from_zero() {
        for s in [Schedule::Constant, Schedule::Linear, Schedule::Cosine] {
            assert_eq!(lr_at(s, 1.0, 4, 100, 0), 0.0);
            assert_eq!(lr_at(s, 1.0, 4, 100, 1), 0.25);
            assert_eq!(lr_at(s, 1.0, 4, 100, 3), 0.75);
            assert_eq!(lr_at(s, 2.0, 4, 100, 4), 2.0);
        }
    }

    #[test]
    fn no_warmup_starts_at_base() {
        assert_eq!(lr_at(Schedule::Constant, 3e-4, 0, 10, 0), 3e-4);
        assert_eq!(lr_at(Schedule::Linear, 3e-4, 0, 10, 0), 3e-4);
        assert_eq!(lr_at(Schedule::Cosine, 3e-4, 0, 10, 0), 3e-4);
    }

    #[test]
    fn linear_decays_to_zero_and_stays() {
        // warmup 2, total 10: step 6 -> (10-6)/8 = 0.5
        assert!(close(lr_at(Schedule::Linear, 1.0, 2, 10, 6), 0.5));
        assert_eq!(lr_at(Schedule::Linear, 1.0, 2, 10, 10), 0.0);
        assert_eq!(lr_at(Schedule::Linear, 1.0, 2, 10, 15), 0.0);
    }

    #[test]
    fn cosine_halfway_and_end() {
        // progress 0.5 -> 0.5 * (1 + cos(pi/2)) = 0.5
        assert!(close(lr_at(Schedule::Cosine, 1.0, 2, 10, 6), 0.5));
        let end = lr_at(Schedule::Cosine, 1.0, 2, 10, 10);
        assert!(end.abs() < 1e-16, "{end}");
        // progress 0.25 -> 0.5 * (1 + cos(pi/4))
        let want = 0.5 * (1.0 + std::f64::consts::FRAC_1_SQRT_2);
        assert!(close(lr_at(Schedule::Cosine, 1.0, 2, 10, 4), want));
        // Past the end the cosine rises again, as in transformers (no clamp on progress):
        // progress 1.25 -> 0.5 * (1 + cos(1.25 pi)).
        let past = lr_at(Schedule::Cosine, 1.0, 2, 10, 12);
        assert!(
            close(past, 0.5 * (1.0 - std::f64::consts::FRAC_1_SQRT_2)),
            "{past}"
        );
    }

    #[test]
    fn total_equal_to_warmup_does_not_divide_by_zero() {
        assert_eq!(lr_at(Schedule::Linear, 1.0, 5, 5, 5), 0.0);
        assert_eq!(lr_at(Schedule::Cosine, 1.0, 5, 5, 5), 1.0);
        assert_eq!(lr_at(Schedule::Constant, 1.0, 5, 5, 7), 1.0);
    }

    #[test]
    fn serde_lowercase() {
        #[derive(Deserialize, Serialize)]
        struct W {
            s: Schedule,
        }
        let w: W = serde_json::from_str(r#"{"s":"cosine"}"#).expect("parse");
        assert_eq!(w.s, Schedule::Cosine);
        let back = serde_json::to_string(&W {
            s: Schedule::Linear,
        })
        .expect("ser");
        assert_eq!(back, r#"{"s":"linear"}"#);
        assert!(serde_json::from_str::<W>(r#"{"s":"Cosine"}"#).is_err());
    }

    /// `sched.{constant,linear,cosine}` in the torch fixture: f64 [10], base 1e-3, warmup 2,
    /// total 10, entry k = lr used by optimizer step k (scripts/make_train_fixture.py).
    #[test]
    fn matches_transformers_fixture() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/train/reference.safetensors");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
        for (name, s) in [
            ("constant", Schedule::Constant),
            ("linear", Schedule::Linear),
            ("cosine", Schedule::Cosine),
        ] {
            let view = st.tensor(&format!("sched.{name}")).expect("sched key");
            assert_eq!(view.dtype(), safetensors::Dtype::F64);
            let want: Vec<f64> = view
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            assert_eq!(want.len(), 10);
            for (k, w) in want.iter().enumerate() {
                let got = lr_at(s, 1e-3, 2, 10, k as u64);
                // Same expressions in the same order: bit-identical to the Python floats.
                assert_eq!(got, *w, "{name}[{k}]");
            }
        }
    }
}
