//! The scanning loop and rule actions of the PTB lexer (CoreNLP 3.4.1 `PTBLexer` with the
//! options pycocoevalcap uses), and the `-preserveLines -lowerCase` output of its
//! `PTBTokenizer.main`.

use std::sync::OnceLock;

use super::automaton::{LazyDfa, Nfa};
use super::case::java_lowercase;
use super::pattern::Macros;
use super::rules::{MACROS, RULES};

/// What a rule does with its match (`PTBLexer.flex` actions, non-invertible mode).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    /// The matched text is the token.
    Keep,
    /// `removeSoftHyphens`: drop U+00AD (a token of only soft hyphens becomes `-`).
    SoftHyphens,
    /// `yypushback(n)`: the token is the match minus its last `n` units, which are lexed again.
    Pushback(usize),
    /// `normalizeSpace`: spaces inside the token become U+00A0.
    SpaceToNbsp,
    /// The token is this fixed string.
    Fixed(&'static str),
    /// `normalizeAmp`: `&amp;` (any case) becomes `&`.
    Amp,
    /// `handleQuotes` with LaTeX quotes; `left` = "probably an opening quote".
    Quotes { left: bool },
    /// `normalizeFractions`: vulgar fraction characters to `1/2` etc.
    Fractions,
    /// `normalizeCurrency`: cent, pound and euro-like signs.
    Currency,
    /// The sentence-final acronym rule: `I.` gives `I` then `.`; `U.S.` gives `U.S.` then `.`.
    Acronym,
    /// Token with its final period, then the period is lexed again (a sentence end).
    PeriodAgain,
    /// Phone numbers: spaces to U+00A0 and parentheses to `-LRB-` / `-RRB-`.
    Phone,
    /// Smileys: parentheses to `-LRB-` / `-RRB-`.
    Parens,
    /// `--` for runs of three or four hyphens, else the run itself.
    Hyphens,
    /// No token (whitespace, control characters, untokenisable characters).
    Skip,
    /// A line break: `*NL*`, printed as a newline under `-preserveLines`.
    Newline,
}

struct Rule {
    action: Action,
    /// Entry states of the main pattern and of the trailing context, for `main/look` rules.
    split: Option<(u32, u32)>,
}

struct Compiled {
    nfa: Nfa,
    start: u32,
    rules: Vec<Rule>,
}

fn compile() -> Result<Compiled, String> {
    let macros = Macros::new(MACROS);
    let mut nfa = Nfa::default();
    let mut starts = Vec::with_capacity(RULES.len());
    let mut rules = Vec::with_capacity(RULES.len());
    for (index, spec) in RULES.iter().enumerate() {
        let main = macros.parse(spec.main)?;
        let accept = nfa.accept(index as u32);
        let split = match spec.look {
            None => {
                starts.push(nfa.compile(&main, accept));
                None
            }
            Some(look) => {
                let look = macros.parse(look)?;
                let look_start = nfa.compile(&look, accept);
                starts.push(nfa.compile(&main, look_start));
                let done = nfa.accept(u32::MAX);
                let look_alone = nfa.compile(&look, done);
                let done = nfa.accept(u32::MAX);
                let main_alone = nfa.compile(&main, done);
                Some((main_alone, look_alone))
            }
        };
        rules.push(Rule {
            action: spec.action,
            split,
        });
    }
    let start = nfa.union(&starts);
    Ok(Compiled { nfa, start, rules })
}

fn compiled() -> &'static Compiled {
    static LEXER: OnceLock<Compiled> = OnceLock::new();
    LEXER.get_or_init(|| match compile() {
        Ok(c) => c,
        // The patterns are constants of this crate; `tests` compile them on every run.
        Err(e) => panic!("metrics: invalid built-in PTB lexer pattern: {e}"),
    })
}

/// End of the main part of a `main/look` match over `input[from..end]`: the longest main
/// match whose remainder matches the trailing context (JFlex's general lookahead).
fn split_point(
    nfa: &Nfa,
    (main, look): (u32, u32),
    input: &[u16],
    from: usize,
    end: usize,
) -> usize {
    let main_ends = nfa.match_ends(main, input, from, end);
    (from..=end)
        .rev()
        .find(|&p| main_ends[p - from] && nfa.match_ends(look, input, p, end)[end - p])
        .unwrap_or(end)
}

