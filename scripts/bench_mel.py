"""Time our Whisper log-mel against openai-whisper (torch, CPU) and librosa on the same clips.

Run from the repository root with the reference environment:

    /work/venv-ref/bin/python scripts/bench_mel.py [--threads 2] [--repeats 20]

Clips: the committed fixture clips (tests/fixtures/audio/clips, 0.2–4.2 s) at their own length,
and the same clips padded to 30 s (what Qwen2-Audio's processor computes for every clip). Each
side is timed on already-decoded 16 kHz float32 samples (best of --repeats); ours runs in
`target/release/examples/time_mel` (built here if missing). librosa computes the same
quantity (`stft(center=True, reflect)` → |X|² → Slaney mel → log10 clamp → (x+4)/4), so it is the
NumPy peer; whisper's is the torch one. Prints a table and the ratios (peer time / our time).
"""

import argparse
import glob
import json
import os
import subprocess
import time

import librosa
import numpy as np
import soundfile as sf
import torch
import whisper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "release", "examples", "time_mel")


def best(f, repeats):
    t = float("inf")
    for _ in range(repeats):
        s = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - s)
    return t


def librosa_mel(x, n_mels):
    s = np.abs(librosa.stft(x, n_fft=400, hop_length=160, window="hann", center=True, pad_mode="reflect")) ** 2
    m = librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels) @ s[:, :-1]
    log = np.log10(np.maximum(m, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return (log + 4.0) / 4.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--n-mels", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if not os.path.exists(OURS):
        subprocess.run(["cargo", "build", "--release", "-p", "audio", "--example", "time_mel"], check=True, cwd=ROOT)
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "audio", "clips", "*.wav")))
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    rows = []
    for pad in (False, True):
        cmd = [OURS, str(a.n_mels), str(a.repeats)] + (["--pad-30s"] if pad else []) + files
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
        for f in files:
            x = sf.read(f, dtype="float32")[0]
            if pad:
                x = whisper.audio.pad_or_trim(x)
            xt = torch.from_numpy(x)
            tw = best(lambda: whisper.audio.log_mel_spectrogram(xt, n_mels=a.n_mels), a.repeats)
            tl = best(lambda: librosa_mel(x, a.n_mels), a.repeats)
            rows.append((os.path.basename(f) + (" (30 s)" if pad else ""), len(x) / 16000, ours[f]["seconds"], tw, tl))
    print(f"{'clip':<24}{'len s':>7}{'ours ms':>10}{'whisper ms':>12}{'librosa ms':>12}{'whisper/ours':>14}{'librosa/ours':>14}")
    for name, dur, o, w, l in rows:
        print(f"{name:<24}{dur:>7.2f}{o*1e3:>10.3f}{w*1e3:>12.3f}{l*1e3:>12.3f}{w/o:>14.2f}{l/o:>14.2f}")
    for pad in (False, True):
        sel = [r for r in rows if r[0].endswith("(30 s)") == pad]
        o, w, l = (sum(r[i] for r in sel) for i in (2, 3, 4))
        print(f"total {'30 s padded' if pad else 'own length'}: ours {o*1e3:.2f} ms, whisper {w*1e3:.2f} ms ({w/o:.2f}x), librosa {l*1e3:.2f} ms ({l/o:.2f}x)")


if __name__ == "__main__":
    main()
