//! Band-limited sample-rate conversion: rubato's FFT resampler for the rate change, then a
//! Kaiser low-pass that gives the result soxr's "HQ" frequency response.
//!
//! * Rate change. rubato's `Fft` resampler convolves with a Blackman-Harris² windowed sinc
//!   through overlap-add in the frequency domain: a linear-phase anti-aliasing filter, exact
//!   for any rational rate pair. Its block sizes are chosen even so that the filter's delay is
//!   a whole number of output samples, which `process_all` trims: the output is time-aligned
//!   with the input (output sample `j` sits at input time `j * from / to`). Its passband
//!   reaches ~0.99 of the lower Nyquist frequency.
//! * Response. The reference pipelines load audio with `librosa.load(sr=16000)`, i.e. soxr
//!   at "HQ" (20-bit) quality, whose passband ends at 0.9136 of the lower Nyquist and whose
//!   stopband starts at Nyquist. Between the two its roll-off removes content that a sharper
//!   filter keeps (up to 25 dB at 3.9 kHz when upsampling 8 kHz audio), which would cost
//!   ~20 dB of agreement on speech. A zero-phase Kaiser FIR designed the way soxr designs
//!   its filters (`lsx_design_lpf`: cutoff mid-transition, taps from `lsx_kaiser_params`)
//!   with beta fitted to soxr's measured output applies that roll-off at the output rate.
//!   Measured against `librosa.resample` on white noise, the worst case, the two agree to
//!   >= 64 dB SNR at 8, 22.05, 44.1 and 48 kHz; on speech and music to 78-108 dB.

use realfft::RealFftPlanner;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use crate::error::{Error, Result};

/// Target FFT block length on the lower-rate side. rubato's transition band is about
/// `14 / block` of that side's Nyquist (its `calculate_cutoff`): 1024 puts its cutoff near
/// 0.987, above the soxr roll-off applied afterwards.
const MIN_BLOCK: usize = 1024;

/// Largest FFT block accepted; only absurd, nearly coprime rate pairs (above ~130 kHz with
/// no common factor with the other rate) exceed it.
const MAX_BLOCK: usize = 1 << 18;

/// soxr HQ passband end, relative to the lower Nyquist: `1 - 0.05 / to_3dB(20 * 6.02 dB)`.
const SOXR_PASSBAND_END: f64 = 0.9136;

/// Kaiser beta of the emulated soxr filter, fitted to `librosa.resample(res_type="soxr_hq")`
/// (white noise at 8, 22.05, 44.1 and 48 kHz; the optimum is flat within +-0.1).
const SOXR_KAISER_BETA: f64 = 13.2;

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Output length for `n` input samples: `round(n * to / from)` (halves round up).
pub(crate) fn output_len(n: usize, from_hz: u32, to_hz: u32) -> usize {
    let (n, from, to) = (n as u128, u128::from(from_hz), u128::from(to_hz));
    ((2 * n * to + from) / (2 * from)) as usize
}

/// Resamples mono `samples` from `from_hz` to `to_hz` with a band-limited (windowed-sinc)
/// filter whose response follows soxr HQ (`librosa.resample`'s default); the identity when
/// the rates are equal.
///
/// The output has `round(len * to_hz / from_hz)` samples and is time-aligned with the input:
/// the filters' delays are compensated, so a feature at input time `t` stays at `t`.
/// Edges behave as if the signal were zero outside the clip.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    let err = |reason: String| Error::Resample {
        from_hz,
        to_hz,
        reason,
    };
    if from_hz == 0 || to_hz == 0 {
        return Err(err("sample rates must be positive".to_string()));
    }
    if from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    let want = output_len(samples.len(), from_hz, to_hz);
    if samples.is_empty() || want == 0 {
        return Ok(Vec::new());
    }

    let (from, to) = (from_hz as usize, to_hz as usize);
    let g = gcd(from, to);
    let (unit_in, unit_out) = (from / g, to / g);
    // Even number of minimum blocks: both FFT sizes even, so the filter delay of
    // fft_size_in / 2 input samples is exactly fft_size_out / 2 output samples.
    let blocks = 2 * MIN_BLOCK.div_ceil(2 * unit_in.min(unit_out));
    let (fft_in, fft_out) = (blocks * unit_in, blocks * unit_out);
    if fft_in > MAX_BLOCK || fft_out > MAX_BLOCK {
        return Err(err(format!(
            "the rates share too small a common factor ({g}) for exact resampling \
             (block of {fft_in} -> {fft_out} samples)"
        )));
    }

    let mut resampler = Fft::<f64>::new_custom(
        from,
        to,
        fft_in,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| err(e.to_string()))?;

    let input: Vec<f64> = samples.iter().map(|&s| f64::from(s)).collect();
    let adapter =
        InterleavedSlice::new(&input[..], 1, input.len()).map_err(|e| err(e.to_string()))?;
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| err(e.to_string()))?
        .take_data();

    let mut y: Vec<f64> = out.into_iter().take(want).collect();
    // process_all yields ceil(len * ratio) >= want samples; pad only against float slop.
    y.resize(want, 0.0);
    let lower_nyquist = f64::from(from_hz.min(to_hz)) / f64::from(to_hz);
    let y = filter_zero_phase(&y, &soxr_lowpass(lower_nyquist));
    Ok(y.into_iter().map(|s| s as f32).collect())
}

/// Modified Bessel function of the first kind, order 0 (power series; fine for x < 50).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
    while term > sum * 1e-17 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// soxr's low-pass design (`lsx_design_lpf` with one phase) for a stopband starting at
