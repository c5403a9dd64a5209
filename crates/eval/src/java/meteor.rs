//! METEOR 1.5 through `meteor-1.5.jar`'s `-stdio` mode, with the options pycocoevalcap uses
//! (`java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`, run in the jar's directory so that
//! it finds `data/paraphrase-en.gz`).
//!
//! The protocol, one line each way at a time:
//! * per clip, `SCORE ||| ref 1 ||| … ||| ref n ||| hypothesis` → one line of statistics;
//! * then `EVAL ||| stats 1 ||| … ||| stats N` → N lines of per-clip scores, then one line with
//!   the corpus score (METEOR's own aggregate over the pooled statistics, which is what
//!   pycocoevalcap reports; it is not the mean of the per-clip scores).
//!
//! Inputs are the PTB-tokenised captions, as COCOEvalCap feeds them. Like pycocoevalcap, the
//! hypothesis has `|||` removed and double spaces collapsed once; references are sent as they are.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{jar, jar_dir, JavaConfig, NotComputed};

/// Corpus and per-clip METEOR.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteorScores {
    pub corpus: f64,
    pub per_clip: Vec<f64>,
}

/// Heap for the METEOR JVM (pycocoevalcap's value).
pub const METEOR_HEAP: &str = "-Xmx2G";

/// Scores tokenised `hypotheses` against tokenised `references` (one non-empty list each);
/// not computed (with the reason) when Java or the jar is missing or the run fails.
pub fn meteor(
    cfg: &JavaConfig,
    hypotheses: &[String],
    references: &[Vec<String>],
) -> Result<MeteorScores, NotComputed> {
    let cfg = cfg.resolved();
    let jar = jar(cfg.meteor_jar.as_deref(), "METEOR jar", "AAC_METEOR_JAR")?;
    let para = jar_dir(&jar).join("data").join("paraphrase-en.gz");
    if !para.is_file() {
        return Err(NotComputed(format!(
            "METEOR needs its paraphrase table {} beside the jar",
            para.display()
        )));
    }
    let java = cfg.java_program()?;
    run(&java, &jar, hypotheses, references)
        .map_err(|e| NotComputed(format!("METEOR run failed: {e}")))
}

/// The hypothesis as pycocoevalcap sends it.
fn clean_hypothesis(h: &str) -> String {
    h.replace("|||", "").replace("  ", " ")
}

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Session {
    fn start(java: &Path, jar: &Path) -> Result<Self, String> {
        let jar_name = jar.file_name().ok_or("the jar path has no file name")?;
        let mut child = Command::new(java)
            .args(["-jar", METEOR_HEAP])
            .arg(jar_name)
            .args(["-", "-", "-stdio", "-l", "en", "-norm"])
            .current_dir(jar_dir(jar))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", java.display()))?;
        let (Some(stdin), Some(stdout), Some(mut err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err("the child process has no pipes".into());
        };
        // Drain stderr on a thread so a chatty JVM can never block on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: Some(stderr),
        })
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| format!("writing to METEOR: {e}"))
    }

    fn receive(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading from METEOR: {e}"))?;
        if n == 0 {
            return Err("METEOR ended without answering".into());
        }
        Ok(line.trim().to_string())
    }

    fn number(&mut self) -> Result<f64, String> {
        let line = self.receive()?;
        line.parse()
            .map_err(|_| format!("expected a score from METEOR, got {line:?}"))
    }

    /// Ends the process; returns what it wrote to stderr.
    fn finish(mut self) -> String {
        drop(self.stdin);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

fn run(
    java: &Path,
    jar: &Path,
    hypotheses: &[String],
    references: &[Vec<String>],
) -> Result<MeteorScores, String> {
    if hypotheses.len() != references.len() || hypotheses.is_empty() {
        return Err(format!(
            "{} hypotheses for {} reference lists",
            hypotheses.len(),
            references.len()
        ));
    }
    let mut s = Session::start(java, jar)?;
    let result = (|| {
        let mut stats = Vec::with_capacity(hypotheses.len());
        for (h, refs) in hypotheses.iter().zip(references) {
            s.send(&format!(
                "SCORE ||| {} ||| {}",
                refs.join(" ||| "),
                clean_hypothesis(h)
            ))?;
            stats.push(s.receive()?);
        }
        s.send(&format!("EVAL ||| {}", stats.join(" ||| ")))?;
        let per_clip = (0..hypotheses.len())
            .map(|_| s.number())
            .collect::<Result<Vec<_>, _>>()?;
        let corpus = s.number()?;
        Ok(MeteorScores { corpus, per_clip })
    })();
    let stderr = s.finish();
    result.map_err(|e: String| {
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
        if tail.is_empty() {
            e
        } else {
            format!("{e} (stderr: {tail})")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypothesis_cleaning_matches_pycocoevalcap() {
        assert_eq!(clean_hypothesis("a ||| b"), "a b");
        assert_eq!(clean_hypothesis("a   b"), "a  b");
    }

    #[test]
    fn missing_jar_is_not_computed() {
        let cfg = JavaConfig {
            meteor_jar: Some("/no/such/meteor-1.5.jar".into()),
            ..Default::default()
        };
        let e = meteor(&cfg, &["a".into()], &[vec!["a".into()]]).unwrap_err();
        assert!(e.0.contains("/no/such/meteor-1.5.jar"), "{e}");
    }
}