fn replace_chars(s: &str, map: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match map(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    out
}

fn remove_soft_hyphens(s: &str) -> String {
    let out: String = s.chars().filter(|&c| c != '\u{AD}').collect();
    if out.is_empty() {
        "-".to_owned()
    } else {
        out
    }
}

/// `(?i:&amp;)` to `&`.
fn normalize_amp(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.len() >= 5 && tail.is_char_boundary(5) && tail[..5].eq_ignore_ascii_case("&amp;") {
            out.push('&');
            rest = &tail[5..];
        } else {
            out.push('&');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// `latexQuotes`: ASCII quotes by position, then curly and CP1252 quotes by direction.
fn latex_quotes(s: &str, left: bool) -> String {
    let (single, double) = if left { ("`", "``") } else { ("'", "''") };
    let s = s.replace("&apos;", single).replace('\'', single);
    let s = s.replace('"', double).replace("&quot;", double);
    replace_chars(&s, |c| match c {
        '\u{91}' | '\u{2018}' | '\u{201B}' | '\u{2039}' => Some("`"),
        '\u{92}' | '\u{2019}' | '\u{203A}' => Some("'"),
        '\u{93}' | '\u{201C}' | '\u{AB}' => Some("``"),
        '\u{94}' | '\u{201D}' | '\u{BB}' => Some("''"),
        _ => None,
    })
}

fn parens(s: &str) -> String {
    replace_chars(s, |c| match c {
        '(' => Some("-LRB-"),
        ')' => Some("-RRB-"),
        _ => None,
    })
}

/// The token text an action makes of the matched `text` (`None` for no token).
fn token_text(action: Action, text: &str) -> Option<String> {
    Some(match action {
        Action::Keep | Action::Pushback(_) | Action::Acronym | Action::PeriodAgain => {
            text.to_owned()
        }
        Action::SoftHyphens => remove_soft_hyphens(text),
        Action::SpaceToNbsp => text.replace(' ', "\u{A0}"),
        Action::Fixed(s) => s.to_owned(),
        Action::Amp => normalize_amp(text),
        Action::Quotes { left } => latex_quotes(text, left),
        Action::Fractions => replace_chars(text, |c| match c {
            '\u{BC}' => Some("1/4"),
            '\u{BD}' => Some("1/2"),
            '\u{BE}' => Some("3/4"),
            '\u{2153}' => Some("1/3"),
            '\u{2154}' => Some("2/3"),
            _ => None,
        }),
        Action::Currency => replace_chars(text, |c| match c {
            '\u{A2}' => Some("cents"),
            '\u{A3}' => Some("#"),
            '\u{80}' | '\u{A4}' | '\u{20A0}' | '\u{20AC}' => Some("$"),
            _ => None,
        }),
        Action::Phone => parens(&text.replace(' ', "\u{A0}")),
        Action::Parens => parens(text),
        Action::Hyphens => {
            let n = text.chars().count();
            if (3..=4).contains(&n) {
                "--".to_owned()
            } else {
                text.to_owned()
            }
        }
        Action::Skip | Action::Newline => return None,
    })
}

fn is_workaround_space(c: u16) -> bool {
    c == 0x20 || c == 0x09 || (0x0A..=0x0D).contains(&c) || c == 0x85
}

/// Tokenises `text` exactly as `java edu.stanford.nlp.process.PTBTokenizer -preserveLines
/// -lowerCase` (CoreNLP 3.4.1) prints it: tokens separated by single spaces, one output
/// line per input line break, each token lower-cased after tokenisation.
pub fn ptb_tokenize(text: &str) -> String {
    let lexer = compiled();
    let input: Vec<u16> = text.encode_utf16().collect();
    let mut dfa = LazyDfa::new(&lexer.nfa, lexer.start);
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut begin_line = true;
    let mut pos = 0;
    while pos < input.len() {
        let Some((index, end)) = dfa.longest(&input, pos) else {
            // Unreachable: `.` and NEWLINE cover every code unit. Skip it like `.` would.
            pos += 1;
            continue;
        };
        let rule = &lexer.rules[index as usize];
        let mut text_end = match rule.split {
            Some(split) => split_point(&lexer.nfa, split, &input, pos, end),
            None => end,
        };
        let (token_end, next) = match rule.action {
            Action::Pushback(n) => (text_end - n, text_end - n),
            Action::PeriodAgain => (text_end, text_end - 1),
            Action::Acronym => {
                while text_end > pos && is_workaround_space(input[text_end - 1]) {
                    text_end -= 1;
                }
                if text_end - pos == 2 {
                    (pos + 1, pos + 1)
                } else {
                    (text_end, text_end - 1)
                }
            }
            _ => (text_end, text_end),
        };
        match rule.action {
            Action::Newline => {
                out.push('\n');
                begin_line = true;
            }
            action => {
                let text = String::from_utf16_lossy(&input[pos..token_end]);
                if let Some(token) = token_text(action, &text) {
                    if !begin_line {
                        out.push(' ');
                    }
                    begin_line = false;
                    out.push_str(&java_lowercase(&token));
                }
            }
        }
        pos = next.max(pos + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_patterns_compile() {
        assert!(compile().is_ok());
    }

    #[test]
    fn normalisers() {
        assert_eq!(normalize_amp("AT&AMP;T&amp;x&"), "AT&T&x&");
        assert_eq!(latex_quotes("\"", true), "``");
        assert_eq!(latex_quotes("&apos;s", false), "'s");
        assert_eq!(latex_quotes("\u{2019}s", false), "'s");
        assert_eq!(remove_soft_hyphens("\u{AD}\u{AD}"), "-");
    }
}
