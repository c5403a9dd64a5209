//! Classification tasks for forgetting probes: a task's name, its closed label set and the
//! prompt that asks for one of the labels; the check of a manifest's targets against the
//! labels; the deterministic mapping of a free answer to a label ([`normalise`]); and
//! converters from the datasets' usual layouts ([`convert`]).
//!
//! Built-in tasks ([`ClassTask::builtin`]):
//!
//! | name | dataset | labels |
//! |---|---|---|
//! | `vsc` | VocalSound | laughter, sigh, cough, throat clearing, sneeze, sniff |
//! | `ser` | IEMOCAP | neutral, happy, sad, angry |
//! | `mic` | NSynth | bass, brass, flute, guitar, keyboard, mallet, organ, reed, string, synth_lead, vocal |
//! | `mgc` | GTZAN | blues, classical, country, disco, hiphop, jazz, metal, pop, reggae, rock |
//!
//! A custom task is the same structure read from a config file (the `eval` binary reads TOML):
//! `name`, `labels`, `prompt` (where `{labels}` becomes the comma-separated label list) and
//! optional `aliases` (label → other spellings accepted when a free answer is mapped).
//!
//! A classification manifest is an ordinary native manifest ([`crate::manifest`]) whose
//! `target` is the label: `{"task": "vsc", "audio": "x.wav", "target": "cough"}`. A line's own
//! `prompt` overrides the task's.

pub mod convert;
pub mod normalise;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{OnBad, Sample, Skipped};
use crate::task::Prompts;
pub use normalise::{map_answer, normalise, Mapped, MatchKind};

/// The placeholder in a task's prompt replaced by the label list.
pub const LABELS_PLACEHOLDER: &str = "{labels}";

/// Names of the built-in tasks, in the order reports list them.
pub const BUILTIN_TASKS: [&str; 4] = ["vsc", "ser", "mic", "mgc"];

/// The labels of built-in task `vsc` (VocalSound's six classes), in the order confusion
/// matrices list them. The one declaration: the `world` crate's probes synthesise these.
pub const VSC_LABELS: [&str; 6] = [
    "laughter",
    "sigh",
    "cough",
    "throat clearing",
    "sneeze",
    "sniff",
];

/// The labels of built-in task `ser` (IEMOCAP's four emotions), in order.
pub const SER_LABELS: [&str; 4] = ["neutral", "happy", "sad", "angry"];

/// The labels of built-in task `mic` (NSynth's eleven instrument families), in order.
pub const MIC_LABELS: [&str; 11] = [
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
];

/// The labels of built-in task `mgc` (GTZAN's ten genres), in order.
pub const MGC_LABELS: [&str; 10] = [
    "blues",
    "classical",
    "country",
    "disco",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "reggae",
    "rock",
];

/// A classification task: its labels and how it is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassTask {
    /// The task's name; manifest lines name it in `task` (compared case-insensitively).
    pub name: String,
    /// The closed label set, in the order confusion matrices list it.
    pub labels: Vec<String>,
    /// The user prompt; `{labels}` is replaced by `labels` joined with ", ".
    pub prompt: String,
    /// Other spellings of a label, accepted when a free answer is mapped to a label (never
    /// for a manifest's targets, which must be the labels themselves).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, Vec<String>>,
}

fn owned(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// A built-in task as constants: name, labels, prompt, aliases (label, other spellings).
type Builtin = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, &'static [&'static str])],
);

fn aliases(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(label, other)| (label.to_string(), owned(other)))
        .collect()
}

