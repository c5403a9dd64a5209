//! Java's `String.toLowerCase(Locale.ENGLISH)`, which `PTBTokenizer -lowerCase` applies to
//! each token.
//!
//! It equals Rust's per-character lower-casing except for the final sigma: Java lower-cases
//! `Σ` to `ς` when, within its word (as `java.text.BreakIterator` delimits words), a cased
//! letter precedes it and none follows; Rust's `str::to_lowercase` uses Unicode's
//! `Final_Sigma` context instead, which differs on tokens such as `x3Σ4` or `ΣΟΣ1990s`.
//! Words are approximated here the way the JDK's word rules build them (checked against
//! Java 17 by fuzzing): runs of letters and digits (kana and kanji apart), with marks and
//! format characters ignored and single dashes, connectors (`_`), apostrophes, quotation
//! marks and periods allowed between letters, or commas, apostrophes, quotation
//! marks and periods between digits.

const SIGMA: char = '\u{3A3}';

/// Capital letters whose lower-case mapping is newer than Unicode 13 (Java 17, the JVM of
/// the reference environment): Java leaves them as they are.
const NEWER_THAN_JAVA: [char; 13] = [
    '\u{1C89}', '\u{2C2F}', '\u{A7C0}', '\u{A7CB}', '\u{A7CC}', '\u{A7CE}', '\u{A7D0}', '\u{A7D2}',
    '\u{A7D4}', '\u{A7D6}', '\u{A7D8}', '\u{A7DA}', '\u{A7DC}',
];

fn push_lower(out: &mut String, c: char) {
    if NEWER_THAN_JAVA.contains(&c) {
        out.push(c);
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Nonspacing marks and format characters (approximated: combining diacritics, zero-width
/// and directional formatting characters, BOM).
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Kanji, katakana and hiragana form words of their own in the JDK's rules.
fn is_kana_kanji(c: char) -> bool {
    matches!(c, '\u{3005}' | '\u{4E00}'..='\u{9FA5}' | '\u{F900}'..='\u{FA2D}' | '\u{30A1}'..='\u{30FA}'
        | '\u{30FD}' | '\u{30FE}' | '\u{3041}'..='\u{3094}' | '\u{309D}' | '\u{309E}' | '\u{3099}'..='\u{309C}'
        | '\u{30FB}' | '\u{30FC}')
}

fn is_connector(c: char) -> bool {
    matches!(
        c,
        '_' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
            ..='\u{FE4F}' | '\u{FF3F}'
    )
}

fn is_cased(c: char) -> bool {
    c.is_lowercase()
        || c.is_uppercase()
        || (c.is_alphabetic() && c.to_uppercase().ne(c.to_lowercase()))
}

fn is_mid_word(c: char) -> bool {
    is_connector(c)
        || matches!(
            c,
            '-' | '\u{58A}' | '\u{5BE}' | '\u{2010}'
                ..='\u{2015}' | '\u{AD}' | '\u{2027}' | '"' | '\'' | '.'
        )
}

fn is_mid_num(c: char) -> bool {
    matches!(c, '"' | '\'' | ',' | '\u{66B}' | '.')
}

fn is_word_letter(c: char) -> bool {
    c.is_alphabetic() && !is_kana_kanji(c)
}

/// A token without its ignorable characters; `marked[i]`: an ignorable followed `chars[i]`.
struct Base {
    chars: Vec<char>,
    marked: Vec<bool>,
}

/// Whether `chars[i]` continues the word that `chars[i - 1]` is in (no word boundary at `i`).
fn joins(base: &Base, i: usize) -> bool {
    let chars = &base.chars;
    let core = |c: char| is_word_letter(c) || c.is_numeric();
    if core(chars[i - 1]) && core(chars[i]) {
        return true;
    }
    // `chars[at]` is a single punctuation mark inside a word or a number (a mark after the
    // punctuation ends the word).
    let inside = |at: usize| {
        if at == 0 || at + 1 >= chars.len() || base.marked[at] {
            return false;
        }
        let (before, mid, after) = (chars[at - 1], chars[at], chars[at + 1]);
        (is_mid_word(mid) && is_word_letter(before) && is_word_letter(after))
            || (is_mid_num(mid) && before.is_numeric() && after.is_numeric())
    };
    inside(i - 1) || inside(i)
}

/// Java's `isFinalCased` for the sigma at `base.chars[i]`.
fn is_final_sigma(base: &Base, i: usize) -> bool {
    let chars = &base.chars;
    let mut j = i;
    while j > 0 && joins(base, j) {
        j -= 1;
        if is_cased(chars[j]) {
            let mut k = i + 1;
            while k < chars.len() && joins(base, k) {
                if is_cased(chars[k]) {
                    return false;
                }
                k += 1;
            }
            return true;
        }
    }
    false
}

/// `token.toLowerCase(Locale.ENGLISH)` as Java computes it.
pub(crate) fn java_lowercase(token: &str) -> String {
    if !token.contains(SIGMA) {
        let mut out = String::with_capacity(token.len());
        for c in token.chars() {
            push_lower(&mut out, c);
        }
        return out;
    }
    // Word boundaries ignore marks and format characters entirely.
    let mut base = Base {
        chars: Vec::new(),
        marked: Vec::new(),
    };
    for c in token.chars() {
        if !is_ignorable(c) {
            base.chars.push(c);
            base.marked.push(false);
        } else if let Some(last) = base.marked.last_mut() {
            *last = true;
        }
    }
    let mut k = 0;
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        if c == SIGMA {
            out.push(if is_final_sigma(&base, k) {
                '\u{3C2}'
            } else {
                '\u{3C3}'
            });
        } else {
            push_lower(&mut out, c);
        }
        if !is_ignorable(c) {
            k += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::java_lowercase;

    #[test]
    fn final_sigma_by_java_word_rules() {
        assert_eq!(java_lowercase("ΣΟΣ"), "σος");
        assert_eq!(java_lowercase("x3Σ4"), "x3ς4");
        assert_eq!(java_lowercase("ΣΟΣ1990s"), "σοσ1990s");
        assert_eq!(java_lowercase("4z-Σ"), "4z-ς");
        assert_eq!(java_lowercase("Σ"), "σ");
        assert_eq!(java_lowercase("\u{130}STANBUL"), "i\u{307}stanbul");
    }
}
