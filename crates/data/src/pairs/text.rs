//! The caption side of pair building: the paper's ACC target rule, the ADC edit phrasing,
//! and the caption of a mixed clip.

use serde::{Deserialize, Serialize};

use super::{Clip, Edit, EditKind};

/// Words of a caption for comparison: every character that is not alphanumeric or an
/// apostrophe separates words ("high-pitched" is two words, "dog's" one).
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The longest run of consecutive words the two captions share, compared case-insensitively
/// with punctuation stripped. Returns the span `(start, len)` in `words(a)`; ties go to the
/// earliest run in `a`. `None` when no word is shared.
fn longest_common_span(a: &[&str], b: &[&str]) -> Option<(usize, usize)> {
    let a_l: Vec<String> = a.iter().map(|w| w.to_lowercase()).collect();
    let b_l: Vec<String> = b.iter().map(|w| w.to_lowercase()).collect();
    // prev[j] = length of the common run ending at a[i-1], b[j-1].
    let mut prev = vec![0usize; b_l.len() + 1];
    let mut best = (0, 0);
    for i in 1..=a_l.len() {
        let mut cur = vec![0usize; b_l.len() + 1];
        for j in 1..=b_l.len() {
            if a_l[i - 1] == b_l[j - 1] {
                cur[j] = prev[j - 1] + 1;
                if cur[j] > best.1 {
                    best = (i - cur[j], cur[j]);
                }
            }
        }
        prev = cur;
    }
    (best.1 > 0).then_some(best)
}

/// The longest contiguous phrase (word sequence, case-insensitive, punctuation stripped)
/// shared by `a` and `b`, in `a`'s words and casing joined by single spaces; ties go to the
/// earliest in `a`. `None` when the captions share no word.
pub fn longest_common_phrase(a: &str, b: &str) -> Option<String> {
    let (wa, wb) = (words(a), words(b));
    longest_common_span(&wa, &wb).map(|(s, n)| wa[s..s + n].join(" "))
}

/// `s` with its first character upper-cased.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `s` trimmed, without a final full stop, and with its first letter lower-cased unless its
/// first word is an acronym ("TV") — for inserting a caption into the middle of a sentence.
pub fn inline(s: &str) -> String {
    let s = s.trim().trim_end_matches('.').trim_end();
    let first_word = s.split_whitespace().next().unwrap_or("");
    let acronym = first_word.chars().filter(|c| c.is_alphabetic()).count() > 1
        && first_word
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    if acronym {
        return s.to_string();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Phrasing of the targets. `{event}`, `{from}`, `{to}` and `{base}` are replaced by the
/// captions, made inline (see [`inline`]); results are capitalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Templates {
    /// ADC target of an add edit (`{event}`).
    pub add: String,
    /// ADC target of a remove edit (`{event}`).
    pub remove: String,
    /// ADC target of a replace edit (`{from}`, `{to}`).
    pub replace: String,
    /// The caption of base + event (`{base}`, `{event}`), used as the caption of mixed clips.
    pub mixed: String,
    /// Words dropped from either end of a replace edit's common phrase (the connectives the
    /// `mixed` template adds). Compared case-insensitively.
    pub trim_edges: Vec<String>,
    /// Words dropped from the end only (articles and auxiliaries left dangling).
    pub trim_end: Vec<String>,
}

impl Default for Templates {
    fn default() -> Self {
        let list = |s: &str| s.split_whitespace().map(str::to_string).collect();
        Self {
            add: "The second audio adds the sound of {event}.".into(),
            remove: "The second audio removes the sound of {event}.".into(),
            replace: "The second audio replaces the sound of {from} with the sound of {to}.".into(),
            mixed: "{base}, with {event}".into(),
            trim_edges: list("and with while as then followed by along together plus"),
            trim_end: list("a an the some is are being of in on at to"),
        }
    }
}

/// The captions and targets of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Caption of the first clip (before the edit).
    pub before: String,
    /// Caption of the second clip (after the edit).
    pub after: String,
    pub adc: String,
    pub acc: String,
}

impl Templates {
    /// The caption of `base` with `event` mixed in.
    pub fn mixed_caption(&self, base: &str, event: &str) -> String {
        capitalize(
            &self
                .mixed
                .replace("{base}", &inline(base))
                .replace("{event}", &inline(event)),
        )
    }