impl ClassTask {
    /// A built-in task by name (case-insensitive): `vsc`, `ser`, `mic` or `mgc`.
    ///
    /// Aliases cover inflections and spellings only (`coughing` → cough, `hip hop` → hiphop,
    /// `synth` → synth_lead); no alias maps one concept onto another (no `piano` → keyboard),
    /// so a mapped answer says what the model said.
    pub fn builtin(name: &str) -> Option<Self> {
        let (name, labels, prompt, al): Builtin = match name.to_ascii_lowercase().as_str() {
            "vsc" => (
                "vsc",
                &VSC_LABELS,
                "What vocal sound is in the audio? Answer with one of: {labels}.",
                &[
                    ("laughter", &["laugh", "laughs", "laughing"]),
                    ("sigh", &["sighs", "sighing"]),
                    ("cough", &["coughs", "coughing"]),
                    (
                        "throat clearing",
                        &[
                            "throatclearing",
                            "clearing throat",
                            "clearing the throat",
                            "clearing of the throat",
                            "clears throat",
                            "clears his throat",
                            "clears her throat",
                        ],
                    ),
                    ("sneeze", &["sneezes", "sneezing"]),
                    (
                        "sniff",
                        &["sniffs", "sniffing", "sniffle", "sniffles", "sniffling"],
                    ),
                ],
            ),
            "ser" => (
                "ser",
                &SER_LABELS,
                "What emotion does the speaker express? Answer with one of: {labels}.",
                &[
                    ("happy", &["happiness"]),
                    ("sad", &["sadness"]),
                    ("angry", &["anger"]),
                ],
            ),
            "mic" => (
                "mic",
                &MIC_LABELS,
                "Which instrument family is playing in the audio? Answer with one of: {labels}.",
                &[
                    ("string", &["strings"]),
                    ("synth_lead", &["synth"]),
                    ("vocal", &["vocals"]),
                ],
            ),
            "mgc" => (
                "mgc",
                &MGC_LABELS,
                "What is the genre of the music? Answer with one of: {labels}.",
                &[("hiphop", &["hip hop"])],
            ),
            _ => return None,
        };
        Some(Self {
            name: name.into(),
            labels: owned(labels),
            prompt: prompt.into(),
            aliases: aliases(al),
        })
    }

    /// The prompt with `{labels}` filled in.
    pub fn rendered_prompt(&self) -> String {
        self.prompt
            .replace(LABELS_PLACEHOLDER, &self.labels.join(", "))
    }

    /// [`Prompts`] whose custom entry for this task is [`Self::rendered_prompt`], for
    /// [`Sample::user_parts`].
    pub fn prompts(&self) -> Prompts {
        let mut p = Prompts::default();
        p.custom.insert(self.name.clone(), self.rendered_prompt());
        p
    }

    /// Checks what a usable task needs: a name, at least two labels, labels and aliases that
    /// stay distinct after [`normalise`], aliases only of existing labels, a prompt.
    /// Errors are [`Error::Config`] naming the field (`labels[2]`, `aliases.cough[0]`, ...).
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::config("name", "empty task name"));
        }
        if self.labels.len() < 2 {
            return Err(Error::config(
                "labels",
                format!("need at least two labels, found {}", self.labels.len()),
            ));
        }
        if self.prompt.trim().is_empty() {
            return Err(Error::config("prompt", "empty prompt"));
        }
        // Every spelling (label or alias), normalised, must point at exactly one label.
        let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut claim = |form: &str, label: usize, field: String| -> Result<()> {
            let n = normalise(form);
            if n.is_empty() {
                return Err(Error::config(&field, "blank after normalisation"));
            }
            match seen.get(&n) {
                Some((other, other_field)) if *other != label || field.starts_with("labels") => {
                    Err(Error::config(
                        &field,
                        format!(
                            "`{form}` is the same as {other_field} after normalisation (`{n}`)"
                        ),
                    ))
                }
                _ => {
                    seen.insert(n, (label, field));
                    Ok(())
                }
            }
        };
        for (i, l) in self.labels.iter().enumerate() {
            claim(l, i, format!("labels[{i}]"))?;
        }
        for (label, forms) in &self.aliases {
            let idx = self.labels.iter().position(|l| l == label).ok_or_else(|| {
                Error::config(&format!("aliases.{label}"), "not one of the task's labels")
            })?;
            for (k, f) in forms.iter().enumerate() {
                claim(f, idx, format!("aliases.{label}[{k}]"))?;
            }
        }
        Ok(())
    }

    /// Every spelling of every label, normalised: (label index, form). Labels first, in
    /// order, then aliases.
    pub fn forms(&self) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i, normalise(l)))
            .collect();
        for (label, forms) in &self.aliases {
            if let Some(i) = self.labels.iter().position(|l| l == label) {
                out.extend(forms.iter().map(|f| (i, normalise(f))));
            }
        }
        out
    }

    /// The index of the label a manifest target names: equal to a label after [`normalise`]
    /// (`"Throat-clearing"` is `throat clearing`); aliases are not accepted here.
    pub fn label_index(&self, target: &str) -> Option<usize> {
        let t = normalise(target);
        self.labels.iter().position(|l| normalise(l) == t)
    }

    /// Whether a sample's task is this one (names compared case-insensitively).
    pub fn is_task_of(&self, sample: &Sample) -> bool {
        sample.task.name().eq_ignore_ascii_case(&self.name)
    }
}

