//! A parser for the subset of JFlex regular-expression syntax the PTB lexer's rules use.
//!
//! Patterns work on UTF-16 code units (as the Java scanner does) and follow JFlex's
//! `%caseless` mode: a literal letter outside a character class matches all its case
//! variants, while character classes (`[A-Z]`, `[a]`) stay case-sensitive.
//!
//! Supported: literals, `\uXXXX` / `\xXX` / `\t` ... escapes, `.`, classes `[...]` with
//! ranges, negation, `[^]` (any unit) and `[:letter:]` / `[:digit:]` / `[:uppercase:]`,
//! groups, `|`, `*`, `+`, `?`, `{n}`, `{n,m}` and macro references `{NAME}`.
//! Patterns are compile-time constants of this crate, so a malformed one is a bug: the
//! parser reports it as a `String` which the caller turns into a panic at first use.

use std::collections::HashMap;

use super::unicode::{in_ranges, DIGIT, LETTER};

/// One member of a character class.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ClassItem {
    Range(u16, u16),
    Letter,
    Digit,
    Upper,
}

/// A set of UTF-16 code units.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CharSet {
    pub negated: bool,
    pub items: Vec<ClassItem>,
}

impl CharSet {
    fn single(c: u16) -> Self {
        Self {
            negated: false,
            items: vec![ClassItem::Range(c, c)],
        }
    }

    fn any() -> Self {
        Self {
            negated: true,
            items: Vec::new(),
        }
    }

    /// A literal outside a class under `%caseless`: every character case-equivalent to it.
    /// JFlex groups characters linked by simple case mappings, so besides both ASCII cases
    /// `i` also matches U+0130 and U+0131, `k` the Kelvin sign and `s` the long s.
    fn caseless(c: u16) -> Self {
        let ch = c as u8;
        if c >= 128 || !ch.is_ascii_alphabetic() {
            return Self::single(c);
        }
        let lo = u16::from(ch.to_ascii_lowercase());
        let up = u16::from(ch.to_ascii_uppercase());
        let mut items = vec![ClassItem::Range(lo, lo), ClassItem::Range(up, up)];
        let extra: &[u16] = match ch.to_ascii_lowercase() {
            b'i' => &[0x130, 0x131],
            b'k' => &[0x212A],
            b's' => &[0x17F],
            _ => &[],
        };
        items.extend(extra.iter().map(|&e| ClassItem::Range(e, e)));
        Self {
            negated: false,
            items,
        }
    }

    pub fn contains(&self, c: u16) -> bool {
        let hit = self.items.iter().any(|item| match *item {
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
            ClassItem::Letter => in_ranges(LETTER, c),
            ClassItem::Digit => in_ranges(DIGIT, c),
            ClassItem::Upper => char::from_u32(u32::from(c)).is_some_and(char::is_uppercase),
        });
        hit != self.negated
    }
}

/// A parsed regular expression.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Empty,
    Set(CharSet),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

/// Macro definitions (`NAME = regex`), expanded on use; they may refer to each other in
/// any order, as in JFlex.
pub(crate) struct Macros {
    sources: HashMap<&'static str, &'static str>,
}

impl Macros {
    pub fn new(defs: &[(&'static str, &'static str)]) -> Self {
        Self {
            sources: defs.iter().copied().collect(),
        }
    }

    /// Parses `pattern`, expanding macro references.
    pub fn parse(&self, pattern: &str) -> Result<Node, String> {
        self.parse_depth(pattern, 0)
    }

    fn parse_depth(&self, pattern: &str, depth: usize) -> Result<Node, String> {
        if depth > 64 {
            return Err(format!("macro expansion too deep in {pattern:?}"));
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser {
            chars: &chars,
            pos: 0,
            macros: self,
            depth,
        };
        let node = p.alt()?;
        if p.pos != chars.len() {
            return Err(format!(
                "unexpected {:?} at {} in {pattern:?}",
                chars[p.pos], p.pos
            ));
        }
        Ok(node)
    }
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    macros: &'a Macros,
    depth: usize,
}

fn unit(c: char) -> Result<u16, String> {
    u16::try_from(u32::from(c)).map_err(|_| format!("{c:?} is outside the BMP"))
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("unexpected end of pattern")?;
        self.pos += 1;
        Ok(c)
    }

