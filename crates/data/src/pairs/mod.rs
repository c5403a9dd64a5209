//! The ACC paper's pair building (science.md, "How pairs were built"): a base clip is edited
//! by adding, removing or replacing a single-event clip, giving a (before, after) pair with an
//! ADC target (the edit) and an ACC target (by the paper's rule).
//!
//! Planning is a pure function, [`plan_pairs`]: (base clips, event clips, config, seed) →
//! [`PairPlan`]s, each naming its clips, edit, SNR, offset and targets. Rendering is separate
//! ([`render_pair`], or [`render_pair_with`] with the caller's own audio source), so a
//! procedural generator reuses the same edit and target rules on synthesized audio: give its
//! sources as [`Clip`]s and render with a loader that synthesizes them by id.
//!
//! * Add: before = base, after = base + event.
//! * Remove: before = base + event, after = base (the add pair reversed).
//! * Replace: before = base + event A, after = base + event B (same SNR and offset fraction).
//!
//! Captions: the base clip's own; a mixed clip's is [`Templates::mixed_caption`] ("{base},
//! with {event}"). Hence ACC = the base caption for add and remove, and for replace the longest
//! phrase the two mixed captions share — the base caption (plus what the two events' captions
//! share), connectives at its ends trimmed ([`Templates::acc`]).

mod render;
mod text;

use std::path::{Path, PathBuf};

use rng::Rng;
use serde::{Deserialize, Serialize};

pub use render::{
    event_offset, mix_at_snr, render_audio, render_pair, render_pair_with, write_wav, MixError,
    RenderConfig, RenderedAudio, RenderedPair, WavFormat,
};
pub use text::{capitalize, inline, longest_common_phrase, Targets, Templates};

use crate::error::{Error, Result};
use crate::manifest::{NativeLine, Sample};
use crate::task::Task;

/// A source clip: a base clip with its caption, or a single-event clip with its label (a noun
/// phrase reads best in the default templates: "a dog barking", "bird song").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clip {
    pub id: String,
    /// An audio file, or whatever a custom loader resolves (see [`render_pair_with`]).
    pub path: PathBuf,
    pub caption: String,
}

impl Clip {
    /// A clip from a one-clip, audio-only sample (its target is the caption). Errors name the
    /// sample's line when it has another number of clips, or images or videos.
    pub fn from_sample(s: &Sample) -> Result<Self> {
        for (field, n) in [("images", s.images.len()), ("videos", s.videos.len())] {
            if n > 0 {
                let reason =
                    format!("a pair source must be audio only, this sample has {n} {field}");
                return Err(Error::field(&s.source, field, reason));
            }
        }
        match s.audio.as_slice() {
            [path] => Ok(Self {
                id: s.id.clone(),
                path: path.clone(),
                caption: s.target.clone(),
            }),
            many => Err(Error::field(
                &s.source,
                "audio",
                format!(
                    "a pair source must have one clip, this sample has {}",
                    many.len()
                ),
            )),
        }
    }
}

/// The three edits, as a closed choice (for weights and rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditKind {
    Add,
    Remove,
    Replace,
}

impl EditKind {
    pub fn name(self) -> &'static str {
        match self {
            EditKind::Add => "add",
            EditKind::Remove => "remove",
            EditKind::Replace => "replace",
        }
    }
}

/// An edit with its event clip(s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Edit {
    Add { event: Clip },
    Remove { event: Clip },
    Replace { from: Clip, to: Clip },
}

impl Edit {
    pub fn kind(&self) -> EditKind {
        match self {
            Edit::Add { .. } => EditKind::Add,
            Edit::Remove { .. } => EditKind::Remove,
            Edit::Replace { .. } => EditKind::Replace,
        }
    }
}

/// Relative weights of the edits (non-negative, not all zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EditWeights {
    pub add: f64,
    pub remove: f64,
    pub replace: f64,
}

impl Default for EditWeights {
    fn default() -> Self {
        Self {
            add: 1.0,
            remove: 1.0,
            replace: 1.0,
        }
    }
}

/// Pair-building configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairConfig {
    pub edits: EditWeights,
    /// Event level relative to the base, `10 log10(P_event / P_base)` over the overlap (the
    /// Scaper convention: the event is the "signal"), drawn uniformly in
    /// `[snr_db_min, snr_db_max]`. Default 0..10 dB, our choice: the event must be audible.
    pub snr_db_min: f64,
    pub snr_db_max: f64,
    /// Pairs planned per base clip.
    pub pairs_per_base: usize,
    pub templates: Templates,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            edits: EditWeights::default(),
            snr_db_min: 0.0,
            snr_db_max: 10.0,
            pairs_per_base: 1,
            templates: Templates::default(),
        }
    }
}

/// One planned pair: everything needed to render it and to write its manifest lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairPlan {
    /// `pair-<n>-<edit>`, `n` counting plans from 0 (file-name safe).
    pub id: String,
    pub base: Clip,
    pub edit: Edit,
    /// Event level relative to the base over the overlap, dB (see [`PairConfig::snr_db_min`]).
    pub snr_db: f64,
    /// Where the event starts, as a fraction of the free room `base_len - event_len` (see
    /// [`event_offset`]); sample offsets need the clip lengths, known only when rendering.
    pub offset_frac: f64,
    pub targets: Targets,
}

