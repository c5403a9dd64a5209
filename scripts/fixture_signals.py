"""Deterministic synthetic test signals shared by the fixture generators.

Not a script: imported by `scripts/make_audio_fixtures.py` and `scripts/make_model_fixtures.py`
(run those from the repo root with `/work/venv-ref/bin/python scripts/<name>.py`).

Every generator takes a `numpy.random.Generator` (or none) and a sample count, and returns
float64 samples roughly in [-1, 1]. `quantize_pcm16` turns them into the exact int16 values
written to the WAV files; the float32 the reference sees is `int16 / 32768`.
"""

import numpy as np
from scipy import signal as sps

SR = 16000


def quantize_pcm16(x):
    """Float samples -> int16 (round half to even, saturating at int16 range)."""
    q = np.round(np.asarray(x, dtype=np.float64) * 32768.0)
    return np.clip(q, -32768, 32767).astype(np.int16)


def pcm16_to_f32(q):
    """What `soundfile.read(path, dtype='float32')` returns for a PCM16 file."""
    return (q.astype(np.float32) / np.float32(32768.0)).astype(np.float32)


def _resonator(x, freq, bw, sr):
    """Two-pole resonator (formant filter) with unit gain at DC-ish."""
    r = np.exp(-np.pi * bw / sr)
    theta = 2.0 * np.pi * freq / sr
    a = [1.0, -2.0 * r * np.cos(theta), r * r]
    b = [1.0 - r]
    return sps.lfilter(b, a, x)


def speech_like(n, sr=SR, rng=None, f0_start=110.0, f0_end=165.0):
    """Synthetic voiced vowels: glottal pulse train with a pitch glide through time-varying
    formant filters (/a/ -> /i/ -> /u/), syllable-like amplitude envelope, a little breath noise."""
    rng = rng or np.random.default_rng(0)
    t = np.arange(n) / sr
    dur = n / sr
    f0 = f0_start + (f0_end - f0_start) * (t / dur) + 8.0 * np.sin(2 * np.pi * 4.5 * t)
    phase = np.cumsum(f0 / sr)
    # Rosenberg-like glottal pulse: smooth open phase, abrupt closure.
    frac = phase - np.floor(phase)
    open_q = 0.6
    pulse = np.where(frac < open_q, 0.5 * (1 - np.cos(np.pi * frac / open_q)), 0.0)
    src = np.diff(pulse, prepend=pulse[0])  # glottal flow derivative
    src = src + 0.01 * rng.standard_normal(n)
    vowels = [  # F1, F2, F3 (Hz)
        (730, 1090, 2440),  # a
        (270, 2290, 3010),  # i
        (300, 870, 2240),  # u
    ]
    seg = n // len(vowels) + 1
    out = np.zeros(n)
    for k, (f1, f2, f3) in enumerate(vowels):
        lo, hi = k * seg, min(n, (k + 1) * seg + 400)
        if lo >= n:
            break
        y = src[lo:hi]
        y = _resonator(y, f1, 80, sr) + 0.6 * _resonator(y, f2, 100, sr) + 0.3 * _resonator(y, f3, 120, sr)
        w = np.ones(hi - lo)
        ramp = min(400, (hi - lo) // 2)
        w[:ramp] = np.linspace(0, 1, ramp)
        w[-ramp:] = np.linspace(1, 0, ramp)
        out[lo:hi] += y * w
    # syllable envelope (~4 Hz)
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3.7 * t - np.pi / 2) ** 2
    fade = np.minimum(1.0, np.minimum(t, dur - t) / 0.02)
    out = out * env * np.clip(fade, 0, 1)
    return 0.6 * out / (np.max(np.abs(out)) + 1e-12)


def white_noise(n, rng, amp=0.25):
    return amp * np.clip(rng.standard_normal(n) / 3.0, -1, 1)


def pink_noise(n, rng, amp=0.3):
    """1/f noise via spectral shaping of white noise."""
    w = rng.standard_normal(n)
    spec = np.fft.rfft(w)
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    spec = spec / np.sqrt(f)
    y = np.fft.irfft(spec, n)
    return amp * y / (np.max(np.abs(y)) + 1e-12)


def tones_and_chord(n, sr=SR):
    """440 Hz, then 1 kHz, then a C-major chord, with short fades between parts."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    thirds = [0, n // 3, 2 * n // 3, n]
    parts = [[440.0], [1000.0], [261.63, 329.63, 392.0]]
    for (lo, hi), freqs in zip(zip(thirds[:-1], thirds[1:]), parts):
        seg = sum(np.sin(2 * np.pi * f * t[lo:hi] + 0.3 * i) for i, f in enumerate(freqs)) / len(freqs)
        ramp = min(160, (hi - lo) // 2)
        w = np.ones(hi - lo)
        w[:ramp] = np.linspace(0, 1, ramp)
        w[-ramp:] = np.linspace(1, 0, ramp)
        out[lo:hi] = 0.5 * seg * w
    return out


def clipped_sine(n, sr=SR, freq=220.0, gain=3.0):
    """A loud sine hard-clipped at +-1.0 (int16 full scale after quantisation)."""
    t = np.arange(n) / sr
    return np.clip(gain * np.sin(2 * np.pi * freq * t), -1.0, 1.0)


def karplus_strong(freq, n, sr, rng, decay=0.996):
    period = max(2, int(round(sr / freq)))
    buf = rng.uniform(-1, 1, period)
    out = np.empty(n)
    for i in range(n):
        out[i] = buf[i % period]
        nxt = buf[(i + 1) % period]
        buf[i % period] = decay * 0.5 * (buf[i % period] + nxt)
    return out


def plucked_music(n, sr=SR, rng=None, notes=None, note_dur=0.35):
    """Plucked-string melody (Karplus-Strong) with overlapping note tails."""
    rng = rng or np.random.default_rng(0)
    notes = notes or [196.0, 246.94, 293.66, 392.0, 329.63, 293.66, 246.94, 220.0, 261.63, 329.63, 440.0, 392.0]
    out = np.zeros(n)
    step = int(note_dur * sr)
    k = 0
    start = 0
    while start < n:
        f = notes[k % len(notes)]
        length = min(n - start, int(1.2 * sr))
        out[start : start + length] += karplus_strong(f, length, sr, rng)
        start += step
        k += 1
    return 0.5 * out / (np.max(np.abs(out)) + 1e-12)


def short_burst(n, sr=SR, rng=None):
    rng = rng or np.random.default_rng(0)
    t = np.arange(n) / sr
    w = np.hanning(n)
    return 0.5 * w * (np.sin(2 * np.pi * 700 * t) + 0.3 * rng.standard_normal(n))


def speechish_signal(n, sr, rng):
    """Speech-like signal at an arbitrary sample rate (for resampling cases)."""
    return speech_like(n, sr=sr, rng=rng)


def music_signal(n, sr, rng=None):
    """Harmonic tones well below 7 kHz: notes with 5 harmonics, max component ~3.3 kHz."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    notes = [220.0, 277.18, 329.63, 440.0, 554.37]
    seg = n // len(notes) + 1
    for k, f0 in enumerate(notes):
        lo, hi = k * seg, min(n, (k + 1) * seg)
        tt = t[lo:hi] - t[lo]
        env = np.exp(-3.0 * tt) * np.minimum(1.0, tt / 0.005)
        s = sum((0.6**h) * np.sin(2 * np.pi * f0 * (h + 1) * tt + h) for h in range(5) if f0 * (h + 1) < 3500)
        out[lo:hi] = env * s
    return 0.5 * out / (np.max(np.abs(out)) + 1e-12)