    fn alt(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.seq()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.seq()?);
        }
        Ok(if branches.len() == 1 {
            branches.remove(0)
        } else {
            Node::Alt(branches)
        })
    }

    fn seq(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.postfix(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.remove(0),
            _ => Node::Seq(items),
        })
    }

    fn postfix(&mut self, mut node: Node) -> Result<Node, String> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{')
                    if self
                        .chars
                        .get(self.pos + 1)
                        .is_some_and(char::is_ascii_digit) =>
                {
                    self.pos += 1;
                    let min = self.number()?;
                    let max = if self.peek() == Some(',') {
                        self.pos += 1;
                        Some(self.number()?)
                    } else {
                        Some(min)
                    };
                    if self.next()? != '}' {
                        return Err("unclosed repetition".into());
                    }
                    node = Node::Repeat {
                        node: Box::new(node),
                        min,
                        max,
                    };
                    continue;
                }
                _ => return Ok(node),
            };
            self.pos += 1;
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
            };
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().map_err(|_| format!("bad number {text:?}"))
    }

    fn atom(&mut self) -> Result<Node, String> {
        match self.next()? {
            '(' => {
                let inner = self.alt()?;
                if self.next()? != ')' {
                    return Err("unclosed group".into());
                }
                Ok(inner)
            }
            '[' => Ok(Node::Set(self.class()?)),
            '{' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '}') {
                    self.pos += 1;
                }
                let name: String = self.chars[start..self.pos].iter().collect();
                self.next()?;
                let source = self
                    .macros
                    .sources
                    .get(name.as_str())
                    .ok_or_else(|| format!("unknown macro {name}"))?;
                self.macros.parse_depth(source, self.depth + 1)
            }
            '.' => {
                let mut set = CharSet::any();
                set.items
                    .push(ClassItem::Range(u16::from(b'\n'), u16::from(b'\n')));
                Ok(Node::Set(set))
            }
            '\\' => Ok(Node::Set(CharSet::caseless(self.escape()?))),
            c => Ok(Node::Set(CharSet::caseless(unit(c)?))),
        }
    }

    /// An escape after `\`: `\uXXXX`, `\xXX`, `\t \n \r \f`, `\0`, or the next char itself.
    fn escape(&mut self) -> Result<u16, String> {
        let c = self.next()?;
        let hex_digits = match c {
            'u' => 4,
            'x' => 2,
            't' => return Ok(0x09),
            'n' => return Ok(0x0A),
            'r' => return Ok(0x0D),
            'f' => return Ok(0x0C),
            '0' => return Ok(0x00),
            other => return unit(other),
        };
        let end = self.pos + hex_digits;
        let text: String = self
            .chars
            .get(self.pos..end)
            .ok_or("short escape")?
            .iter()
            .collect();
        self.pos = end;
        u16::from_str_radix(&text, 16).map_err(|_| format!("bad escape {text:?}"))
    }

    /// A class body after `[`, up to and including the closing `]`.
    fn class(&mut self) -> Result<CharSet, String> {
        let mut set = CharSet {
            negated: false,
            items: Vec::new(),
        };
        if self.peek() == Some('^') {
            self.pos += 1;
            set.negated = true;
            if self.peek() == Some(']') {
                self.pos += 1;
                return Ok(CharSet::any());
            }
        }
        for (name, item) in [
            (":letter:]", ClassItem::Letter),
            (":digit:]", ClassItem::Digit),
            (":uppercase:]", ClassItem::Upper),
        ] {
            let len = name.chars().count();
            if self
                .chars
                .get(self.pos..self.pos + len)
                .is_some_and(|s| s.iter().copied().eq(name.chars()))
            {
                self.pos += len;
                set.items.push(item);
                return Ok(set);
            }
        }
        loop {
            let lo = match self.next()? {
                ']' => return Ok(set),
                '\\' => self.escape()?,
                c => unit(c)?,
            };
            let is_range =
                self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&c| c != ']');
            if is_range {
                self.pos += 1;
                let hi = match self.next()? {
                    '\\' => self.escape()?,
                    c => unit(c)?,
                };
                set.items.push(ClassItem::Range(lo, hi));
            } else {
                set.items.push(ClassItem::Range(lo, lo));
            }
        }
    }
}