/// `stop` (relative to the Nyquist frequency of the rate it runs at) and a passband ending
/// at `SOXR_PASSBAND_END * stop`: a Kaiser-windowed sinc with its cutoff mid-transition,
/// normalised to unit DC gain. Odd length, symmetric.
fn soxr_lowpass(stop: f64) -> Vec<f64> {
    let beta = SOXR_KAISER_BETA;
    let tr_bw = 0.5 * (stop - SOXR_PASSBAND_END * stop);
    let fc = stop - tr_bw;
    // lsx_kaiser_params: taps for the attenuation that beta implies.
    let att = ((0.000_752_835_8 - 1.577_737e-05 * beta) * beta + 0.624_802_2) * beta + 0.061_869_02;
    let n = ((att / tr_bw + 1.0).ceil() as usize) | 1;
    let half = (n - 1) as f64 / 2.0;
    let rho = 0.5;
    let norm = bessel_i0(beta);
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let z = i as f64 - half;
            let x = z * std::f64::consts::PI;
            let sinc = if z == 0.0 { fc } else { (fc * x).sin() / x };
            let y = z / (half + rho);
            sinc * bessel_i0(beta * (1.0 - y * y).sqrt()) / norm
        })
        .collect();
    let sum: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= sum);
    h
}

/// Filters `x` with the symmetric odd-length FIR `h` without delay (output `i` is centred on
/// input `i`), treating the signal as zero outside; FFT overlap-add.
fn filter_zero_phase(x: &[f64], h: &[f64]) -> Vec<f64> {
    let taps = h.len();
    let delay = (taps - 1) / 2;
    let nfft = (4 * taps).next_power_of_two();
    let block = nfft - taps + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(nfft);
    let inv = planner.plan_fft_inverse(nfft);

    let mut time = fwd.make_input_vec();
    let mut kernel = fwd.make_output_vec();
    let mut spec = fwd.make_output_vec();
    let mut scratch = fwd.make_scratch_vec();
    let mut inv_scratch = inv.make_scratch_vec();
    time[..taps].copy_from_slice(h);
    fwd.process_with_scratch(&mut time, &mut kernel, &mut scratch)
        .expect("FFT buffers are sized by the plan itself");

    // Full linear convolution, then the centred slice.
    let mut full = vec![0.0f64; x.len() + taps - 1];
    let scale = 1.0 / nfft as f64;
    for (b, chunk) in x.chunks(block).enumerate() {
        time[..chunk.len()].copy_from_slice(chunk);
        time[chunk.len()..].iter_mut().for_each(|v| *v = 0.0);
        fwd.process_with_scratch(&mut time, &mut spec, &mut scratch)
            .expect("FFT buffers are sized by the plan itself");
        spec.iter_mut().zip(&kernel).for_each(|(s, k)| *s *= k);
        inv.process_with_scratch(&mut spec, &mut time, &mut inv_scratch)
            .expect("FFT buffers are sized by the plan itself");
        let start = b * block;
        let len = (chunk.len() + taps - 1).min(full.len() - start);
        for (o, &v) in full[start..start + len].iter_mut().zip(&time[..len]) {
            *o += v * scale;
        }
    }
    full[delay..delay + x.len()].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_length_rounds() {
        assert_eq!(output_len(44_100, 44_100, 16_000), 16_000);
        assert_eq!(output_len(3, 48_000, 16_000), 1);
        assert_eq!(output_len(2, 48_000, 16_000), 1); // 0.667 -> 1
        assert_eq!(output_len(1, 48_000, 16_000), 0); // 0.333 -> 0
        assert_eq!(output_len(3, 2, 1), 2); // 1.5 rounds up
        assert_eq!(output_len(10, 8_000, 16_000), 20);
    }

    #[test]
    fn identity_and_bad_rates() {
        let x = vec![0.1f32, -0.2, 0.3];
        assert_eq!(resample(&x, 16_000, 16_000).ok(), Some(x.clone()));
        assert!(resample(&x, 0, 16_000).is_err());
        assert!(resample(&[], 44_100, 16_000)
            .map(|v| v.is_empty())
            .unwrap_or(false));
        // Tiny inputs: shorter than any filter, still the rounded length.
        let len = |x: &[f32], from| resample(x, from, 16_000).map(|v| v.len()).ok();
        assert_eq!(len(&[0.5], 8_000), Some(2));
        assert_eq!(len(&[0.5; 3], 48_000), Some(1));
        assert_eq!(len(&[0.5; 7], 44_101), Some(3));
    }

    /// A band-limited sine resampled must land on the analytic sine at the new rate: this
    /// pins both the filter quality and the delay compensation (a one-sample shift at 3 kHz
    /// would cost ~40 dB).
    #[test]
    fn sine_is_time_aligned() {
        for &(from, to, f) in &[
            (44_100u32, 16_000u32, 3_000.0f64),
            (48_000, 16_000, 5_000.0),
            (8_000, 16_000, 3_000.0),
            (22_050, 16_000, 6_500.0),
            (11_025, 16_000, 1_000.0),
        ] {
            let n = from as usize; // 1 s
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / f64::from(from)).sin() as f32)
                .collect();
            let y = match resample(&x, from, to) {
                Ok(y) => y,
                Err(e) => panic!("{from}->{to}: {e}"),
            };
            assert_eq!(y.len(), to as usize);
            let skip = to as usize / 20; // 50 ms away from the edges
            let (mut sig, mut noise) = (0.0f64, 0.0f64);
            for (j, &v) in y.iter().enumerate().take(y.len() - skip).skip(skip) {
                let r = (2.0 * std::f64::consts::PI * f * j as f64 / f64::from(to)).sin();
                sig += r * r;
                noise += (f64::from(v) - r).powi(2);
            }
            let snr = 10.0 * (sig / noise).log10();
            assert!(snr > 80.0, "{from}->{to} at {f} Hz: SNR {snr:.1} dB");
        }
    }
}
