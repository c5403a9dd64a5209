//! Rendering a [`PairPlan`] to audio: mixing at an SNR, and 16 kHz mono WAV files.
//!
//! Mixing (`mix_at_snr`): the event is scaled so that its power over the samples it covers is
//! `snr_db` relative to the base's power over the same samples (the overlap region), then added
//! to the base; the result has the base's length (an event longer than the room after its
//! offset is cut). A base that is silent over the overlap (RMS below 1e-5) is measured over its
//! whole length instead; a wholly silent base or event is an error, since no SNR is defined.
//!
//! Clipping: if either output of a pair would exceed `peak_limit` (default 0.99) in absolute
//! value, **both** outputs are scaled by the same gain, so the base content keeps the same
//! level in the two clips and the level difference is not a cue; otherwise nothing is scaled.
//!
//! Files: `<out_dir>/<plan id>_before.wav` and `_after.wav`, 16 kHz mono, 16-bit PCM by
//! default ([`WavFormat::Pcm16`], samples rounded after clamping to [-1, 1]) or 32-bit float.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Clip, Edit, PairPlan};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

/// Power (mean square) below which audio counts as silent: RMS 1e-5, -100 dBFS.
const SILENT_POWER: f64 = 1e-10;

/// Sample encoding of written WAV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WavFormat {
    /// 16-bit signed PCM (half the size; quantisation noise near -96 dBFS).
    #[default]
    Pcm16,
    /// 32-bit IEEE float.
    Float32,
}

/// Rendering options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    pub format: WavFormat,
    /// Largest absolute sample value allowed in an output (see the module docs).
    pub peak_limit: f32,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            format: WavFormat::Pcm16,
            peak_limit: 0.99,
        }
    }
}

/// Why two signals cannot be mixed as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MixError {
    #[error("base audio is empty or silent: no SNR is defined")]
    SilentBase,
    #[error("event audio is empty or silent: no SNR is defined")]
    SilentEvent,
    #[error("event offset {offset} is past the end of the base ({len} samples)")]
    OffsetPastEnd { offset: usize, len: usize },
    #[error("SNR {0} dB is not finite")]
    BadSnr(f64),
}

/// The sample where an event of `event_len` starts in a base of `base_len`: `frac` of the
/// free room `base_len - event_len` (rounded down), 0 when the event is at least as long.
pub fn event_offset(base_len: usize, event_len: usize, frac: f64) -> usize {
    let room = base_len.saturating_sub(event_len);
    ((frac.clamp(0.0, 1.0) * (room as f64 + 1.0)).floor() as usize).min(room)
}

fn power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64
}

/// `base` with `event` added from sample `offset`, the event scaled to `snr_db` relative to
/// the base over the overlap (see the module docs).
pub fn mix_at_snr(
    base: &[f32],
    event: &[f32],
    snr_db: f64,
    offset: usize,
) -> std::result::Result<Vec<f32>, MixError> {
    if !snr_db.is_finite() {
        return Err(MixError::BadSnr(snr_db));
    }
    if base.is_empty() {
        return Err(MixError::SilentBase);
    }
    if offset >= base.len() {
        return Err(MixError::OffsetPastEnd {
            offset,
            len: base.len(),
        });
    }
    let n = event.len().min(base.len() - offset);
    let ev = &event[..n];
    let mut p_base = power(&base[offset..offset + n]);
    if p_base < SILENT_POWER {
        p_base = power(base);
    }
    if p_base < SILENT_POWER {
        return Err(MixError::SilentBase);
    }
    let p_ev = power(ev);
    if p_ev < SILENT_POWER {
        return Err(MixError::SilentEvent);
    }
    let gain = (p_base * 10f64.powf(snr_db / 10.0) / p_ev).sqrt();
    let mut out = base.to_vec();
    for (o, &e) in out[offset..offset + n].iter_mut().zip(ev) {
        *o = (*o as f64 + gain * e as f64) as f32;
    }
    Ok(out)
}

/// A rendered pair in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedAudio {
    pub before: Vec<f32>,
    pub after: Vec<f32>,
    /// The gain applied to both to stay under the peak limit (1.0 when none was needed).
    pub gain: f32,
}

/// A rendered pair on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedPair {
    pub before: PathBuf,
    pub after: PathBuf,
    pub gain: f32,
}

