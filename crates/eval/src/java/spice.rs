//! SPICE 1.0 through `spice-1.0.jar`, invoked as pycocoevalcap does:
//! `java -jar -Xmx8G spice-1.0.jar IN.json [-cache DIR] -out OUT.json -subset -silent`, in the
//! jar's directory.
//!
//! * IN.json: `[{"image_id": i, "test": hypothesis, "refs": [reference, …]}, …]` with the
//!   PTB-tokenised captions.
//! * OUT.json (written by SpiceScorer/SpiceStats in the jar): `[{"image_id": i, "scores":
//!   {"All": {"f", "pr", "re", "tp", "fp", "fn", "numImages"}, "Object": {…}, …}}, …]`.
//!   `All.f` is never NaN (SPICE computes it with `allowNan = false`); subsets may be `null`.
//! * Corpus SPICE = mean of the per-clip `All.f`, as pycocoevalcap computes it.
//!
//! Preconditions checked before running, each reported as the reason when it fails: the jar
//! exists; Stanford CoreNLP 3.6.0's two jars are in `lib/` beside it (the jar's manifest
//! class path names them); Java's major version is at most 14 (SPICE pretty-prints its output
//! with the Nashorn JavaScript engine, removed in Java 15).
//!
//! This runner has not been run against a complete SPICE installation on the development
//! machine (CoreNLP 3.6.0 is not obtainable there and its Java is 17): the output parser is
//! tested on output in the format the jar's source (SpiceStats.java, Evaluation.java) writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::{jar, jar_dir, java_major_version, JavaConfig, NotComputed};

/// Corpus and per-clip SPICE (F-score over all tuples).
#[derive(Debug, Clone, PartialEq)]
pub struct SpiceScores {
    pub corpus: f64,
    pub per_clip: Vec<f64>,
}

/// The CoreNLP jars SPICE's manifest expects in its `lib/`.
pub const CORENLP_JARS: [&str; 2] = [
    "stanford-corenlp-3.6.0.jar",
    "stanford-corenlp-3.6.0-models.jar",
];

/// The newest Java whose Nashorn engine SPICE's output writer needs.
pub const MAX_JAVA_FOR_SPICE: u32 = 14;

/// Scores tokenised `hypotheses` against tokenised `references` with SPICE; not computed
/// (with the reason) when anything it needs is missing or the run fails.
pub fn spice(
    cfg: &JavaConfig,
    hypotheses: &[String],
    references: &[Vec<String>],
) -> Result<SpiceScores, NotComputed> {
    let cfg = cfg.resolved();
    let jar = jar(cfg.spice_jar.as_deref(), "SPICE jar", "AAC_SPICE_JAR")?;
    let lib = jar_dir(&jar).join("lib");
    if let Some(missing) = CORENLP_JARS.iter().find(|j| !lib.join(j).is_file()) {
        return Err(NotComputed(format!(
            "SPICE needs Stanford CoreNLP 3.6.0: {} is missing (pycocoevalcap's \
             get_stanford_models() downloads it)",
            lib.join(missing).display()
        )));
    }
    let java = cfg.java_program()?;
    let major = java_major_version(&java)?;
    if major > MAX_JAVA_FOR_SPICE {
        return Err(NotComputed(format!(
            "SPICE writes its output with the Nashorn JavaScript engine, removed in Java 15; {} \
             is Java {major}: configure a Java 8 to {MAX_JAVA_FOR_SPICE}",
            java.display()
        )));
    }
    run(
        &java,
        &jar,
        cfg.spice_cache.as_deref(),
        hypotheses,
        references,
    )
    .map_err(|e| NotComputed(format!("SPICE run failed: {e}")))
}

