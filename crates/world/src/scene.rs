//! Audio-captioning scenes: a clip of 1–5 s mixing 1–3 events of distinct kinds, laid out
//! as a sequence (events one after another) or as a background event spanning the clip with
//! one or two events in sequence over it, over a faint noise floor; captioned from its facts.

use rng::Rng;
use serde::{Deserialize, Serialize};

use crate::caption;
use crate::dsp;
use crate::events::{DrawOptions, EventKind, EventSpec, Levels};

/// Gap (s) between consecutive foreground slots.
const SLOT_GAP: f32 = 0.1;
/// Largest absolute sample of a rendered clip.
pub const PEAK_LIMIT: f32 = 0.99;

/// An event at its place in a clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placed {
    /// Start (s) from the clip's start.
    pub onset: f32,
    pub event: EventSpec,
}

impl Placed {
    /// `(start, end)` in seconds.
    pub fn span(&self) -> (f32, f32) {
        (self.onset, self.onset + self.event.dur)
    }
}

/// Everything generated for one captioned clip: the facts its captions state and the seeds of
/// the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneSpec {
    pub id: String,
    /// Length (s).
    pub dur: f32,
    /// An event spanning the clip, if any.
    pub background: Option<Placed>,
    /// Foreground events, in onset order, not overlapping one another.
    pub sequence: Vec<Placed>,
    /// Noise floor RMS level (dBFS) and seed.
    pub floor_db: f32,
    pub floor_seed: u64,
    /// Paraphrases of the same facts; the first is the training target.
    pub captions: Vec<String>,
}

/// Options of [`SceneSpec::draw`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneOptions {
    /// Clip length range (s).
    pub min_seconds: f32,
    pub max_seconds: f32,
    /// Captions per clip (at most this many distinct paraphrases).
    pub captions: usize,
}

impl SceneSpec {
    /// Draws a scene. Event kinds within a clip are distinct, so each caption names each
    /// event once.
    pub fn draw(rng: &mut Rng, id: String, opt: &SceneOptions) -> Self {
        let dur = dsp::uni(rng, opt.min_seconds, opt.max_seconds.max(opt.min_seconds));
        let n_max = if dur < 1.8 { 2 } else { 3 };
        let n = 1 + rng.weighted(&[0.3, 0.4, 0.3][..n_max]);
        let with_bg = n >= 2 && dsp::chance(rng, 0.5);
        let mut kinds = EventKind::ALL.to_vec();
        rng.shuffle(&mut kinds);

        let background = if with_bg {
            let i = kinds
                .iter()
                .position(|k| k.can_be_background() && k.min_span() <= dur - 0.1)
                .unwrap_or(0);
            let kind = kinds.remove(i);
            let onset = dsp::uni(rng, 0.0, 0.08);
            let end = dur - dsp::uni(rng, 0.0, 0.08);
            let event = EventSpec::draw(
                rng,
                kind,
                DrawOptions {
                    background: true,
                    max_dur: end - onset,
                    levels: Levels::NoLoud,
                },
            );
            Some(Placed { onset, event })
        } else {
            None
        };

        let (start, end) = (dsp::uni(rng, 0.05, 0.2), dur - dsp::uni(rng, 0.05, 0.2));
        let mut k = n - usize::from(with_bg);
        let mut slot = 0.0;
        while k > 0 {
            slot = (end - start - (k - 1) as f32 * SLOT_GAP) / k as f32;
            if kinds.iter().filter(|kd| kd.min_span() <= slot).count() >= k {
                break;
            }
            k -= 1;
        }
        let k = k.max(usize::from(background.is_none()));
        let mut sequence = Vec::with_capacity(k);
        for s in 0..k {
            let Some(i) = kinds.iter().position(|kd| kd.min_span() <= slot) else {
                break;
            };
            let kind = kinds.remove(i);
            let event = EventSpec::draw(
                rng,
                kind,
                DrawOptions {
                    background: false,
                    max_dur: slot,
                    levels: Levels::All,
                },
            );
            let slot_start = start + s as f32 * (slot + SLOT_GAP);
            let onset = slot_start + dsp::uni(rng, 0.0, (slot - event.dur).max(0.0));
            sequence.push(Placed { onset, event });
        }

        let floor_db = dsp::uni(rng, -62.0, -50.0);
        let floor_seed = rng.next_u64();
        let bg_phrase = background.as_ref().map(|b| b.event.phrase(true));
        let seq_phrases: Vec<_> = sequence.iter().map(|p| p.event.phrase(true)).collect();
        let mut all = caption::paraphrases(bg_phrase.as_ref(), &seq_phrases);
        // A random paraphrase is the target; the rest keep their order.
        let first = dsp::pick(rng, all.len().max(1)).min(all.len().saturating_sub(1));
        if !all.is_empty() {
            let t = all.remove(first);
            all.insert(0, t);
        }
        all.truncate(opt.captions.max(1));
        Self {
            id,
            dur,
            background,
            sequence,
            floor_db,
            floor_seed,
            captions: all,
        }
    }

    /// Length in samples.
    pub fn len(&self) -> usize {
        dsp::secs(self.dur)
    }

    /// Whether the clip has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every event, background first.
    pub fn events(&self) -> impl Iterator<Item = &Placed> {
        self.background.iter().chain(&self.sequence)
    }

    /// One event rendered alone at its place in a clip-long buffer (no floor, no limiter).
    pub fn render_track(&self, p: &Placed) -> Vec<f32> {
        let mut out = vec![0.0f32; self.len()];
        dsp::add_at(&mut out, &p.event.render(), dsp::secs(p.onset), 1.0);
        out
    }

    /// The clip: its events and its noise floor mixed, then scaled down if its peak would
    /// pass [`PEAK_LIMIT`]. Returns the samples and that gain.
    pub fn render(&self) -> (Vec<f32>, f32) {
        let n = self.len();
        let mut rng = Rng::new(self.floor_seed);
        let floor = dsp::db(self.floor_db) * 3f32.sqrt();
        let mut out: Vec<f32> = (0..n).map(|_| floor * dsp::white(&mut rng)).collect();
        for p in self.events() {
            dsp::add_at(&mut out, &p.event.render(), dsp::secs(p.onset), 1.0);
        }
        let pk = dsp::peak(&out);
        let gain = if pk > PEAK_LIMIT {
            PEAK_LIMIT / pk
        } else {
            1.0
        };
        if gain != 1.0 {
            out.iter_mut().for_each(|v| *v *= gain);
        }
        (out, gain)
    }

    /// The fraction of the clip covered by at least one event.
    pub fn coverage(&self) -> f32 {
        let mut spans: Vec<(f32, f32)> = self.events().map(Placed::span).collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut covered, mut reach) = (0.0f32, 0.0f32);
        for (s, e) in spans {
            let s = s.max(reach);
            if e > s {
                covered += e - s;
                reach = e;
            }
        }
        (covered / self.dur.max(1e-6)).min(1.0)
    }
}
