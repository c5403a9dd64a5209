//! Times our log-mel on audio files, for `scripts/bench_mel.py` (which times openai-whisper
//! and librosa on the same files and prints the ratios).
//!
//! `time_mel N_MELS REPEATS [--pad-30s] FILE…` prints one JSON object: per file, the best
//! time over REPEATS runs (seconds) of `log_mel_spectrogram` on the decoded 16 kHz samples
//! (decoding excluded, as in the Python side), and the frame count.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: time_mel N_MELS REPEATS [--pad-30s] FILE…";
    let n_mels: usize = args.first().ok_or(usage)?.parse()?;
    let repeats: usize = args.get(1).ok_or(usage)?.parse()?;
    let pad = args.iter().any(|a| a == "--pad-30s");
    let mut out = serde_json::Map::new();
    for path in args.iter().skip(2).filter(|a| *a != "--pad-30s") {
        let mut x = audio::load_mono_16k(std::path::Path::new(path))?;
        if pad {
            x = audio::pad_or_trim(&x, audio::CHUNK_SAMPLES);
        }
        let mut best = f64::INFINITY;
        let mut frames = 0;
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            let mel = audio::log_mel_spectrogram(&x, n_mels)?;
            best = best.min(t.elapsed().as_secs_f64());
            frames = mel.n_frames;
        }
        out.insert(
            path.clone(),
            serde_json::json!({"seconds": best, "frames": frames}),
        );
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
