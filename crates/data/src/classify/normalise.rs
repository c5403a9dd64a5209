//! The deterministic mapping of a free answer ("It sounds like someone coughing.") to a label
//! of a [`ClassTask`], for generate-then-map scoring.
//!
//! 1. [`normalise`] both sides: lower-case, every character that is not a letter or a digit
//!    becomes a space, runs of spaces collapse, ends are trimmed (`"Throat-clearing!"` →
//!    `throat clearing`, `synth_lead` → `synth lead`).
//! 2. **Exact**: the normalised answer equals a label or one of its aliases.
//! 3. **Substring**: a label or alias occurs in the normalised answer as whole words. When
//!    several do, the one that starts first wins; at the same start, the longer one
//!    (`throat clearing` over a hypothetical `throat`); then the label listed first.
//! 4. Otherwise **unmatched**: the answer counts as wrong and is listed in the report.
//!
//! Negations are not understood ("not a cough, a sneeze" maps to cough): the rule is simple on
//! purpose, so that a reader can predict every mapping.

use serde::{Deserialize, Serialize};

use super::ClassTask;

/// How an answer was mapped to a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    Exact,
    Substring,
    Unmatched,
}

/// The label an answer maps to (`None` when unmatched) and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub label: Option<usize>,
    pub kind: MatchKind,
}

/// Lower-cases, turns every non-alphanumeric character into a space, collapses spaces, trims.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// The byte offset of the first occurrence of `needle` in `hay` that starts and ends at word
/// boundaries (both are normalised: words separated by single spaces).
fn find_words(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(off) = hay[from..].find(needle) {
        let start = from + off;
        let end = start + needle.len();
        let left = start == 0 || hay.as_bytes()[start - 1] == b' ';
        let right = end == hay.len() || hay.as_bytes()[end] == b' ';
        if left && right {
            return Some(start);
        }
        // Advance by one character (needle occurrences may overlap).
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Maps a free answer to a label of `task` (see the module docs for the rule).
pub fn map_answer(task: &ClassTask, answer: &str) -> Mapped {
    let a = normalise(answer);
    if a.is_empty() {
        return Mapped {
            label: None,
            kind: MatchKind::Unmatched,
        };
    }
    let forms = task.forms();
    if let Some((label, _)) = forms.iter().find(|(_, f)| *f == a) {
        return Mapped {
            label: Some(*label),
            kind: MatchKind::Exact,
        };
    }
    // (start, longer first, label order)
    let best = forms
        .iter()
        .filter_map(|(label, f)| {
            find_words(&a, f).map(|start| (start, usize::MAX - f.len(), *label))
        })
        .min();
    match best {
        Some((_, _, label)) => Mapped {
            label: Some(label),
            kind: MatchKind::Substring,
        },
        None => Mapped {
            label: None,
            kind: MatchKind::Unmatched,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_punctuation_and_space() {
        assert_eq!(normalise("  Throat-Clearing!! "), "throat clearing");
        assert_eq!(normalise("synth_lead"), "synth lead");
        assert_eq!(normalise("Hip\tHop."), "hip hop");
        assert_eq!(normalise("...?"), "");
        assert_eq!(normalise("Ärger"), "ärger");
    }

    #[test]
    fn words_must_be_whole() {
        assert_eq!(find_words("a cough here", "cough"), Some(2));
        assert_eq!(find_words("coughing", "cough"), None);
        assert_eq!(find_words("pop popular pop", "pop"), Some(0));
        assert_eq!(find_words("popular pop", "pop"), Some(8));
        assert_eq!(find_words("throat clearing x", "throat clearing"), Some(0));
    }
}
