//! Small types shared by the caption, classification and result modules.

use serde::{Deserialize, Serialize};

/// Which model produced a result: the checkpoint (directory or hub id) and the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelId {
    pub model: String,
    #[serde(default)]
    pub adapter: Option<String>,
}

impl ModelId {
    /// A short display name: the adapter directory's name (its parent's when it is just
    /// `adapter`, as in `runs/acc/adapter`), else the model's last path part.
    pub fn short_name(&self) -> String {
        let parts = |s: &str| -> Vec<String> {
            s.split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        match &self.adapter {
            Some(a) => {
                let p = parts(a);
                match p.as_slice() {
                    [.., parent, last] if last == "adapter" => parent.clone(),
                    [.., last] => last.clone(),
                    [] => a.clone(),
                }
            }
            None => parts(&self.model)
                .pop()
                .unwrap_or_else(|| self.model.clone()),
        }
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.adapter {
            Some(a) => write!(f, "{} + adapter {}", self.model, a),
            None => f.write_str(&self.model),
        }
    }
}

/// An input line left out (under `on_bad = skip`), with the full reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedLine {
    /// `file:line`.
    pub location: String,
    pub reason: String,
}

impl From<data::Skipped> for SkippedLine {
    fn from(s: data::Skipped) -> Self {
        Self {
            location: s.location.to_string(),
            reason: s.reason,
        }
    }
}

/// What to do with an empty prediction (blank, or nothing left after tokenisation is fine).
///
/// Read from configs (serde: `"error"`, `"count"`) and command lines (clap). The first
/// paragraph of each variant's documentation is its command-line help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnEmpty {
    /// An empty prediction is an error naming its line.
    #[default]
    Error,
    /// Score empty predictions as they are and list them in the summary.
    ///
    /// Every metric gives an empty prediction 0.
    Count,
}

/// Progress lines on stderr every `every` items (0: silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub every: usize,
}

impl Progress {
    pub(crate) fn tick(&self, what: &str, done: usize, total: usize) {
        if self.every > 0 && (done.checked_rem(self.every) == Some(0) || done == total) {
            eprintln!("{what}: {done}/{total}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        let m = ModelId {
            model: "Qwen/Qwen2-Audio-7B-Instruct".into(),
            adapter: None,
        };
        assert_eq!(m.short_name(), "Qwen2-Audio-7B-Instruct");
        let m = ModelId {
            adapter: Some("runs/acc/adapter/".into()),
            ..m
        };
        assert_eq!(m.short_name(), "acc");
    }
}
