//! pycocoevalcap's caption preprocessing: Stanford PTBTokenizer (CoreNLP 3.4.1) run as
//! `java ... PTBTokenizer -preserveLines -lowerCase` over all captions at once, then removal
//! of punctuation tokens (`pycocoevalcap/tokenizer/ptbtokenizer.py`).
//!
//! The Java lexer is re-implemented rule for rule (module `rules`) on a small longest-match
//! automaton (module `automaton`), over UTF-16 code units like the Java original, so that
//! quirks carry over too: `(` becomes `-lrb-`, which survives punctuation removal because the
//! removal list has the upper-case `-LRB-`; characters outside the Basic Multilingual Plane
//! (emoji) are dropped as untokenisable; `don't` becomes `do n't`.

mod automaton;
mod case;
mod lexer;
mod pattern;
mod rules;
mod unicode;

pub use lexer::ptb_tokenize;

use crate::text::py_rstrip;

/// Tokens pycocoevalcap removes after tokenisation (`PUNCTUATIONS` in `ptbtokenizer.py`).
pub const PUNCTUATIONS: [&str; 17] = [
    "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
    "...", ";",
];

/// One output line of the Java tokenizer to pycocoevalcap's caption string:
/// `' '.join(w for w in line.rstrip().split(' ') if w not in PUNCTUATIONS)`.
pub fn remove_punctuation(line: &str) -> String {
    let words: Vec<&str> = py_rstrip(line)
        .split(' ')
        .filter(|w| !PUNCTUATIONS.contains(w))
        .collect();
    words.join(" ")
}

/// `PTBTokenizer().tokenize(...)` of pycocoevalcap for captions tokenised in one call.
///
/// pycocoevalcap replaces `\n` inside each caption by a space, joins the captions with
/// `\n`, tokenises that text in one Java process and pairs output line `i` with caption
/// `i`. Other line breaks the lexer knows (`\r`, U+2028, U+2029, U+000B, U+000C) therefore
/// shift every later caption by one line there; this function reproduces that, so feed it
/// the same groups pycocoevalcap would (all references of a corpus, or all predictions).
pub fn tokenize_captions<S: AsRef<str>>(captions: &[S]) -> Vec<String> {
    let joined: Vec<String> = captions
        .iter()
        .map(|c| c.as_ref().replace('\n', " "))
        .collect();
    let output = ptb_tokenize(&joined.join("\n"));
    let mut lines = output.split('\n');
    captions
        .iter()
        .map(|_| remove_punctuation(lines.next().unwrap_or("")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contractions_and_brackets() {
        assert_eq!(
            ptb_tokenize("A dog (barking), don't stop..."),
            "a dog -lrb- barking -rrb- , do n't stop ..."
        );
        assert_eq!(
            tokenize_captions(&["A dog (barking), don't stop..."]),
            vec!["a dog -lrb- barking -rrb- do n't stop"]
        );
    }

    /// The built-in character tables against `char_classes.json`, measured on the jar.
    #[test]
    fn character_tables_match_the_jar() {
        let fx = testkit::read_json(testkit::fixtures().join("metrics/char_classes.json"));
        let table = |key: &str| -> Vec<(u16, u16)> {
            let pairs: Vec<[u16; 2]> = serde_json::from_value(fx[key].clone()).expect("ranges");
            pairs.into_iter().map(|[a, b]| (a, b)).collect()
        };
        assert_eq!(table("letter"), unicode::LETTER);
        assert_eq!(table("digit"), unicode::DIGIT);
        let lower: Vec<(u32, String)> =
            serde_json::from_value(fx["java_lowercase"].clone()).expect("pairs");
        let lower: std::collections::HashMap<u32, String> = lower.into_iter().collect();
        let mut wrong = Vec::new();
        for code in (0..0x10000u32).filter(|c| !(0xD800..0xE000).contains(c)) {
            let c = char::from_u32(code).expect("BMP scalar");
            let expected = lower.get(&code).cloned().unwrap_or_else(|| c.to_string());
            if case::java_lowercase(&c.to_string()) != expected {
                wrong.push(format!("U+{code:04X}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "lower-casing differs from Java for {wrong:?}"
        );
    }

    #[test]
    fn lines_are_kept_apart() {
        assert_eq!(
            tokenize_captions(&["One.", "", "Two\nlines"]),
            vec!["one", "", "two lines"]
        );
    }
}