/// Renders `plan` in memory; `load` gives the 16 kHz mono samples of a clip (a file reader,
/// or a synthesizer keyed on the clip's id).
pub fn render_audio(
    plan: &PairPlan,
    cfg: &RenderConfig,
    load: &mut dyn FnMut(&Clip) -> Result<Vec<f32>>,
) -> Result<RenderedAudio> {
    let base = load(&plan.base)?;
    let mut mix = |event: &Clip| -> Result<Vec<f32>> {
        let ev = load(event)?;
        let offset = event_offset(base.len(), ev.len(), plan.offset_frac);
        mix_at_snr(&base, &ev, plan.snr_db, offset).map_err(|e| {
            let path = match e {
                MixError::SilentEvent => &event.path,
                _ => &plan.base.path,
            };
            Error::Mix {
                path: path.clone(),
                reason: format!("pair {}: {e}", plan.id),
            }
        })
    };
    let (mut before, mut after) = match &plan.edit {
        Edit::Add { event } => {
            let m = mix(event)?;
            (base.clone(), m)
        }
        Edit::Remove { event } => {
            let m = mix(event)?;
            (m, base.clone())
        }
        Edit::Replace { from, to } => (mix(from)?, mix(to)?),
    };
    let peak =
        before.iter().chain(&after).fold(
            0f32,
            |m, &x| if x.is_nan() { f32::NAN } else { m.max(x.abs()) },
        );
    if !peak.is_finite() {
        return Err(Error::Mix {
            path: plan.base.path.clone(),
            reason: format!("pair {}: non-finite samples", plan.id),
        });
    }
    let gain = if peak > cfg.peak_limit {
        cfg.peak_limit / peak
    } else {
        1.0
    };
    if gain != 1.0 {
        before
            .iter_mut()
            .chain(after.iter_mut())
            .for_each(|x| *x *= gain);
    }
    Ok(RenderedAudio {
        before,
        after,
        gain,
    })
}

/// Renders `plan` with `load` and writes `<out_dir>/<id>_before.wav` and `_after.wav`.
pub fn render_pair_with(
    plan: &PairPlan,
    out_dir: &Path,
    cfg: &RenderConfig,
    load: &mut dyn FnMut(&Clip) -> Result<Vec<f32>>,
) -> Result<RenderedPair> {
    let audio = render_audio(plan, cfg, load)?;
    let before = out_dir.join(format!("{}_before.wav", plan.id));
    let after = out_dir.join(format!("{}_after.wav", plan.id));
    write_wav(&before, &audio.before, cfg.format)?;
    write_wav(&after, &audio.after, cfg.format)?;
    Ok(RenderedPair {
        before,
        after,
        gain: audio.gain,
    })
}

/// Renders `plan` from its audio files (decoded and resampled to 16 kHz mono by the `audio`
/// crate) with the default [`RenderConfig`].
pub fn render_pair(plan: &PairPlan, out_dir: &Path) -> Result<RenderedPair> {
    render_pair_with(plan, out_dir, &RenderConfig::default(), &mut |c: &Clip| {
        Ok(audio::load_mono_16k(&c.path)?)
    })
}

/// Writes 16 kHz mono `samples` as a WAV file, atomically (temporary file, then rename).
pub fn write_wav(path: &Path, samples: &[f32], format: WavFormat) -> Result<()> {
    let rate = audio::SAMPLE_RATE;
    let (tag, bytes_per, fmt_len) = match format {
        WavFormat::Pcm16 => (1u16, 2u32, 16u32),
        WavFormat::Float32 => (3u16, 4u32, 18u32),
    };
    let data_len = samples.len() as u32 * bytes_per;
    let fact_len = if format == WavFormat::Float32 { 12 } else { 0 };
    let mut b = Vec::with_capacity(44 + fact_len + data_len as usize + 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 8 + fmt_len + fact_len as u32 + 8 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&fmt_len.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // channels
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * bytes_per).to_le_bytes()); // byte rate
    b.extend_from_slice(&(bytes_per as u16).to_le_bytes()); // block align
    b.extend_from_slice(&(bytes_per as u16 * 8).to_le_bytes()); // bits per sample
    if format == WavFormat::Float32 {
        b.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        b.extend_from_slice(b"fact");
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for &x in samples {
        match format {
            WavFormat::Pcm16 => {
                let v = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                b.extend_from_slice(&v.to_le_bytes());
            }
            WavFormat::Float32 => b.extend_from_slice(&x.to_le_bytes()),
        }
    }
    write_atomic(path, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(event_offset(100, 40, 0.0), 0);
        assert_eq!(event_offset(100, 40, 0.999_999), 60);
        assert_eq!(event_offset(100, 40, 1.0), 60);
        assert_eq!(event_offset(10, 40, 0.5), 0);
    }

    #[test]
    fn silent_inputs_are_errors() {
        assert_eq!(
            mix_at_snr(&[0.0; 100], &[0.5; 10], 0.0, 0),
            Err(MixError::SilentBase)
        );
        assert_eq!(
            mix_at_snr(&[0.5; 100], &[0.0; 10], 0.0, 0),
            Err(MixError::SilentEvent)
        );
        assert!(matches!(
            mix_at_snr(&[0.5; 10], &[0.5; 10], 0.0, 10),
            Err(MixError::OffsetPastEnd { .. })
        ));
        // A base silent under the event is measured over its whole length.
        let mut base = vec![0.0f32; 100];
        base[..10].fill(0.5);
        let m = mix_at_snr(&base, &[1.0; 10], 0.0, 50).unwrap();
        assert!((m[55] - 0.5 * (0.1f32).sqrt()).abs() < 1e-6, "{}", m[55]);
    }
}
