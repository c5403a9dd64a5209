//! Plain `f32` DSP building blocks shared by every synthesizer: noise, oscillators (band-limited
//! harmonic tones, inharmonic partials), filters (RBJ biquads, Klatt resonators, one-pole),
//! envelopes, and level helpers.
//!
//! Everything is a pure function of its arguments and of the [`Rng`] passed in, so a clip is
//! the same bytes every time it is synthesized from the same seed.

use rng::Rng;

/// The corpus sample rate (Hz), the model's.
pub const SR: f32 = audio::SAMPLE_RATE as f32;
/// Highest partial frequency synthesized (Hz): keeps tones band-limited under Nyquist.
pub const PARTIAL_LIMIT: f32 = 7_600.0;
const TAU: f64 = std::f64::consts::TAU;

/// Samples in `s` seconds (rounded).
pub fn secs(s: f32) -> usize {
    (s.max(0.0) * SR).round() as usize
}

/// Uniform `f32` in `[lo, hi)`.
pub fn uni(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    rng.uniform(lo as f64, hi as f64) as f32
}

/// Log-uniform `f32` in `[lo, hi)` (for frequencies and durations).
pub fn log_uni(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    (uni(rng, lo.ln(), hi.ln())).exp()
}

/// A uniform index below `n` (`n` > 0).
pub fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// True with probability `p`.
pub fn chance(rng: &mut Rng, p: f32) -> bool {
    rng.next_f64() < p as f64
}

/// One white-noise sample, uniform in `[-1, 1)`.
pub fn white(rng: &mut Rng) -> f32 {
    (rng.next_u64() >> 40) as f32 * (2.0 / (1u64 << 24) as f32) - 1.0
}

/// `n` samples of white noise.
pub fn noise(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| white(rng)).collect()
}

/// MIDI note number to Hz.
pub fn midi_hz(m: f32) -> f32 {
    440.0 * 2f32.powf((m - 69.0) / 12.0)
}

/// Decibels to a linear amplitude factor.
pub fn db(x: f32) -> f32 {
    10f32.powf(x / 20.0)
}

/// Largest absolute sample.
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, &v| m.max(v.abs()))
}

