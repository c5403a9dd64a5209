//! n-gram counting shared by BLEU and CIDEr-D (`precook` in pycocoevalcap).

use std::collections::HashMap;

use crate::text::py_split;

/// The largest n-gram order pycocoevalcap's BLEU and CIDEr-D use.
pub const MAX_N: usize = 4;

/// An n-gram of word ids: ids are stored `+ 1`, unused slots are 0, so n is implied.
pub(crate) type Ngram = [u32; MAX_N];

pub(crate) fn order(ngram: &Ngram) -> usize {
    ngram.iter().take_while(|&&w| w != 0).count()
}

/// Interns words so n-grams are small copyable keys.
#[derive(Default)]
pub(crate) struct Vocab<'a> {
    ids: HashMap<&'a str, u32>,
}

impl<'a> Vocab<'a> {
    /// Word ids of `s.split()` (Python whitespace), each `>= 1`.
    pub fn words(&mut self, s: &'a str) -> Vec<u32> {
        py_split(s)
            .map(|w| {
                let next = self.ids.len() as u32 + 1;
                *self.ids.entry(w).or_insert(next)
            })
            .collect()
    }
}

/// n-gram counts for n = 1..=4 in first-occurrence order (Python dict order).
#[derive(Default)]
pub(crate) struct Counts {
    pub entries: Vec<(Ngram, u32)>,
    index: HashMap<Ngram, usize>,
}

impl Counts {
    /// `precook(s, 4)`: every n-gram of `words` with its count.
    pub fn new(words: &[u32]) -> Self {
        let mut counts = Self::default();
        for k in 1..=MAX_N {
            for window in words.windows(k) {
                let mut ngram = [0; MAX_N];
                ngram[..k].copy_from_slice(window);
                match counts.index.get(&ngram) {
                    Some(&i) => counts.entries[i].1 += 1,
                    None => {
                        counts.index.insert(ngram, counts.entries.len());
                        counts.entries.push((ngram, 1));
                    }
                }
            }
        }
        counts
    }
}
