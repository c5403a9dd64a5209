//! What a user sees during training and what is kept afterwards:
//! - [`MetricsLog`]: one JSON object per line in `<run_dir>/metrics.jsonl`;
//! - [`Progress`]: an indicatif bar on a terminal, plain lines every N steps otherwise.
//!
//! The loss-curve PNG is the application's (`trainer`, which draws `metrics.jsonl`).

use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {source}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("a metrics record must serialise to a JSON object, got {0}")]
    NotAnObject(String),
    #[error(transparent)]
    Write(#[from] data::Error),
}

pub type Result<T> = std::result::Result<T, ReportError>;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError::Io { op, path, source }
}

// ---------------------------------------------------------------------------------------
// metrics.jsonl

/// Append-only JSON-lines log of training records (`{"step": 10, "loss": 2.3, ...}`).
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    pub const FILE_NAME: &'static str = "metrics.jsonl";

    /// Opens `<run_dir>/metrics.jsonl` for appending (created with `run_dir` if missing), so
    /// a resumed run continues the same file; call [`truncate_after`](Self::truncate_after)
    /// with the resumed step first.
    pub fn open(run_dir: &Path) -> Result<Self> {
        fs::create_dir_all(run_dir).map_err(io("creating directory", run_dir))?;
        let path = run_dir.join(Self::FILE_NAME);
        let file = Self::open_append(&path)?;
        Ok(Self { path, file })
    }

    fn open_append(path: &Path) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io("opening", path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `record` as one line; it reaches the OS before this returns (no user-space
    /// buffering), so a crash loses at most the line being written.
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let value = serde_json::to_value(record).map_err(|source| ReportError::Json {
            path: self.path.clone(),
            line: 0,
            source,
        })?;
        if !value.is_object() {
            return Err(ReportError::NotAnObject(value.to_string()));
        }
        let mut line = value.to_string();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(io("appending to", &self.path))
    }

    /// Rewrites the file atomically keeping only the records with `"step" <= step` (records
    /// without a numeric `"step"` are kept) and dropping a torn last line, so records a
    /// crashed run wrote after its last checkpoint are not duplicated on resume. Returns the
    /// number of records kept.
    pub fn truncate_after(&mut self, step: u64) -> Result<usize> {
        let records = read_metrics(&self.path)?;
        let mut text = String::new();
        let mut kept = 0;
        for r in &records {
            if r.get("step")
                .and_then(Value::as_f64)
                .is_some_and(|s| s > step as f64)
            {
                continue;
            }
            text.push_str(&Value::Object(r.clone()).to_string());
            text.push('\n');
            kept += 1;
        }
        data::fsutil::write_atomic(&self.path, text.as_bytes())?;
        // The rename replaced the file: reopen so appends go to the new one.
        self.file = Self::open_append(&self.path)?;
        Ok(kept)
    }
}

/// Reads a metrics file. A missing file has no records; an unparsable last line (torn by a
/// crash) is ignored, an unparsable line elsewhere is an error naming the line.
pub fn read_metrics(path: &Path) -> Result<Vec<Map<String, Value>>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("reading", path)(e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => out.push(m),
            Ok(other) => return Err(ReportError::NotAnObject(other.to_string())),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(source) => {
                return Err(ReportError::Json {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source,
                })
            }
        }
    }
    Ok(out)
}

/// `(step, record[key])` for the records that have both as numbers, e.g. the input of
/// a loss chart from `read_metrics`.
pub fn series(records: &[Map<String, Value>], key: &str) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|r| Some((r.get("step")?.as_f64()?, r.get(key)?.as_f64()?)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Progress

/// How [`Progress`] shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, else plain lines every [`DEFAULT_PLAIN_EVERY`] steps.
    Auto,
    Bar,
    /// One line on stderr every `every` steps (and at the last step).
    Plain {
        every: u64,
    },
    Hidden,
}

pub const DEFAULT_PLAIN_EVERY: u64 = 10;

/// What one optimizer step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Optimizer steps completed (1-based: the first update reports 1).
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub tokens_per_s: f64,
}

/// Training progress on stderr: step/total, loss, lr, tokens/s and ETA.
pub struct Progress {
    total: u64,
    start_step: u64,
    started: Instant,
    bar: Option<ProgressBar>,
    plain_every: Option<u64>,
}

impl Progress {
    /// `total_steps` optimizer steps in the run, `start_step` already done (resume).
    pub fn new(total_steps: u64, start_step: u64) -> Self {
        Self::with_mode(total_steps, start_step, ProgressMode::Auto)
    }

    pub fn with_mode(total_steps: u64, start_step: u64, mode: ProgressMode) -> Self {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Plain {
                every: DEFAULT_PLAIN_EVERY,
            },
            m => m,
        };
        let (bar, plain_every) = match mode {
            ProgressMode::Bar => {
                let style = ProgressStyle::with_template(
                    "[{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar =
                    ProgressBar::with_draw_target(Some(total_steps), ProgressDrawTarget::stderr())
                        .with_style(style)
                        .with_position(start_step);
                (Some(bar), None)
            }
            ProgressMode::Plain { every } => (None, Some(every.max(1))),
            ProgressMode::Hidden | ProgressMode::Auto => (None, None),
        };
        Self {
            total: total_steps,
            start_step,
            started: Instant::now(),
            bar,
            plain_every,
        }
    }

