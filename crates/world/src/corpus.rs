//! What a world contains, as specifications (no audio yet): captioned scenes, single-event
//! clips, pair plans (by the data crate's pair builder) and probe examples, per split.
//!
//! Every item draws from its own RNG stream, keyed by (seed, what, split) and its index, so
//! items do not depend on one another or on the counts of other splits, and no two splits
//! share a stream: splits hold different clips and different event instances.

use std::collections::BTreeMap;
use std::path::PathBuf;

use data::pairs::{plan_pairs, Templates};
use data::{Clip, Edit, PairPlan};
use rng::{derive_seed, Rng};
use serde::{Deserialize, Serialize};

use crate::config::{Split, WorldConfig};
use crate::dsp;
use crate::error::Result;
use crate::events::{DrawOptions, EventKind, EventSpec, Levels};
use crate::probes::{ProbeSpec, ProbeTask};
use crate::scene::{SceneOptions, SceneSpec};

/// FNV-1a 64 of a string (stream keys).
fn key(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The RNG of item `index` of `what` in `split`.
pub fn item_rng(seed: u64, what: &str, split: Split, index: usize) -> Rng {
    let base = derive_seed(seed, key(&format!("{what}/{}", split.name())));
    Rng::stream(base, index as u64)
}

/// Relative path of an AC clip.
pub fn clip_path(split: Split, id: &str) -> PathBuf {
    PathBuf::from(format!("clips/{}/{id}.wav", split.name()))
}

/// Relative path of a single-event clip.
pub fn event_path(split: Split, id: &str) -> PathBuf {
    PathBuf::from(format!("events/{}/{id}.wav", split.name()))
}

/// Relative path of a probe example.
pub fn probe_path(task: ProbeTask, split: Split, id: &str) -> PathBuf {
    PathBuf::from(format!("probes/{}/{}/{id}.wav", task.name(), split.name()))
}

/// The captioned scenes of `split`.
pub fn scenes(cfg: &WorldConfig, split: Split) -> Vec<SceneSpec> {
    let opt = SceneOptions {
        min_seconds: cfg.min_seconds,
        max_seconds: cfg.max_seconds,
        captions: cfg.captions_per_clip,
    };
    (0..cfg.ac.get(split))
        .map(|i| {
            let mut rng = item_rng(cfg.seed, "ac", split, i);
            SceneSpec::draw(&mut rng, format!("ac-{}-{i:05}", split.name()), &opt)
        })
        .collect()
}

/// A single-event clip: the sound a pair adds, removes or replaces, with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventClip {
    pub id: String,
    /// A participle noun phrase without loudness ("a high bell ringing twice"): the mixing
    /// SNR, not the event, sets its level in a pair.
    pub label: String,
    pub spec: EventSpec,
}

/// The single-event clips of `split`, kinds in rotation from a random start (so every kind
/// appears and replace edits find different labels).
pub fn event_clips(cfg: &WorldConfig, split: Split) -> Vec<EventClip> {
    (0..cfg.events.get(split))
        .map(|i| {
            let mut rng = item_rng(cfg.seed, "events", split, i);
            let kind = EventKind::ALL[(i + (derive_seed(cfg.seed, 7) % 8) as usize) % 8];
            let max_dur = dsp::uni(&mut rng, cfg.event_min_seconds, cfg.event_max_seconds);
            let spec = EventSpec::draw(
                &mut rng,
                kind,
                DrawOptions {
                    background: false,
                    max_dur,
                    levels: Levels::Normal,
                },
            );
            EventClip {
                id: format!("ev-{}-{i:05}", split.name()),
                label: spec.phrase(false).participle,
                spec,
            }
        })
        .collect()
}

/// A planned pair with the extra references of its ACC target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairFacts {
    pub plan: PairPlan,
    /// ACC targets the same rule gives for the base clip's other paraphrases (distinct, not
    /// the target): further references for scoring.
    pub acc_references: Vec<String>,
}

/// The pairs of `split`: bases are the split's AC clips covered at least
/// `pair_min_coverage` by events (all of them when none is), events the split's event clips;
/// plans come from [`data::plan_pairs`] with `cfg.pair_builder`, truncated to the count.
pub fn pairs(
    cfg: &WorldConfig,
    split: Split,
    scenes: &[SceneSpec],
    events: &[EventClip],
) -> Result<Vec<PairFacts>> {
    let want = cfg.pairs.get(split);
    if want == 0 {
        return Ok(Vec::new());
    }
    let mut chosen: Vec<&SceneSpec> = scenes
        .iter()
        .filter(|s| s.coverage() >= cfg.pair_min_coverage)
        .collect();
    if chosen.is_empty() {
        chosen = scenes.iter().collect();
    }
    let bases: Vec<Clip> = chosen
        .iter()
        .map(|s| Clip {
            id: s.id.clone(),
            path: clip_path(split, &s.id),
            caption: s.captions.first().cloned().unwrap_or_default(),
        })
        .collect();
    let ev: Vec<Clip> = events
        .iter()
        .map(|e| Clip {
            id: e.id.clone(),
            path: event_path(split, &e.id),
            caption: e.label.clone(),
        })
        .collect();
    let mut pc = cfg.pair_builder.clone();
    pc.pairs_per_base = want.div_ceil(bases.len().max(1));
    let seed = derive_seed(cfg.seed, key(&format!("pairs/{}", split.name())));
    let mut plans = plan_pairs(&bases, &ev, &pc, seed)?;
    plans.truncate(want);
    let by_id: BTreeMap<&str, &SceneSpec> = chosen.iter().map(|s| (s.id.as_str(), *s)).collect();
    Ok(plans
        .into_iter()
        .map(|plan| {
            let refs = by_id
                .get(plan.base.id.as_str())
                .map(|s| acc_references(&pc.templates, &plan, &s.captions))
                .unwrap_or_default();
            PairFacts {
                plan,
                acc_references: refs,
            }
        })
        .collect())
}

/// The ACC targets of `plan`'s edit on each other paraphrase of its base, by the same rule.
fn acc_references(t: &Templates, plan: &PairPlan, captions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in captions.iter().skip(1) {
        let base = Clip {
            caption: c.clone(),
            ..plan.base.clone()
        };
        let acc = t.targets(&base, &plan.edit).acc;
        if acc != plan.targets.acc && !out.contains(&acc) {
            out.push(acc);
        }
    }
    out
}

/// The events a pair's edit names (for the facts' disjointness checks).
pub fn edit_events(e: &Edit) -> Vec<&Clip> {
    match e {
        Edit::Add { event } | Edit::Remove { event } => vec![event],
        Edit::Replace { from, to } => vec![from, to],
    }
}

/// The examples of `task` in `split`: `probes` per class, classes interleaved.
pub fn probe_specs(cfg: &WorldConfig, task: ProbeTask, split: Split) -> Vec<ProbeSpec> {
    let per = cfg.probes.get(split);
    let labels = task.labels();
    let mut out = Vec::with_capacity(per * labels.len());
    for k in 0..per {
        for (li, label) in labels.iter().enumerate() {
            let i = k * labels.len() + li;
            let mut rng = item_rng(cfg.seed, task.name(), split, i);
            out.push(ProbeSpec {
                id: format!(
                    "{}-{}-{}-{k:04}",
                    task.name(),
                    split.name(),
                    label.replace(' ', "_")
                ),
                task,
                label: label.to_string(),
                seed: rng.next_u64(),
            });
        }
    }
    out
}
