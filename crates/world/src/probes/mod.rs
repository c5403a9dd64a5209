//! Four classification sets standing in for the ACC paper's forgetting probes, with the same
//! label sets where synthesis allows:
//!
//! * [`ProbeTask::Vsc`] vocal sounds (VocalSound's six classes), [`vocal`];
//! * [`ProbeTask::Ser`] emotion carried by the prosody of a voice-like source (IEMOCAP's four),
//!   [`emotion`];
//! * [`ProbeTask::Mic`] instrument families (NSynth's eleven), [`instrument`];
//! * [`ProbeTask::Mgc`] genres (GTZAN's ten) as patterns of tempo, rhythm and instrument
//!   palette, [`genre`] (built from [`music`]).
//!
//! Each example is a clip of the task's fixed length: the class's sound at a random level
//! and position over a faint noise floor. Within-class variation (pitch, speaker, tempo, key,
//! timing, timbre variant, level) comes from the example's own seed.

pub mod emotion;
pub mod genre;
pub mod instrument;
pub mod music;
pub mod vocal;

use rng::Rng;
use serde::{Deserialize, Serialize};

use crate::dsp;

/// The four probe tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeTask {
    Vsc,
    Ser,
    Mic,
    Mgc,
}

impl ProbeTask {
    pub const ALL: [ProbeTask; 4] = [
        ProbeTask::Vsc,
        ProbeTask::Ser,
        ProbeTask::Mic,
        ProbeTask::Mgc,
    ];

    /// The task name used in manifests.
    pub fn name(self) -> &'static str {
        match self {
            ProbeTask::Vsc => "vsc",
            ProbeTask::Ser => "ser",
            ProbeTask::Mic => "mic",
            ProbeTask::Mgc => "mgc",
        }
    }

    /// The class labels, in a fixed order (the targets of the manifest lines): those of the
    /// data crate's built-in task of the same name (`data::classify::{VSC,SER,MIC,MGC}_LABELS`).
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            ProbeTask::Vsc => &vocal::LABELS,
            ProbeTask::Ser => &emotion::LABELS,
            ProbeTask::Mic => &instrument::LABELS,
            ProbeTask::Mgc => &genre::LABELS,
        }
    }

    /// Clip length (s).
    pub fn seconds(self) -> f32 {
        match self {
            ProbeTask::Vsc => 1.5,
            ProbeTask::Ser => 2.0,
            ProbeTask::Mic => 1.0,
            ProbeTask::Mgc => 3.0,
        }
    }

    /// The data crate's prompt for this task (the evaluator's), listing the classes.
    pub fn prompt(self) -> String {
        data::classify::ClassTask::builtin(self.name())
            .map(|t| t.rendered_prompt())
            .unwrap_or_else(|| format!("Answer with one of: {}.", self.labels().join(", ")))
    }

    /// The class's sound for example `rng` (the task's own synthesis, before placement).
    fn sound(self, label: usize, rng: &mut Rng) -> Vec<f32> {
        let n = dsp::secs(self.seconds());
        match self {
            ProbeTask::Vsc => vocal::render(label, rng, n),
            ProbeTask::Ser => emotion::render(label, rng, n),
            ProbeTask::Mic => instrument::render(label, rng, n),
            ProbeTask::Mgc => genre::render(label, rng, n),
        }
    }
}

/// One classification example: enough to render it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    pub id: String,
    pub task: ProbeTask,
    pub label: String,
    pub seed: u64,
}

impl ProbeSpec {
    /// The example's clip: the class's sound through a random recording channel (see
    /// [`channel`]) at a random peak (0.25–0.85, or the task's own level rule), placed at a
    /// random offset when shorter than the clip, over a noise floor at -65…-40 dBFS.
    pub fn render(&self) -> Vec<f32> {
        let mut rng = Rng::new(self.seed);
        let label = self
            .task
            .labels()
            .iter()
            .position(|l| *l == self.label)
            .unwrap_or(0);
        let n = dsp::secs(self.task.seconds());
        let mut sound = self.task.sound(label, &mut rng);
        sound.truncate(n);
        let level = match (self.task, self.label.as_str()) {
            // Anger is louder and sadness quieter (overlapping ranges: a cue, not a giveaway).
            (ProbeTask::Ser, "angry") => dsp::uni(&mut rng, 0.5, 0.9),
            (ProbeTask::Ser, "sad") => dsp::uni(&mut rng, 0.15, 0.5),
            _ => dsp::uni(&mut rng, 0.25, 0.85),
        };
        sound = channel(&mut rng, sound);
        dsp::normalize_peak(&mut sound, level);
        let floor = dsp::db(dsp::uni(&mut rng, -65.0, -40.0)) * 3f32.sqrt();
        let mut out: Vec<f32> = (0..n).map(|_| floor * dsp::white(&mut rng)).collect();
        let at = dsp::pick(&mut rng, n - sound.len() + 1);
        dsp::add_at(&mut out, &sound, at, 1.0);
        let pk = dsp::peak(&out);
        if pk > 0.99 {
            out.iter_mut().for_each(|v| *v *= 0.99 / pk);
        }
        out
    }
}

/// A random recording channel, the nuisance real probe sets have: with probability 1/2 a
/// low-pass at 2.5–7 kHz (band-limited recordings), with probability 0.3 a high-pass at
/// 60–300 Hz (small loudspeakers, rumble filters).
fn channel(rng: &mut Rng, mut x: Vec<f32>) -> Vec<f32> {
    if dsp::chance(rng, 0.5) {
        let f = dsp::log_uni(rng, 2500.0, 7000.0);
        x = dsp::filtered(x, dsp::Biquad::lowpass(f, 0.7));
    }
    if dsp::chance(rng, 0.3) {
        let f = dsp::log_uni(rng, 60.0, 300.0);
        x = dsp::filtered(x, dsp::Biquad::highpass(f, 0.7));
    }
    x
}