/// Root mean square.
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// Scales `x` so that its peak is `target` (no-op for silence).
pub fn normalize_peak(x: &mut [f32], target: f32) {
    let p = peak(x);
    if p > 1e-9 {
        let g = target / p;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// Adds `src * gain` into `dst` from sample `at` (cut at `dst`'s end).
pub fn add_at(dst: &mut [f32], src: &[f32], at: usize, gain: f32) {
    if at >= dst.len() {
        return;
    }
    for (d, s) in dst[at..].iter_mut().zip(src) {
        *d += s * gain;
    }
}

/// Multiplies `x` by `env` sample by sample (missing envelope samples count as 0).
pub fn apply_env(x: &mut [f32], env: &[f32]) {
    for (i, v) in x.iter_mut().enumerate() {
        *v *= env.get(i).copied().unwrap_or(0.0);
    }
}

/// Raised-cosine fades of `fade` samples at both ends (against clicks at edges).
pub fn fade_edges(x: &mut [f32], fade: usize) {
    let n = x.len();
    let f = fade.min(n / 2);
    for i in 0..f {
        let g = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / f as f32).cos();
        x[i] *= g;
        x[n - 1 - i] *= g;
    }
}

/// Attack–decay envelope: linear rise over `attack` seconds, then `exp(-t / tau)`.
pub fn attack_decay(n: usize, attack: f32, tau: f32) -> Vec<f32> {
    let a = secs(attack).max(1);
    let k = 1.0 / (tau.max(1e-4) * SR);
    (0..n)
        .map(|i| {
            if i < a {
                i as f32 / a as f32
            } else {
                (-((i - a) as f32) * k).exp()
            }
        })
        .collect()
}

/// Attack–sustain–release envelope: linear rise over `attack` s, flat, linear fall over the
/// last `release` s.
pub fn asr(n: usize, attack: f32, release: f32) -> Vec<f32> {
    let a = secs(attack).clamp(1, n.max(1));
    let r = secs(release).clamp(1, n.max(1));
    (0..n)
        .map(|i| {
            let up = (i as f32 / a as f32).min(1.0);
            let down = ((n - i) as f32 / r as f32).min(1.0);
            up.min(down)
        })
        .collect()
}

/// A band-limited harmonic tone: partial `k` (1-based) at `k * freq[i]` with amplitude
/// `amp(k)`, partials above [`PARTIAL_LIMIT`] left out. `freq` is per sample (vibrato,
/// glides); the output has `freq.len()` samples. Harmonics come from the Chebyshev recurrence
/// `sin(kθ) = 2cos θ sin((k-1)θ) - sin((k-2)θ)` (one `sin`/`cos` per sample, in `f64`).
pub fn harmonic_tone(freq: &[f32], amp: &dyn Fn(usize) -> f32, phase0: f64) -> Vec<f32> {
    let max_k = (PARTIAL_LIMIT / freq.iter().fold(f32::MAX, |m, &f| m.min(f)).max(20.0)) as usize;
    let amps: Vec<f64> = (1..=max_k.max(1)).map(|k| amp(k) as f64).collect();
    let mut out = Vec::with_capacity(freq.len());
    let mut phase = phase0;
    for &f in freq {
        let k_max = ((PARTIAL_LIMIT / f.max(1.0)) as usize).min(amps.len());
        let (s1, c) = phase.sin_cos();
        let two_c = 2.0 * c;
        let (mut prev, mut cur) = (0.0f64, s1);
        let mut acc = 0.0f64;
        for a in &amps[..k_max] {
            acc += a * cur;
            let next = two_c * cur - prev;
            prev = cur;
            cur = next;
        }
        out.push(acc as f32);
        phase += TAU * f as f64 / SR as f64;
        if phase > TAU {
            phase -= TAU;
        }
    }
    out
}

/// One decaying sinusoidal partial: frequency (Hz), amplitude, decay time constant (s).
#[derive(Debug, Clone, Copy)]
pub struct Partial {
    pub freq: f32,
    pub amp: f32,
    pub tau: f32,
}

/// A sum of exponentially decaying partials (bells, bars, piano strings), `n` samples, each
/// partial a complex rotator (no `sin` per sample). Partials above [`PARTIAL_LIMIT`] are
/// skipped.
pub fn partials(parts: &[Partial], n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    for p in parts {
        if p.freq <= 0.0 || p.freq >= PARTIAL_LIMIT || p.amp == 0.0 {
            continue;
        }
        let w = TAU * p.freq as f64 / SR as f64;
        let decay = (-1.0 / (p.tau.max(1e-4) as f64 * SR as f64)).exp();
        let (rs, rc) = w.sin_cos();
        let (mut re, mut im) = (p.amp as f64, 0.0f64);
        for o in out.iter_mut() {
            *o += im as f32;
            let (nr, ni) = (re * rc - im * rs, re * rs + im * rc);
            re = nr * decay;
            im = ni * decay;
        }
    }
    out
}

/// A second-order IIR section (RBJ "Audio EQ Cookbook" coefficients).
#[derive(Debug, Clone)]
pub struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    fn from_rbj(b: [f32; 3], a0: f32, a: [f32; 2]) -> Self {
        Self {
            b: [b[0] / a0, b[1] / a0, b[2] / a0],
            a: [a[0] / a0, a[1] / a0],
            z: [0.0; 2],
        }
    }

    fn w(f: f32, q: f32) -> (f32, f32) {
        let w0 = std::f32::consts::TAU * f.clamp(10.0, SR * 0.49) / SR;
        (w0.cos(), w0.sin() / (2.0 * q.max(0.05)))
    }

    pub fn lowpass(f: f32, q: f32) -> Self {
        let (c, al) = Self::w(f, q);
        Self::from_rbj(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            1.0 + al,
            [-2.0 * c, 1.0 - al],
        )
    }

    pub fn highpass(f: f32, q: f32) -> Self {
        let (c, al) = Self::w(f, q);
        Self::from_rbj(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            1.0 + al,
            [-2.0 * c, 1.0 - al],
        )
    }

    /// Band-pass with 0 dB gain at the centre.
    pub fn bandpass(f: f32, q: f32) -> Self {
        let (c, al) = Self::w(f, q);
        Self::from_rbj([al, 0.0, -al], 1.0 + al, [-2.0 * c, 1.0 - al])
    }

    /// One sample (transposed direct form II).
    pub fn tick(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    /// Takes `other`'s state (to retune a running filter without a click).
    pub fn take_state(&mut self, other: &Biquad) {
        self.z = other.z;
    }

    /// Filters `x` in place.
    pub fn run(&mut self, x: &mut [f32]) {
        x.iter_mut().for_each(|v| *v = self.tick(*v));
    }
}

/// Filters `x` through a fresh biquad, in place.
pub fn filtered(mut x: Vec<f32>, mut f: Biquad) -> Vec<f32> {
    f.run(&mut x);
    x
}

/// A Klatt formant resonator: unity gain at DC, peak at `freq` with bandwidth `bw` (Hz).
/// Its frequency may change between samples ([`Resonator::set`]) without resetting state.
#[derive(Debug, Clone, Default)]
pub struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    pub fn new(freq: f32, bw: f32) -> Self {
        let mut r = Self::default();
        r.set(freq, bw);
        r
    }

    pub fn set(&mut self, freq: f32, bw: f32) {
        let r = (-std::f32::consts::PI * bw / SR).exp();
        self.c = -r * r;
        self.b = 2.0 * r * (std::f32::consts::TAU * freq.min(SR * 0.48) / SR).cos();
        self.a = 1.0 - self.b - self.c;
    }

    pub fn tick(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// One-pole low-pass with coefficient from a cutoff (Hz): spectral tilt and smoothing.
#[derive(Debug, Clone)]
pub struct OnePole {
    k: f32,
    y: f32,
}

impl OnePole {
    pub fn new(cutoff: f32) -> Self {
        Self {
            k: 1.0 - (-std::f32::consts::TAU * cutoff / SR).exp(),
            y: 0.0,
        }
    }

    pub fn tick(&mut self, x: f32) -> f32 {
        self.y += self.k * (x - self.y);
        self.y
    }
}

/// A per-sample frequency track: `f0` with sinusoidal vibrato (`rate` Hz, `depth` as a
/// fraction of `f0`) and a linear glide to `f0 * glide` over the track.
pub fn freq_track(n: usize, f0: f32, glide: f32, vib_rate: f32, vib_depth: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / SR;
            let g = 1.0 + (glide - 1.0) * i as f32 / n.max(1) as f32;
            f0 * g * (1.0 + vib_depth * (std::f32::consts::TAU * vib_rate * t).sin())
        })
        .collect()
}

