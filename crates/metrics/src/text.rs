//! Python `str` whitespace semantics, which the pycocoevalcap scorers rely on.
//!
//! `str.split()` and `str.rstrip()` treat as whitespace every character with Unicode
//! bidirectional class WS, B or S or category Zs: Rust's `char::is_whitespace` plus the
//! information separators U+001C..U+001F. Tokens of the PTB lexer may contain such
//! characters (U+00A0 inside `1 1/2`, for instance), so the difference is observable.

/// Python's `str.isspace` for one character.
pub fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Python's `s.rstrip()`.
pub fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_is_space)
}

/// Python's `s.split()`: maximal runs of non-whitespace.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(py_is_space).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        let words: Vec<&str> = py_split(" a\u{A0}b\u{1F}c  d ").collect();
        assert_eq!(words, ["a", "b", "c", "d"]);
        assert_eq!(py_rstrip("x \u{3000}"), "x");
    }
}