fn validate(bases: &[Clip], events: &[Clip], cfg: &PairConfig) -> Result<[f64; 3]> {
    let w = [cfg.edits.add, cfg.edits.remove, cfg.edits.replace];
    if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
        return Err(Error::config(
            "edits",
            "weights must be finite, >= 0 and not all zero",
        ));
    }
    if !(cfg.snr_db_min.is_finite() && cfg.snr_db_max.is_finite())
        || cfg.snr_db_min > cfg.snr_db_max
    {
        return Err(Error::config(
            "snr_db_min/snr_db_max",
            "need finite min <= max",
        ));
    }
    if cfg.pairs_per_base == 0 {
        return Err(Error::config("pairs_per_base", "must be at least 1"));
    }
    for c in bases.iter().chain(events) {
        if !text::has_words(&c.caption) {
            return Err(Error::config(
                "clips",
                format!("clip `{}` has a caption with no word", c.id),
            ));
        }
    }
    if !bases.is_empty() && events.is_empty() {
        return Err(Error::config("events", "no event clips to edit with"));
    }
    if w[2] > 0.0 {
        let first = events.first().map(|e| text::normalized(&e.caption));
        if events
            .iter()
            .all(|e| Some(text::normalized(&e.caption)) == first)
        {
            return Err(Error::config(
                "edits.replace",
                "replace needs event clips with at least two different captions",
            ));
        }
    }
    Ok(w)
}

/// An event index drawn uniformly among those accepted by `ok` (rejection sampling, then a
/// scan from the last draw so the result stays deterministic). `None` if none is accepted.
fn pick(rng: &mut Rng, n: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    let mut i = 0;
    for _ in 0..64 {
        i = rng.below(n as u64) as usize;
        if ok(i) {
            return Some(i);
        }
    }
    (0..n).map(|k| (i + k) % n).find(|&k| ok(k))
}

/// Plans pairs: for each base clip, `pairs_per_base` edits drawn by weight, each with events
/// drawn uniformly (an event is never the base's own file; a replacement never has the same
/// caption as the event it replaces), an SNR and an offset fraction. Base `i` draws from its
/// own stream of `seed`, so its plans do not depend on the other bases. Pure: same inputs,
/// same plans.
pub fn plan_pairs(
    bases: &[Clip],
    events: &[Clip],
    cfg: &PairConfig,
    seed: u64,
) -> Result<Vec<PairPlan>> {
    let weights = validate(bases, events, cfg)?;
    let kinds = [EditKind::Add, EditKind::Remove, EditKind::Replace];
    let mut plans = Vec::with_capacity(bases.len() * cfg.pairs_per_base);
    for (bi, base) in bases.iter().enumerate() {
        let mut rng = Rng::stream(seed, bi as u64);
        let not_base = |k: usize| events[k].path != base.path;
        for _ in 0..cfg.pairs_per_base {
            let mut kind = kinds[rng.weighted(&weights)];
            let first = pick(&mut rng, events.len(), not_base);
            let Some(a) = first else {
                return Err(Error::config(
                    "events",
                    format!("every event clip is base clip `{}` itself", base.id),
                ));
            };
            let mut second = None;
            if kind == EditKind::Replace {
                let label = text::normalized(&events[a].caption);
                second = pick(&mut rng, events.len(), |k| {
                    not_base(k) && text::normalized(&events[k].caption) != label
                });
                if second.is_none() {
                    // Only possible when the base is one of the two distinct events.
                    kind = EditKind::Add;
                }
            }
            let edit = match (kind, second) {
                (EditKind::Replace, Some(b)) => Edit::Replace {
                    from: events[a].clone(),
                    to: events[b].clone(),
                },
                (EditKind::Remove, _) => Edit::Remove {
                    event: events[a].clone(),
                },
                _ => Edit::Add {
                    event: events[a].clone(),
                },
            };
            let snr_db = rng.uniform(cfg.snr_db_min, cfg.snr_db_max);
            let offset_frac = rng.next_f64();
            let targets = cfg.templates.targets(base, &edit);
            plans.push(PairPlan {
                id: format!("pair-{:06}-{}", plans.len(), edit.kind().name()),
                base: base.clone(),
                edit,
                snr_db,
                offset_frac,
                targets,
            });
        }
    }
    Ok(plans)
}

fn rel(p: &Path, dir: &Path) -> Result<String> {
    let r = p.strip_prefix(dir).unwrap_or(p);
    r.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::config("out_dir", format!("{} is not valid UTF-8", p.display())))
}

/// The ADC and ACC manifest lines of a rendered pair (audio = [before, after], written
/// relative to `manifest_dir` when under it; no prompt, so the task's prompt applies). Ids:
/// `<plan id>-adc`, `<plan id>-acc`.
pub fn plan_lines(
    plan: &PairPlan,
    rendered: &RenderedPair,
    manifest_dir: &Path,
) -> Result<[NativeLine; 2]> {
    let audio = vec![
        rel(&rendered.before, manifest_dir)?,
        rel(&rendered.after, manifest_dir)?,
    ];
    let line = |task: Task, target: &str| NativeLine {
        id: Some(format!("{}-{}", plan.id, task.name())),
        task,
        audio: audio.clone(),
        images: Vec::new(),
        videos: Vec::new(),
        prompt: None,
        system: None,
        target: target.to_string(),
        references: Vec::new(),
    };
    Ok([
        line(Task::Adc, &plan.targets.adc),
        line(Task::Acc, &plan.targets.acc),
    ])
}