/// Soft clipping (`tanh` with drive), for distortion.
pub fn drive(x: &mut [f32], gain: f32) {
    x.iter_mut().for_each(|v| *v = (*v * gain).tanh());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frequency (Hz) of the largest DFT bin of `x` between `lo` and `hi` Hz (5 Hz steps).
    fn dominant(x: &[f32], lo: usize, hi: usize) -> usize {
        (lo..hi)
            .step_by(5)
            .max_by(|&a, &b| {
                let p = |f: usize| {
                    let w = std::f64::consts::TAU * f as f64 / SR as f64;
                    let (mut re, mut im) = (0.0, 0.0);
                    for (i, &v) in x.iter().enumerate() {
                        re += v as f64 * (w * i as f64).cos();
                        im += v as f64 * (w * i as f64).sin();
                    }
                    re * re + im * im
                };
                p(a).total_cmp(&p(b))
            })
            .unwrap()
    }

    #[test]
    fn harmonic_tone_is_band_limited_and_pitched() {
        let f = vec![440.0; 4000];
        let x = harmonic_tone(&f, &|k| 1.0 / k as f32, 0.0);
        assert_eq!(x.len(), 4000);
        assert_eq!(dominant(&x, 300, 600), 440);
        assert!(peak(&x) < 2.0);
    }

    #[test]
    fn partials_decay_and_filters_pass_their_band() {
        let x = partials(
            &[Partial {
                freq: 1000.0,
                amp: 1.0,
                tau: 0.1,
            }],
            8000,
        );
        assert!(rms(&x[..800]) > 10.0 * rms(&x[7200..]));
        let mut rng = Rng::new(1);
        let n = noise(&mut rng, 16000);
        let low = filtered(n.clone(), Biquad::lowpass(300.0, 0.707));
        let high = filtered(n, Biquad::highpass(3000.0, 0.707));
        assert!(dominant(&low[..2000], 50, 7000) < 1000);
        assert!(dominant(&high[..2000], 50, 7000) > 2000);
    }
}