/// SPICE's input file contents.
pub fn input_json(hypotheses: &[String], references: &[Vec<String>]) -> String {
    let items: Vec<serde_json::Value> = hypotheses
        .iter()
        .zip(references)
        .enumerate()
        .map(|(i, (h, r))| serde_json::json!({"image_id": i, "test": h, "refs": r}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

#[derive(Deserialize)]
struct OutItem {
    image_id: serde_json::Value,
    scores: OutScores,
}

#[derive(Deserialize)]
struct OutScores {
    #[serde(rename = "All")]
    all: OutEval,
}

#[derive(Deserialize)]
struct OutEval {
    f: Option<f64>,
}

/// Parses SPICE's output for `n` clips sent with image ids 0..n.
pub fn parse_output(text: &str, n: usize) -> Result<SpiceScores, String> {
    let items: Vec<OutItem> =
        serde_json::from_str(text).map_err(|e| format!("unreadable SPICE output: {e}"))?;
    if items.len() != n {
        return Err(format!(
            "SPICE returned {} results for {n} clips",
            items.len()
        ));
    }
    let mut per_clip = Vec::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        if item.image_id.as_u64() != Some(i as u64) {
            return Err(format!("SPICE result {i} has image_id {}", item.image_id));
        }
        per_clip.push(
            item.scores
                .all
                .f
                .ok_or_else(|| format!("SPICE result {i} has no All.f"))?,
        );
    }
    let corpus = per_clip.iter().sum::<f64>() / n as f64;
    Ok(SpiceScores { corpus, per_clip })
}

fn run(
    java: &Path,
    jar: &Path,
    cache: Option<&Path>,
    hypotheses: &[String],
    references: &[Vec<String>],
) -> Result<SpiceScores, String> {
    let tmp = std::env::temp_dir();
    let stamp = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    let stamp: String = stamp.chars().filter(char::is_ascii_alphanumeric).collect();
    let input = tmp.join(format!("eval-spice-in-{stamp}.json"));
    let output = tmp.join(format!("eval-spice-out-{stamp}.json"));
    let cleanup = |paths: &[&PathBuf]| {
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    };
    std::fs::write(&input, input_json(hypotheses, references))
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let mut cmd = Command::new(java);
    cmd.args(["-jar", "-Xmx8G"])
        .arg(jar.file_name().ok_or("the jar path has no file name")?)
        .arg(&input);
    if let Some(c) = cache {
        cmd.arg("-cache").arg(c);
    }
    cmd.arg("-out")
        .arg(&output)
        .args(["-subset", "-silent"])
        .current_dir(jar_dir(jar));
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {}: {e}", java.display()));
    let result = out.and_then(|out| {
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            return Err(format!("exit {}: {}", out.status, tail.join(" / ")));
        }
        let text =
            std::fs::read_to_string(&output).map_err(|e| format!("{}: {e}", output.display()))?;
        parse_output(&text, hypotheses.len())
    });
    cleanup(&[&input, &output]);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clips in the layout SpiceStats.toJSONArray + JSON.stringify(…, null, 2) writes.
    const OUTPUT: &str = r#"[
  {
    "image_id": 0,
    "scores": {
      "All": {"tp": 2, "fp": 1, "fn": 3, "f": 0.5, "pr": 0.6666666666666666, "re": 0.4, "numImages": 1},
      "Relation": {"tp": 0, "fp": 0, "fn": 1, "f": 0.0, "pr": 0.0, "re": 0.0, "numImages": 1},
      "Color": {"tp": 0, "fp": 0, "fn": 0, "f": null, "pr": null, "re": null, "numImages": 1}
    }
  },
  {
    "image_id": 1,
    "scores": {"All": {"tp": 0, "fp": 2, "fn": 2, "f": 0.0, "pr": 0.0, "re": 0.0, "numImages": 1}}
  }
]"#;

    #[test]
    fn parses_spice_output() {
        let s = parse_output(OUTPUT, 2).unwrap();
        assert_eq!(s.per_clip, vec![0.5, 0.0]);
        assert_eq!(s.corpus, 0.25);
        assert!(parse_output(OUTPUT, 3)
            .unwrap_err()
            .contains("2 results for 3"));
        assert!(parse_output(
            "[{\"image_id\": 5, \"scores\": {\"All\": {\"f\": 1.0}}}]",
            1
        )
        .is_err());
    }

    #[test]
    fn input_is_spice_shaped() {
        let v: serde_json::Value = serde_json::from_str(&input_json(
            &["a dog".into()],
            &[vec!["a dog barks".into()]],
        ))
        .unwrap();
        assert_eq!(v[0]["image_id"], 0);
        assert_eq!(v[0]["test"], "a dog");
        assert_eq!(v[0]["refs"][0], "a dog barks");
    }

    #[test]
    fn missing_corenlp_is_not_computed() {
        let dir = std::env::temp_dir().join(format!("eval-spice-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jar = dir.join("spice-1.0.jar");
        std::fs::write(&jar, b"PK").unwrap();
        let cfg = JavaConfig {
            spice_jar: Some(jar),
            ..Default::default()
        };
        let e = spice(&cfg, &["a".into()], &[vec!["a".into()]]).unwrap_err();
        assert!(e.0.contains("stanford-corenlp-3.6.0.jar"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