    /// The ADC target of `edit`: the edit itself, phrased by the templates.
    pub fn adc(&self, edit: &Edit) -> String {
        let s = match edit {
            Edit::Add { event } => self.add.replace("{event}", &inline(&event.caption)),
            Edit::Remove { event } => self.remove.replace("{event}", &inline(&event.caption)),
            Edit::Replace { from, to } => self
                .replace
                .replace("{from}", &inline(&from.caption))
                .replace("{to}", &inline(&to.caption)),
        };
        capitalize(&s)
    }

    /// The paper's ACC rule on any two captions: add → the caption before the edit; remove →
    /// the caption after; replace → their longest common phrase, with dangling connectives
    /// (`trim_edges`, `trim_end`) dropped — unless that would leave nothing, in which case
    /// the untrimmed phrase; and, when they share no word at all, `None`.
    pub fn acc(&self, kind: EditKind, before: &str, after: &str) -> Option<String> {
        match kind {
            EditKind::Add => Some(before.trim().to_string()),
            EditKind::Remove => Some(after.trim().to_string()),
            EditKind::Replace => {
                let (wa, wb) = (words(before), words(after));
                let (s, n) = longest_common_span(&wa, &wb)?;
                let span = &wa[s..s + n];
                let is_in =
                    |list: &[String], w: &str| list.iter().any(|x| x.eq_ignore_ascii_case(w));
                let (mut lo, mut hi) = (0, span.len());
                while lo < hi && is_in(&self.trim_edges, span[lo]) {
                    lo += 1;
                }
                while hi > lo
                    && (is_in(&self.trim_edges, span[hi - 1])
                        || is_in(&self.trim_end, span[hi - 1]))
                {
                    hi -= 1;
                }
                let kept = if lo < hi { &span[lo..hi] } else { span };
                Some(capitalize(&kept.join(" ")))
            }
        }
    }

    /// Captions and both targets for `edit` applied to a base clip captioned `base`. Mixed
    /// clips are captioned with [`Templates::mixed_caption`], so for a replace edit the two
    /// captions share the base caption and the ACC rule recovers it (plus whatever the two
    /// event captions share, e.g. "a dog" for barking vs growling).
    pub fn targets(&self, base: &Clip, edit: &Edit) -> Targets {
        let base_caption = base.caption.trim().to_string();
        let (kind, before, after) = match edit {
            Edit::Add { event } => (
                EditKind::Add,
                base_caption.clone(),
                self.mixed_caption(&base_caption, &event.caption),
            ),
            Edit::Remove { event } => (
                EditKind::Remove,
                self.mixed_caption(&base_caption, &event.caption),
                base_caption.clone(),
            ),
            Edit::Replace { from, to } => (
                EditKind::Replace,
                self.mixed_caption(&base_caption, &from.caption),
                self.mixed_caption(&base_caption, &to.caption),
            ),
        };
        // Mixed captions contain the base caption, which has a word (checked by the planner),
        // so the rule always finds a phrase; fall back to the base caption regardless.
        let acc = self.acc(kind, &before, &after).unwrap_or(base_caption);
        Targets {
            adc: self.adc(edit),
            acc,
            before,
            after,
        }
    }
}

/// Whether `s` has at least one word (as the ACC rule counts words).
pub(crate) fn has_words(s: &str) -> bool {
    !words(s).is_empty()
}

/// `s` as compared by the rules: its words, lower-cased, joined by spaces.
pub(crate) fn normalized(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_phrase() {
        assert_eq!(
            longest_common_phrase(
                "A man speaks while a dog barks.",
                "a MAN speaks, and a cat meows"
            )
            .as_deref(),
            Some("A man speaks")
        );
        assert_eq!(longest_common_phrase("rain falls", "birds chirp"), None);
        assert_eq!(longest_common_phrase("", "x"), None);
        // Ties go to the earliest run in the first caption.
        assert_eq!(
            longest_common_phrase("wind blows then a car", "a car then wind blows").as_deref(),
            Some("wind blows")
        );
        // Punctuation and hyphens separate words.
        assert_eq!(
            longest_common_phrase("a high-pitched beep!", "High pitched beep").as_deref(),
            Some("high pitched beep")
        );
        assert_eq!(
            longest_common_phrase("the dog's bark", "a dog's bark").as_deref(),
            Some("dog's bark")
        );
    }

    #[test]
    fn inline_and_capitalize() {
        assert_eq!(inline(" A dog barks. "), "a dog barks");
        assert_eq!(inline("TV static"), "TV static");
        assert_eq!(capitalize("école"), "École");
        assert_eq!(capitalize(""), "");
    }
}
