//! The Slaney mel filterbank, computed exactly as
//! `librosa.filters.mel(sr=16000, n_fft=400, n_mels, htk=False, norm="slaney")` computes it,
//! which is how openai-whisper's `mel_filters.npz` was made.
//!
//! The arithmetic follows librosa step for step in `f64` (`rfftfreq`, `linspace`, the ramps,
//! the Slaney normalisation) including its one intermediate rounding: librosa stores the
//! triangle weights in a `float32` array before multiplying by the normalisation in `float64`.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::{N_FFT, SAMPLE_RATE};

/// Number of STFT frequency bins: `N_FFT / 2 + 1` = 201.
pub const N_FREQS: usize = N_FFT / 2 + 1;

/// Largest filterbank served. Past ~N_FREQS bins most triangles fall between FFT bins and are
/// empty (librosa warns); Whisper and Qwen2-Audio use 80 or 128.
pub const MAX_MELS: usize = 256;

/// A mel filterbank: `data[m * n_freqs + k]` weighs STFT bin `k` into mel bin `m`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilters {
    pub n_mels: usize,
    /// Always [`N_FREQS`] (201).
    pub n_freqs: usize,
    /// Row-major `[n_mels][n_freqs]`.
    pub data: Vec<f32>,
    /// Per row, the half-open range of bins where the weight is nonzero (empty for an empty row).
    bands: Vec<(usize, usize)>,
    /// The weights inside each band, as `f64`, rows back to back (row `m` starts at
    /// `offsets[m]`): what the filterbank product reads.
    packed: Vec<f64>,
    offsets: Vec<usize>,
}

impl MelFilters {
    /// The weights of mel bin `m` over all `n_freqs` bins.
    pub fn row(&self, m: usize) -> &[f32] {
        &self.data[m * self.n_freqs..(m + 1) * self.n_freqs]
    }

    /// The half-open bin range `[start, end)` outside which row `m` is zero. Each Slaney
    /// triangle spans only a few bins, so the filterbank product only needs these.
    pub fn band(&self, m: usize) -> (usize, usize) {
        self.bands[m]
    }

    /// Row `m`'s first nonzero bin and its weights over its band.
    pub(crate) fn band_weights(&self, m: usize) -> (usize, &[f64]) {
        let (start, end) = self.bands[m];
        let off = self.offsets[m];
        (start, &self.packed[off..off + (end - start)])
    }
}

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// librosa `hz_to_mel(f, htk=False)` (Slaney: linear below 1 kHz, logarithmic above).
fn hz_to_mel(f: f64) -> f64 {
    if f >= MIN_LOG_HZ {
        MIN_LOG_MEL + (f / MIN_LOG_HZ).ln() / logstep()
    } else {
        (f - 0.0) / F_SP
    }
}

/// librosa `mel_to_hz(m, htk=False)`.
fn mel_to_hz(m: f64) -> f64 {
    if m >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (m - MIN_LOG_MEL)).exp()
    } else {
        0.0 + F_SP * m
    }
}

/// numpy `linspace(start, stop, num)` as numpy evaluates it: `i * step + start`, the last
/// point set to `stop` exactly.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut y: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = y.last_mut() {
        *last = stop;
    }
    y
}

fn compute(n_mels: usize) -> MelFilters {
    let sr = f64::from(SAMPLE_RATE);
    // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n * d)).
    let val = 1.0 / (N_FFT as f64 * (1.0 / sr));
    let fftfreqs: Vec<f64> = (0..N_FREQS).map(|k| k as f64 * val).collect();
    // mel_frequencies(n_mels + 2, fmin=0, fmax=sr/2).
    let mels = linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2);
    let mel_f: Vec<f64> = mels.into_iter().map(mel_to_hz).collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();

    let mut data = vec![0f32; n_mels * N_FREQS];
    let mut bands = Vec::with_capacity(n_mels);
    for (i, row) in data.chunks_exact_mut(N_FREQS).enumerate() {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        let mut band: Option<(usize, usize)> = None;
        for (k, w) in row.iter_mut().enumerate() {
            let lower = -(mel_f[i] - fftfreqs[k]) / fdiff[i];
            let upper = (mel_f[i + 2] - fftfreqs[k]) / fdiff[i + 1];
            // np.maximum(0, x) keeps x when x is zero, so -0.0 survives (as in the npz).
            let x = lower.min(upper);
            let tri = if x < 0.0 { 0.0 } else { x } as f32;
            // The float32 weights array, then `weights *= enorm` evaluated in float64.
            *w = (f64::from(tri) * enorm) as f32;
            if *w != 0.0 {
                band = Some(band.map_or((k, k + 1), |(s, _)| (s, k + 1)));
            }
        }
        bands.push(band.unwrap_or((0, 0)));
    }
    let mut packed = Vec::new();
    let mut offsets = Vec::with_capacity(n_mels);
    for (row, &(start, end)) in data.chunks_exact(N_FREQS).zip(&bands) {
        offsets.push(packed.len());
        packed.extend(row[start..end].iter().map(|&w| f64::from(w)));
    }
    MelFilters {
        n_mels,
        n_freqs: N_FREQS,
        data,
        bands,
        packed,
        offsets,
    }
}

/// The Slaney mel filterbank for `n_mels` bins (Whisper: 80; Whisper large-v3 and
/// Qwen2-Audio: 128), computed once per size and cached for the life of the process.
///
/// Equal to openai-whisper's `mel_filters.npz` (`mel_80`, `mel_128`).
pub fn mel_filters(n_mels: usize) -> Result<&'static MelFilters> {
    static CACHE: [OnceLock<MelFilters>; MAX_MELS + 1] = [const { OnceLock::new() }; MAX_MELS + 1];
    if n_mels == 0 || n_mels > MAX_MELS {
        return Err(Error::InvalidMelBins {
            n_mels,
            max: MAX_MELS,
        });
    }
    Ok(CACHE[n_mels].get_or_init(|| compute(n_mels)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips() {
        for &f in &[0.0, 500.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-9, "{f}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn bands_cover_every_nonzero_weight() {
        for n_mels in [1, 80, 128, 256] {
            let f = mel_filters(n_mels).unwrap();
            assert_eq!(f.data.len(), n_mels * N_FREQS);
            for m in 0..n_mels {
                let (s, e) = f.band(m);
                for (k, &w) in f.row(m).iter().enumerate() {
                    assert!(w >= 0.0);
                    if k < s || k >= e {
                        assert_eq!(w, 0.0, "n_mels {n_mels} row {m} bin {k}");
                    }
                }
            }
        }
        // Whisper's banks are narrow: few nonzero weights per row.
        let f = mel_filters(80).unwrap();
        let widest = (0..80)
            .map(|m| f.band(m).1 - f.band(m).0)
            .max()
            .unwrap_or(0);
        assert!(widest <= 16, "widest band {widest}");
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(mel_filters(0).is_err());
        assert!(mel_filters(MAX_MELS + 1).is_err());
    }
}
