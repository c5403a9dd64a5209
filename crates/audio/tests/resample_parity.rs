//! Resampling against librosa's default (`soxr_hq`) on speech and music at 8, 22.05, 44.1
//! and 48 kHz. The two band-limited filters differ only in their transition band near the
//! output Nyquist, so away from the clip edges the outputs must agree closely.

mod common;

use audio::resample;
use common::{snr_db, Tensors};

/// Samples skipped at each end (30 ms at 16 kHz): the filters' edge transients differ.
const EDGE: usize = 480;
const MIN_SNR_DB: f64 = 50.0;

#[test]
fn resample_matches_soxr() {
    let t = Tensors::load("resample_reference.safetensors");
    let cases: Vec<String> = t
        .names()
        .iter()
        .filter_map(|n| n.strip_suffix(".input").map(str::to_string))
        .collect();
    assert!(cases.len() >= 4, "too few resample cases: {cases:?}");
    let mut worst = f64::INFINITY;
    for case in cases {
        // Cases are named `<signal>_<source rate>`; the metadata's `orig_sr` (a JSON map)
        // must agree.
        let from: u32 = case
            .rsplit('_')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{case}: no source rate in the case name"));
        if let Some(rates) = t.metadata("orig_sr") {
            assert!(
                rates.contains(&format!("\"{case}\": {from}")),
                "{case}: metadata orig_sr {rates} disagrees with {from}"
            );
        }
        let input = t.f32(&format!("{case}.input")).data;
        let reference = t.f32(&format!("{case}.output")).data;
        let ours = resample(&input, from, 16_000).expect("resample");
        let expected_len =
            ((input.len() as u64 * 16_000 + u64::from(from) / 2) / u64::from(from)) as usize;
        assert_eq!(ours.len(), expected_len, "{case}: length");
        let n = ours.len().min(reference.len());
        assert!(n > 2 * EDGE + 1000, "{case}: too short");
        let snr = snr_db(&reference[EDGE..n - EDGE], &ours[EDGE..n - EDGE]);
        let snr_all = snr_db(&reference[..n], &ours[..n]);
        println!(
            "{case:>14}: {from} -> 16000 Hz, SNR {snr:.1} dB (edges skipped), {snr_all:.1} dB (all)"
        );
        assert!(snr >= MIN_SNR_DB, "{case}: SNR {snr:.1} dB");
        worst = worst.min(snr);
    }
    println!("worst SNR vs soxr_hq: {worst:.1} dB");
}
