//! Thompson NFA for the lexer rules plus a lazily built DFA, giving JFlex's matching
//! semantics: the longest match wins, and among equally long matches the earliest rule.

use std::collections::HashMap;

use super::pattern::{CharSet, Node};

/// NFA state ids index `Nfa::states`.
type StateId = u32;

#[derive(Clone, Debug)]
enum State {
    /// Consume one code unit in `sets[set]`, go to `next`.
    Set {
        set: u32,
        next: StateId,
    },
    Split(StateId, StateId),
    /// Accepting state of rule `rule` (`u32::MAX` for sub-pattern automata).
    Match(u32),
}

/// An arena of NFA states shared by every compiled pattern.
#[derive(Default)]
pub(crate) struct Nfa {
    states: Vec<State>,
    sets: Vec<CharSet>,
}

impl Nfa {
    fn push(&mut self, state: State) -> StateId {
        self.states.push(state);
        (self.states.len() - 1) as StateId
    }

    /// Adds an accepting state for `rule` and returns its id.
    pub fn accept(&mut self, rule: u32) -> StateId {
        self.push(State::Match(rule))
    }

    /// A state that tries each of `starts` (an alternation of whole patterns).
    pub fn union(&mut self, starts: &[StateId]) -> StateId {
        let mut iter = starts.iter().rev();
        let Some(&last) = iter.next() else {
            return self.accept(u32::MAX);
        };
        iter.fold(last, |acc, &s| self.push(State::Split(s, acc)))
    }

    /// Compiles `node` so that a match continues at `next`; returns the entry state.
    pub fn compile(&mut self, node: &Node, next: StateId) -> StateId {
        match node {
            Node::Empty => next,
            Node::Set(set) => {
                let id = match self.sets.iter().position(|s| s == set) {
                    Some(i) => i as u32,
                    None => {
                        self.sets.push(set.clone());
                        (self.sets.len() - 1) as u32
                    }
                };
                self.push(State::Set { set: id, next })
            }
            Node::Seq(items) => items
                .iter()
                .rev()
                .fold(next, |acc, item| self.compile(item, acc)),
            Node::Alt(branches) => {
                let starts: Vec<StateId> = branches.iter().map(|b| self.compile(b, next)).collect();
                self.union(&starts)
            }
            Node::Repeat { node, min, max } => {
                let mut cur = match max {
                    None => {
                        // Loop: split into the body (which returns to the split) or leave.
                        let split = self.push(State::Split(next, next));
                        let body = self.compile(node, split);
                        self.states[split as usize] = State::Split(body, next);
                        split
                    }
                    Some(max) => {
                        let mut cur = next;
                        for _ in *min..*max {
                            let body = self.compile(node, cur);
                            cur = self.push(State::Split(body, next));
                        }
                        cur
                    }
                };
                for _ in 0..*min {
                    cur = self.compile(node, cur);
                }
                cur
            }
        }
    }

    /// Adds the epsilon closure of `s` to `out` (consuming and accepting states only).
    fn closure(&self, s: StateId, seen: &mut [bool], out: &mut Vec<StateId>) {
        let mut stack = vec![s];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s as usize], true) {
                continue;
            }
            match self.states[s as usize] {
                State::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => out.push(s),
            }
        }
    }

    fn step(&self, from: &[StateId], c: u16, seen: &mut Vec<bool>) -> Vec<StateId> {
        seen.clear();
        seen.resize(self.states.len(), false);
        let mut out = Vec::new();
        for &s in from {
            if let State::Set { set, next } = self.states[s as usize] {
                if self.sets[set as usize].contains(c) {
                    self.closure(next, seen, &mut out);
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn start_set(&self, start: StateId) -> Vec<StateId> {
        let mut seen = vec![false; self.states.len()];
        let mut out = Vec::new();
        self.closure(start, &mut seen, &mut out);
        out.sort_unstable();
        out
    }

    fn accepts(&self, set: &[StateId]) -> Option<u32> {
        set.iter()
            .filter_map(|&s| match self.states[s as usize] {
                State::Match(rule) => Some(rule),
                _ => None,
            })
            .min()
    }

    /// Ends `e` (absolute positions in `from..=to`) where the pattern entered at `start`
    /// matches `input[from..e]`; `ends[e - from]` is true for each.
    pub fn match_ends(&self, start: StateId, input: &[u16], from: usize, to: usize) -> Vec<bool> {
        let mut ends = vec![false; to - from + 1];
        let mut cur = self.start_set(start);
        let mut seen = Vec::new();
        let mut pos = from;
        loop {
            ends[pos - from] = self.accepts(&cur).is_some();
            if pos == to || cur.is_empty() {
                return ends;
            }
            cur = self.step(&cur, input[pos], &mut seen);
            pos += 1;
        }
    }
}

const UNKNOWN: u32 = u32::MAX;
const DEAD: u32 = u32::MAX - 1;

struct DState {
    accept: Option<u32>,
    ascii: [u32; 128],
    other: HashMap<u16, u32>,
}

/// A DFA over the union of all rules, built on demand from the NFA.
pub(crate) struct LazyDfa<'n> {
    nfa: &'n Nfa,
    states: Vec<DState>,
    sets: Vec<Vec<StateId>>,
    index: HashMap<Vec<StateId>, u32>,
    seen: Vec<bool>,
}

impl<'n> LazyDfa<'n> {
    pub fn new(nfa: &'n Nfa, start: StateId) -> Self {
        let mut dfa = Self {
            nfa,
            states: Vec::new(),
            sets: Vec::new(),
            index: HashMap::new(),
            seen: Vec::new(),
        };
        let set = nfa.start_set(start);
        dfa.intern(set);
        dfa
    }

    fn intern(&mut self, set: Vec<StateId>) -> u32 {
        if set.is_empty() {
            return DEAD;
        }
        if let Some(&id) = self.index.get(&set) {
            return id;
        }
        let id = self.states.len() as u32;
        self.states.push(DState {
            accept: self.nfa.accepts(&set),
            ascii: [UNKNOWN; 128],
            other: HashMap::new(),
        });
        self.index.insert(set.clone(), id);
        self.sets.push(set);
        id
    }

    fn next(&mut self, state: u32, c: u16) -> u32 {
        let cached = if c < 128 {
            self.states[state as usize].ascii[c as usize]
        } else {
            self.states[state as usize]
                .other
                .get(&c)
                .copied()
                .unwrap_or(UNKNOWN)
        };
        if cached != UNKNOWN {
            return cached;
        }
        let set = self.nfa.step(&self.sets[state as usize], c, &mut self.seen);
        let target = self.intern(set);
        let slot = &mut self.states[state as usize];
        if c < 128 {
            slot.ascii[c as usize] = target;
        } else {
            slot.other.insert(c, target);
        }
        target
    }

    /// The longest match starting at `pos`: `(rule, end)`, the earliest rule on ties.
    pub fn longest(&mut self, input: &[u16], pos: usize) -> Option<(u32, usize)> {
        let mut state = 0;
        let mut best = None;
        for (i, &c) in input.iter().enumerate().skip(pos) {
            state = self.next(state, c);
            if state == DEAD {
                break;
            }
            if let Some(rule) = self.states[state as usize].accept {
                best = Some((rule, i + 1));
            }
        }
        best
    }
}
