//! METEOR and SPICE through their standard Java implementations, as pycocoevalcap and
//! aac-metrics run them. Both are optional: when Java or a jar is missing (or a run fails), the
//! metric is reported as not computed, with the reason, and never estimated.
//!
//! Where things are found (an explicit [`JavaConfig`] field wins over the environment):
//!
//! | what | config field | environment | fallback |
//! |---|---|---|---|
//! | the `java` program | `java` | `JAVA`, then `JAVA_HOME/bin/java` | `java` on `PATH` |
//! | `meteor-1.5.jar` (with `data/paraphrase-en.gz` beside it) | `meteor_jar` | `AAC_METEOR_JAR` | none |
//! | `spice-1.0.jar` (with `lib/stanford-corenlp-3.6.0*.jar` beside it) | `spice_jar` | `AAC_SPICE_JAR` | none |
//! | SPICE's parse cache directory | `spice_cache` | `AAC_SPICE_CACHE` | no cache |
//!
//! Getting the jars: `pip install pycocoevalcap` ships `meteor-1.5.jar` and
//! `data/paraphrase-en.gz` in `site-packages/pycocoevalcap/meteor/`, and `spice-1.0.jar` with
//! its `lib/` in `site-packages/pycocoevalcap/spice/`; SPICE also needs Stanford CoreNLP 3.6.0
//! (`stanford-corenlp-3.6.0.jar`, `stanford-corenlp-3.6.0-models.jar` in that `lib/`, which
//! pycocoevalcap's `get_stanford_models()` downloads from nlp.stanford.edu), and a Java of
//! version 8 to 14: SPICE writes its output through the Nashorn JavaScript engine, which Java 15
//! removed.

pub mod meteor;
pub mod spice;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Why a metric has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotComputed(pub String);

impl std::fmt::Display for NotComputed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where Java and the metric jars are; `None` fields are looked up in the environment by
/// [`JavaConfig::resolved`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JavaConfig {
    pub java: Option<PathBuf>,
    pub meteor_jar: Option<PathBuf>,
    pub spice_jar: Option<PathBuf>,
    pub spice_cache: Option<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl JavaConfig {
    /// This config with every unset field taken from the environment (see the module docs).
    pub fn resolved(&self) -> Self {
        Self {
            java: self.java.clone().or_else(|| {
                env_path("JAVA")
                    .or_else(|| env_path("JAVA_HOME").map(|h| h.join("bin").join("java")))
            }),
            meteor_jar: self
                .meteor_jar
                .clone()
                .or_else(|| env_path("AAC_METEOR_JAR")),
            spice_jar: self.spice_jar.clone().or_else(|| env_path("AAC_SPICE_JAR")),
            spice_cache: self
                .spice_cache
                .clone()
                .or_else(|| env_path("AAC_SPICE_CACHE")),
        }
    }

    /// The `java` program to run: the configured one (which must exist), else `java` found on
    /// `PATH`.
    pub fn java_program(&self) -> Result<PathBuf, NotComputed> {
        if let Some(j) = &self.java {
            return if j.is_file() {
                Ok(j.clone())
            } else {
                Err(NotComputed(format!(
                    "the configured java {} does not exist",
                    j.display()
                )))
            };
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join("java"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                NotComputed("no java: set JAVA or JAVA_HOME, or put java on PATH".into())
            })
    }
}

/// A jar that must exist: the configured path, or the reason it is unusable.
pub(crate) fn jar(path: Option<&Path>, what: &str, env: &str) -> Result<PathBuf, NotComputed> {
    match path {
        None => Err(NotComputed(format!(
            "no {what} configured (set {env} or the config's path)"
        ))),
        Some(p) if !p.is_file() => Err(NotComputed(format!(
            "{what} {} does not exist",
            p.display()
        ))),
        Some(p) => Ok(p.to_path_buf()),
    }
}

/// The directory a jar lies in (its programs resolve their data files against it).
pub(crate) fn jar_dir(jar: &Path) -> PathBuf {
    match jar.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The major version from `java -version`'s first line (`openjdk version "17.0.15" ...` → 17,
/// `java version "1.8.0_292"` → 8).
pub fn parse_java_version(text: &str) -> Option<u32> {
    let start = text.find('"')? + 1;
    let end = start + text[start..].find('"')?;
    let v = &text[start..end];
    let mut parts = v.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Runs `java -version` and returns the major version.
pub fn java_major_version(java: &Path) -> Result<u32, NotComputed> {
    let out = Command::new(java)
        .arg("-version")
        .output()
        .map_err(|e| NotComputed(format!("cannot run {}: {e}", java.display())))?;
    let text = String::from_utf8_lossy(&out.stderr);
    parse_java_version(&text).ok_or_else(|| {
        NotComputed(format!(
            "cannot read the version of {} from {:?}",
            java.display(),
            text.lines().next().unwrap_or("")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions() {
        assert_eq!(
            parse_java_version("openjdk version \"17.0.15\" 2025-04-15"),
            Some(17)
        );
        assert_eq!(parse_java_version("java version \"1.8.0_292\""), Some(8));
        assert_eq!(
            parse_java_version("openjdk version \"11\" 2018-09-25"),
            Some(11)
        );
        assert_eq!(parse_java_version("openjdk version \"21-ea\""), Some(21));
        assert_eq!(parse_java_version("nothing here"), None);
    }

    #[test]
    fn missing_things_say_why() {
        let e = jar(None, "METEOR jar", "AAC_METEOR_JAR").unwrap_err();
        assert!(e.0.contains("AAC_METEOR_JAR"), "{e}");
        let e = jar(Some(Path::new("/no/meteor.jar")), "METEOR jar", "X").unwrap_err();
        assert!(e.0.contains("/no/meteor.jar"), "{e}");
        let cfg = JavaConfig {
            java: Some("/no/java".into()),
            ..Default::default()
        };
        assert!(cfg.java_program().unwrap_err().0.contains("/no/java"));
    }
}
