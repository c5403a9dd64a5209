//! The visual pretraining set: frame folders of one object — a shape of a named colour making a
//! motion — each captioned with what it shows ("a red triangle pecking"). It is to the world's
//! visual base model what the AC captions are to its audio base: a general task that teaches a
//! new vision tower to see (shape, colour, motion) before any sound-object question is asked.
//!
//! Shape, colour and motion are drawn independently and uniformly (10 × 10 × 10
//! combinations), so the 10 looks of the sound-object classes are 10 of 1,000 combinations
//! and no class is taught here: which look belongs to which class is left to the
//! multiple-choice training. The view is rendered exactly as a sound object's ([`super::view`],
//! the same colour jitter, placement, background, lighting and noise; the size from a sound
//! object's up to 2.5 times larger), moving with a regular rhythm of 1–6 occurrences per second;
//! the geometry (clip length, frames, frame size) is the sound-object set's. (With the objects'
//! own sizes only, a tower trained from random initialisation through the language model
//! stayed near chance after 4,000 steps: colour 16 %, shape 12 %, motion 12 % of test views
//! named; the larger sizes were added for that reason.)
//!
//! Manifest lines: task `views`, the frame folder as the video, the prompt [`PROMPT`], the
//! caption as the target. Our design, like the rest of the world.

use rng::Rng;
use serde::{Deserialize, Serialize};

use super::view::{self, Beat};
use super::{draw_onsets, Look, Motion, ObjectsConfig, Shape, Timing, VisualFacts, COLOURS};
use crate::config::Split;
use crate::corpus::item_rng;
use crate::dsp;

/// The task name of the manifests' lines.
pub const TASK_NAME: &str = "views";

/// The question every line asks.
pub const PROMPT: &str = "What do you see, and how does it move?";

/// Range of the rhythm (occurrences per second) and of one occurrence's length (s).
const RATE: (f32, f32) = (1.0, 6.0);
const HIT: (f32, f32) = (0.05, 0.4);
/// Range of the object's size, in multiples of a sound object's (drawn uniformly): from the
/// objects' own size up to the frame's, so that shape and colour also fill whole patches.
const SCALE: (f32, f32) = (1.0, 2.5);

/// One captioned view and every fact it was rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub id: String,
    /// The target: article, colour, shape and motion words.
    pub caption: String,
    /// The colour's name ([`COLOURS`]).
    pub colour: String,
    pub seconds: f32,
    pub rate: f32,
    pub hit: f32,
    pub onsets: Vec<f32>,
    pub visual: VisualFacts,
}

/// Relative path of a view's frame folder.
pub fn frames_dir(split: Split, id: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{TASK_NAME}/{}/{id}", split.name()))
}

/// The caption of a `colour` `shape` making `motion`: "a red triangle pecking", "an orange
/// ring vibrating", "blue drops falling".
pub fn caption(colour: &str, shape: Shape, motion: Motion) -> String {
    let noun = format!("{colour} {} {}", shape.word(), motion.word());
    if shape == Shape::Drops {
        noun
    } else if colour.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// The `count` views of `split`, ids `view-<split>-NNNNN`, with the geometry of `geometry`.
pub fn specs(seed: u64, geometry: &ObjectsConfig, split: Split, count: usize) -> Vec<ViewSpec> {
    (0..count)
        .map(|i| {
            let mut rng = item_rng(seed, TASK_NAME, split, i);
            ViewSpec::draw(&mut rng, format!("view-{}-{i:05}", split.name()), geometry)
        })
        .collect()
}

impl ViewSpec {
    fn draw(rng: &mut Rng, id: String, geometry: &ObjectsConfig) -> Self {
        let pick = |rng: &mut Rng, n: usize| (rng.next_u64() % n as u64) as usize;
        let shape = Shape::ALL[pick(rng, Shape::ALL.len())];
        let (colour, rgb) = COLOURS[pick(rng, COLOURS.len())];
        let motion = Motion::ALL[pick(rng, Motion::ALL.len())];
        let mut rhythm = Rng::new(rng.next_u64());
        let mut look = Rng::new(rng.next_u64());
        let rate = dsp::uni(&mut rhythm, RATE.0, RATE.1);
        let scale = dsp::uni(&mut look, SCALE.0, SCALE.1);
        let hit = dsp::uni(&mut rhythm, HIT.0, HIT.1);
        let onsets = draw_onsets(&mut rhythm, Timing::Regular, rate, geometry.seconds);
        let visual = VisualFacts::draw(
            &mut look,
            &Look {
                name: TASK_NAME,
                shape,
                colour: rgb,
                motion,
            },
            scale,
            geometry,
        );
        Self {
            id,
            caption: caption(colour, shape, motion),
            colour: colour.to_string(),
            seconds: geometry.seconds,
            rate,
            hit,
            onsets,
            visual,
        }
    }

    /// The frames as RGB bytes (row-major): see [`view::render`].
    pub fn render_frames(&self) -> Vec<Vec<u8>> {
        view::render(
            &self.visual,
            &Beat {
                seconds: self.seconds,
                rate: self.rate,
                hit: self.hit,
                onsets: &self.onsets,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_read_as_english() {
        assert_eq!(
            caption("red", Shape::Triangle, Motion::Peck),
            "a red triangle pecking"
        );
        assert_eq!(
            caption("orange", Shape::Ring, Motion::Vibrate),
            "an orange ring vibrating"
        );
        assert_eq!(
            caption("blue", Shape::Drops, Motion::Fall),
            "blue drops falling"
        );
    }

    #[test]
    fn views_are_deterministic_and_cover_every_attribute() {
        let g = ObjectsConfig::default();
        let a = specs(3, &g, Split::Train, 300);
        assert_eq!(a, specs(3, &g, Split::Train, 300));
        assert_ne!(a, specs(4, &g, Split::Train, 300));
        for s in Shape::ALL {
            assert!(a.iter().any(|v| v.visual.shape == s), "{s:?} never drawn");
        }
        for m in Motion::ALL {
            assert!(a.iter().any(|v| v.visual.motion == m), "{m:?} never drawn");
        }
        for (c, _) in COLOURS {
            assert!(a.iter().any(|v| v.colour == c), "{c} never drawn");
        }
        let v = &a[0];
        let frames = v.render_frames();
        assert_eq!(frames.len(), g.frames);
        assert_eq!(frames[0].len(), (g.width * g.height * 3) as usize);
        assert_eq!(frames, v.render_frames());
    }
}