/// A manifest sample with its target resolved to a label index.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledSample {
    pub sample: Sample,
    pub label: usize,
}

/// Resolves every sample's target to a label of `task`. A sample of another task, or whose
/// target is not a label, is an [`Error::Field`] naming its line (field `task` or `target`)
/// under [`OnBad::Error`], and a [`Skipped`] entry under [`OnBad::Skip`].
pub fn label_samples(
    task: &ClassTask,
    samples: Vec<Sample>,
    on_bad: OnBad,
) -> Result<(Vec<LabeledSample>, Vec<Skipped>)> {
    let mut out = Vec::with_capacity(samples.len());
    let mut skipped = Vec::new();
    for s in samples {
        let checked = if !task.is_task_of(&s) {
            Err(Error::field(
                &s.source,
                "task",
                format!(
                    "task `{}`, but the evaluated task is `{}`",
                    s.task, task.name
                ),
            ))
        } else {
            task.label_index(&s.target).ok_or_else(|| {
                Error::field(
                    &s.source,
                    "target",
                    format!(
                        "`{}` is not a label of task `{}` ({})",
                        s.target,
                        task.name,
                        task.labels.join(", ")
                    ),
                )
            })
        };
        match (checked, on_bad) {
            (Ok(label), _) => out.push(LabeledSample { sample: s, label }),
            (Err(e), OnBad::Error) => return Err(e),
            (Err(e), OnBad::Skip) => skipped.push(Skipped {
                location: s.source.clone(),
                reason: e.to_string(),
            }),
        }
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid_and_render_their_labels() {
        for name in BUILTIN_TASKS {
            let t = ClassTask::builtin(name).unwrap();
            t.validate().unwrap();
            assert_eq!(t.name, name);
        }
        assert_eq!(ClassTask::builtin("VSC").unwrap().name, "vsc");
        assert!(ClassTask::builtin("asr").is_none());
        assert_eq!(
            ClassTask::builtin("vsc").unwrap().rendered_prompt(),
            "What vocal sound is in the audio? Answer with one of: laughter, sigh, cough, \
             throat clearing, sneeze, sniff."
        );
        assert_eq!(ClassTask::builtin("mic").unwrap().labels.len(), 11);
        assert_eq!(ClassTask::builtin("mgc").unwrap().labels.len(), 10);
    }

    #[test]
    fn validation_names_the_field() {
        let mut t = ClassTask::builtin("ser").unwrap();
        t.labels.push("Happy".into());
        let e = t.validate().unwrap_err().to_string();
        assert!(e.contains("labels[4]") && e.contains("labels[1]"), "{e}");
        let mut t = ClassTask::builtin("ser").unwrap();
        t.aliases.insert("calm".into(), vec!["relaxed".into()]);
        assert!(t
            .validate()
            .unwrap_err()
            .to_string()
            .contains("aliases.calm"));
        let mut t = ClassTask::builtin("ser").unwrap();
        t.aliases.insert("sad".into(), vec!["anger".into()]);
        assert!(t
            .validate()
            .unwrap_err()
            .to_string()
            .contains("aliases.sad[0]"));
        let mut t = ClassTask::builtin("ser").unwrap();
        t.labels.truncate(1);
        assert!(t.validate().is_err());
    }

    #[test]
    fn targets_match_labels_after_normalisation_only() {
        let t = ClassTask::builtin("vsc").unwrap();
        assert_eq!(t.label_index("Throat-Clearing"), Some(3));
        assert_eq!(t.label_index("cough"), Some(2));
        assert_eq!(t.label_index("coughing"), None);
    }
}
