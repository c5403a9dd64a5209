//! A voice-like source: band-limited glottal harmonics (with tilt, jitter and roughness)
//! plus aspiration noise, through a cascade of four formant resonators (Klatt style) whose
//! frequencies follow a vowel track. Used by the voice events, the vocal sounds (VSC), the
//! emotional utterances (SER) and the "vocal" instrument family.

use rng::Rng;

use crate::dsp::{self, OnePole, Resonator};

/// Formants F1–F4 (Hz) of an adult male voice for the vowels /a e i o u/.
pub const VOWELS: [[f32; 4]; 5] = [
    [730.0, 1090.0, 2440.0, 3400.0],
    [530.0, 1840.0, 2480.0, 3500.0],
    [270.0, 2290.0, 3010.0, 3700.0],
    [570.0, 840.0, 2410.0, 3400.0],
    [300.0, 870.0, 2240.0, 3300.0],
];
/// Index of /a/ in [`VOWELS`].
pub const A: usize = 0;
/// Formant bandwidths (Hz).
const BANDWIDTHS: [f32; 4] = [80.0, 100.0, 140.0, 200.0];
/// Formants are recomputed every this many samples (2 ms).
const FORMANT_BLOCK: usize = 32;

/// The character of a voice, independent of what it says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceStyle {
    /// Source partial rolloff exponent: 1 is pressed and bright, 2.5 soft and dark.
    pub tilt: f32,
    /// Aspiration noise relative to voicing (0 none, 1 about equal RMS).
    pub breath: f32,
    /// Random F0 wobble, as a fraction of F0.
    pub jitter: f32,
    /// Depth (0–1) of a ~30 Hz amplitude flutter (creak, rattle).
    pub rough: f32,
    /// Multiplies every formant: 1 adult male, ~1.15 adult female, ~1.25 child.
    pub formant_scale: f32,
}

impl Default for VoiceStyle {
    fn default() -> Self {
        Self {
            tilt: 1.6,
            breath: 0.08,
            jitter: 0.01,
            rough: 0.0,
            formant_scale: 1.0,
        }
    }
}

/// Formant keyframes: `(sample, [F1..F4])`, linearly interpolated, held at the ends.
#[derive(Debug, Clone, Default)]
pub struct FormantTrack {
    keys: Vec<(usize, [f32; 4])>,
}

impl FormantTrack {
    /// A track holding vowel `v` (index into [`VOWELS`]).
    pub fn vowel(v: usize) -> Self {
        Self {
            keys: vec![(0, VOWELS[v % VOWELS.len()])],
        }
    }

    /// Adds a keyframe (keys must be added in time order).
    pub fn key(mut self, at: usize, formants: [f32; 4]) -> Self {
        self.keys.push((at, formants));
        self
    }

    /// The formants at sample `i`.
    pub fn at(&self, i: usize) -> [f32; 4] {
        let Some(first) = self.keys.first() else {
            return VOWELS[A];
        };
        let mut prev = *first;
        for &k in &self.keys {
            if k.0 >= i {
                if k.0 == prev.0 {
                    return k.1;
                }
                let t = (i.saturating_sub(prev.0)) as f32 / (k.0 - prev.0) as f32;
                return std::array::from_fn(|j| prev.1[j] + t * (k.1[j] - prev.1[j]));
            }
            prev = k;
        }
        prev.1
    }
}

/// A voice: `f0` (Hz per sample) sets the length; `amp` is the per-sample amplitude and
/// `voicing` (per sample, 0–1; `None` = fully voiced) how much of it is voiced rather than
/// whispered. Aspiration noise always follows `amp * style.breath` plus the unvoiced part.
pub fn voice(
    rng: &mut Rng,
    f0: &[f32],
    amp: &[f32],
    voicing: Option<&[f32]>,
    track: &FormantTrack,
    style: &VoiceStyle,
) -> Vec<f32> {
    let n = f0.len();
    // Jitter: F0 times a smooth random wobble (white noise through a 6 Hz one-pole).
    let mut wob = OnePole::new(6.0);
    let jit_gain = style.jitter * 12.0;
    let f: Vec<f32> = f0
        .iter()
        .map(|&x| x * (1.0 + jit_gain * wob.tick(dsp::white(rng))).max(0.5))
        .collect();
    let tilt = style.tilt;
    let harm = dsp::harmonic_tone(&f, &|k| (k as f32).powf(-tilt), 0.0);
    let rough_rate = dsp::uni(rng, 25.0, 35.0);
    let mut res: Vec<Resonator> = (0..4)
        .map(|j| Resonator::new(500.0, BANDWIDTHS[j]))
        .collect();
    let mut out = Vec::with_capacity(n);
    for (i, &h) in harm.iter().enumerate() {
        if i % FORMANT_BLOCK == 0 {
            let fm = track.at(i);
            for (j, r) in res.iter_mut().enumerate() {
                r.set(fm[j] * style.formant_scale, BANDWIDTHS[j]);
            }
        }
        let a = amp.get(i).copied().unwrap_or(0.0);
        let v = voicing.and_then(|v| v.get(i).copied()).unwrap_or(1.0);
        let mut src = v * h + (style.breath + 1.5 * (1.0 - v)) * dsp::white(rng);
        if style.rough > 0.0 {
            let ph = std::f32::consts::TAU * rough_rate * i as f32 / dsp::SR;
            src *= 1.0 - style.rough * (0.5 + 0.5 * ph.sin());
        }
        let mut y = src * a;
        for r in res.iter_mut() {
            y = r.tick(y);
        }
        out.push(y);
    }
    dsp::fade_edges(&mut out, dsp::secs(0.003));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formant_track_interpolates_and_holds() {
        let t = FormantTrack::vowel(A).key(100, VOWELS[2]);
        assert_eq!(t.at(0), VOWELS[A]);
        assert_eq!(t.at(100), VOWELS[2]);
        assert_eq!(t.at(1000), VOWELS[2]);
        let mid = t.at(50);
        assert!((mid[0] - 0.5 * (VOWELS[A][0] + VOWELS[2][0])).abs() < 1.0);
    }

    #[test]
    fn voice_is_finite_and_nonzero() {
        let mut rng = Rng::new(3);
        let n = 8000;
        let x = voice(
            &mut rng,
            &vec![150.0; n],
            &vec![1.0; n],
            None,
            &FormantTrack::vowel(A),
            &VoiceStyle::default(),
        );
        assert!(x.iter().all(|v| v.is_finite()));
        assert!(dsp::rms(&x) > 1e-3);
    }
}