    /// Call once per optimizer step.
    pub fn update(&self, info: &StepInfo) {
        let eta = eta(
            self.start_step,
            info.step,
            self.total,
            self.started.elapsed(),
        );
        if let Some(bar) = &self.bar {
            bar.set_position(info.step);
            bar.set_message(format_status(info, eta));
        } else if let Some(every) = self.plain_every {
            let first = info.step == self.start_step + 1;
            if first || info.step.checked_rem(every) == Some(0) || info.step >= self.total {
                eprintln!(
                    "step {}/{} {}",
                    info.step,
                    self.total,
                    format_status(info, eta)
                );
            }
        }
    }

    /// Prints a line (eval results, checkpoint saved) without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.plain_every.is_some() => eprintln!("{line}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// `loss 2.3456 | lr 1.00e-4 | 1234 tok/s | eta 1h02m03s`
pub fn format_status(info: &StepInfo, eta: Option<Duration>) -> String {
    let eta = eta.map_or_else(|| "?".to_string(), format_duration);
    format!(
        "loss {:.4} | lr {:.2e} | {:.0} tok/s | eta {eta}",
        info.loss, info.lr, info.tokens_per_s
    )
}

/// Remaining time at the rate of the steps done since `start_step` (None before any).
pub fn eta(start_step: u64, step: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    let done = step.checked_sub(start_step).filter(|&d| d > 0)?;
    let left = total.saturating_sub(step);
    Some(elapsed.mul_f64(left as f64 / done as f64))
}

/// `45s`, `3m07s`, `1h02m03s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use testkit::scratch;

    #[test]
    fn metrics_round_trip_append_and_resume() {
        let run = scratch("metrics");
        {
            let mut log = MetricsLog::open(&run).expect("open");
            for step in 1..=5u64 {
                log.append(&json!({"step": step, "loss": 10.0 / step as f64}))
                    .expect("append");
            }
            log.append(&json!({"event": "eval", "cider": 0.5}))
                .expect("append");
            assert!(matches!(
                log.append(&json!([1, 2])),
                Err(ReportError::NotAnObject(_))
            ));
        }
        // A crash tears the last line.
        let path = run.join(MetricsLog::FILE_NAME);
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"step\": 6, \"lo").expect("write");
        drop(f);

        let recs = read_metrics(&path).expect("read");
        assert_eq!(recs.len(), 6);
        assert_eq!(series(&recs, "loss")[1], (2.0, 5.0));
        assert_eq!(series(&recs, "loss").len(), 5);

        // Resume from the checkpoint at step 3: later records go, the step-less one stays.
        let mut log = MetricsLog::open(&run).expect("reopen");
        assert_eq!(log.truncate_after(3).expect("truncate"), 4);
        log.append(&json!({"step": 4, "loss": 1.0}))
            .expect("append after truncate");
        let recs = read_metrics(&path).expect("read");
        let steps: Vec<Option<u64>> = recs
            .iter()
            .map(|r| r.get("step").and_then(Value::as_u64))
            .collect();
        assert_eq!(steps, vec![Some(1), Some(2), Some(3), None, Some(4)]);
        assert_eq!(recs[4]["loss"], json!(1.0));
        let names: Vec<_> = fs::read_dir(&run).expect("ls").collect();
        assert_eq!(names.len(), 1, "no temp file left");
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn corrupt_middle_line_is_an_error() {
        let run = scratch("corrupt");
        let path = run.join(MetricsLog::FILE_NAME);
        fs::write(&path, "{\"step\":1}\nnot json\n{\"step\":2}\n").expect("write");
        let err = read_metrics(&path).expect_err("corrupt");
        assert!(err.to_string().contains(":2:"), "{err}");
        let mut log = MetricsLog::open(&run).expect("open");
        assert!(log.truncate_after(1).is_err());
        assert_eq!(fs::read_to_string(&path).expect("read").lines().count(), 3);
        fs::remove_dir_all(&run).expect("cleanup");
    }

    #[test]
    fn status_eta_and_durations() {
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1h02m03s");
        assert_eq!(eta(100, 100, 200, Duration::from_secs(5)), None);
        // Resumed at 100: 10 steps in 20 s, 90 left -> 180 s.
        assert_eq!(
            eta(100, 110, 200, Duration::from_secs(20)),
            Some(Duration::from_secs(180))
        );
        assert_eq!(
            eta(0, 200, 200, Duration::from_secs(20)),
            Some(Duration::ZERO)
        );
        let info = StepInfo {
            step: 110,
            loss: 2.345678,
            lr: 1e-4,
            tokens_per_s: 1234.4,
        };
        let s = format_status(&info, Some(Duration::from_secs(180)));
        assert_eq!(s, "loss 2.3457 | lr 1.00e-4 | 1234 tok/s | eta 3m00s");
        // The modes run without a terminal.
        for mode in [
            ProgressMode::Hidden,
            ProgressMode::Plain { every: 5 },
            ProgressMode::Bar,
        ] {
            let p = Progress::with_mode(200, 100, mode);
            p.update(&info);
            p.println("checkpoint saved");
            p.finish();
        }
    }
}
