"""Generate golden audio-frontend fixtures (mel, resampling, file formats) from the reference env.

Run from the repository root:

    /work/venv-ref/bin/python scripts/make_audio_fixtures.py

(`/work/venv-ref` is built by `/work/shared/ref/install.sh /work/venv-ref`: openai-whisper
20250625, transformers 4.57.6, librosa 0.10.2, soxr, soundfile 0.14 / libsndfile 1.2.2.)
Deterministic (fixed seeds); everything under tests/fixtures/audio/ is overwritten in place:

- mel_filters.safetensors        mel_80 [80,201], mel_128 [128,201] f32 (whisper's mel_filters.npz)
- clips/<name>.wav               16 kHz mono PCM16 test clips
- mel_reference.safetensors      per clip: <name>.audio, .mel80, .mel128, .feature_mask_sum,
                                 (speech, tones) .mel80_pad30, .mel128_pad30, (speech) .hf_mel80
                                 -- the 30 s padded mels are stored CROPPED to their first
                                 N//160 + 10 frames, with the constant value of every later
                                 frame in <key>_tail [1] (asserted exact; full = head ++ tail)
- mel_reference.json             per clip: samples, frames, feature_mask_sum, stored frame counts
- resample_reference.safetensors <case>.input / <case>.output (librosa.resample, soxr_hq)
- resample_cases.json            case -> source rate, lengths
- formats/*                      one stereo signal in several containers/codecs + formats.json,
                                 original.safetensors
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_signals as fs  # noqa: E402

import librosa  # noqa: E402
import soundfile as sf  # noqa: E402
import whisper  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from transformers import WhisperFeatureExtractor  # noqa: E402

OUT = os.path.join("tests", "fixtures", "audio")
SR = 16000


def write_pcm16(path, q):
    sf.write(path, q, SR, subtype="PCM_16", format="WAV")
    back, sr = sf.read(path, dtype="float32")
    assert sr == SR and back.dtype == np.float32
    expect = fs.pcm16_to_f32(q)
    assert np.array_equal(back, expect), path
    return back


def make_clips():
    rng = np.random.default_rng(20240611)
    # lengths deliberately not multiples of 160 samples
    specs = {
        "speech": (27237, lambda n: fs.speech_like(n, rng=np.random.default_rng(1))),  # 1.70 s
        "noise_white": (14453, lambda n: fs.white_noise(n, np.random.default_rng(2))),  # 0.90 s
        "noise_pink": (14411, lambda n: fs.pink_noise(n, np.random.default_rng(3))),  # 0.90 s
        "tones": (20891, lambda n: fs.tones_and_chord(n)),  # 1.31 s
        "silence": (8013, lambda n: np.zeros(n)),  # 0.50 s
        "clipping": (17677, lambda n: fs.clipped_sine(n)),  # 1.10 s
        "short": (517, lambda n: fs.short_burst(n, rng=np.random.default_rng(4))),  # 0.032 s
        "music": (67229, lambda n: fs.plucked_music(n, rng=np.random.default_rng(5))),  # 4.20 s
    }
    del rng
    clips = {}
    os.makedirs(os.path.join(OUT, "clips"), exist_ok=True)
    for name, (n, gen) in specs.items():
        assert n % 160 != 0
        q = fs.quantize_pcm16(gen(n))
        clips[name] = write_pcm16(os.path.join(OUT, "clips", f"{name}.wav"), q)
    # the clipping clip really reaches int16 full scale on both sides
    q = np.round(clips["clipping"] * 32768).astype(np.int32)
    assert q.max() == 32767 and q.min() == -32768
    return clips


def make_mel_filters():
    path = os.path.join(os.path.dirname(whisper.__file__), "assets", "mel_filters.npz")
    with np.load(path, allow_pickle=False) as f:
        m80 = f["mel_80"].astype(np.float32)
        m128 = f["mel_128"].astype(np.float32)
    assert m80.shape == (80, 201) and m128.shape == (128, 201)
    # facts check: equal to librosa's Slaney filters
    lib80 = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)
    print("mel_80 vs librosa.filters.mel max abs diff:", float(np.abs(lib80 - m80).max()))
    save_file({"mel_80": m80, "mel_128": m128}, os.path.join(OUT, "mel_filters.safetensors"))


PAD30_EXTRA = 10  # constant-tail frames kept after the last audio-bearing frame


def crop_pad30(mel, n):
    """A 30 s padded mel is constant (log-mel of zeros, floored at max - 8) after the audio.

    To keep the fixtures small, store only the first n//160 + PAD30_EXTRA frames plus the tail
    value; assert here that every dropped frame equals that value exactly, so the full
    [M, 3000] array is `concat(head, tail_value repeated)`.
    """
    k = n // 160 + PAD30_EXTRA
    tail = mel[:, k:]
    v = tail[0, 0]
    assert np.all(tail == v), "padded tail is not constant"
    return np.ascontiguousarray(mel[:, :k]), float(v)


def make_mels(clips):
    fe = WhisperFeatureExtractor(feature_size=80)
    tensors = {}
    meta = {}
    pad30_full = {}
    for name, audio in clips.items():
        n = audio.shape[0]
        tensors[f"{name}.audio"] = audio
        x = torch.from_numpy(audio)
        for m in (80, 128):
            mel = whisper.audio.log_mel_spectrogram(x, n_mels=m).numpy().astype(np.float32)
            assert mel.shape == (m, n // 160), (name, mel.shape)
            tensors[f"{name}.mel{m}"] = mel
        hf = fe(audio, sampling_rate=16000, return_attention_mask=True, padding="max_length", return_tensors="np")
        mask_sum = int(hf["attention_mask"].sum())
        tensors[f"{name}.feature_mask_sum"] = np.array([mask_sum], dtype=np.int64)
        meta[name] = {"samples": n, "mel_frames": n // 160, "feature_mask_sum": mask_sum}
        if name in ("speech", "tones"):
            padded = whisper.audio.pad_or_trim(x)
            for m in (80, 128):
                mel = whisper.audio.log_mel_spectrogram(padded, n_mels=m).numpy().astype(np.float32)
                assert mel.shape == (m, 3000)
                head, tail_value = crop_pad30(mel, n)
                tensors[f"{name}.mel{m}_pad30"] = head
                tensors[f"{name}.mel{m}_pad30_tail"] = np.array([tail_value], dtype=np.float32)
                pad30_full[(name, m)] = mel
                meta[name][f"mel{m}_pad30_stored_frames"] = int(head.shape[1])
                meta[name][f"mel{m}_pad30_tail_value"] = float(tail_value)
        if name == "speech":
            hf_mel = hf["input_features"][0].astype(np.float32)
            assert hf_mel.shape == (80, 3000)
            head, tail_value = crop_pad30(hf_mel, n)
            tensors[f"{name}.hf_mel80"] = head
            tensors[f"{name}.hf_mel80_tail"] = np.array([tail_value], dtype=np.float32)
            d = float(np.abs(hf_mel - pad30_full[(name, 80)]).max())
            meta[name]["hf_vs_whisper_pad30_max_abs_diff"] = d
            print("speech: HF vs whisper pad30 mel80 max abs diff", d)
    save_file(tensors, os.path.join(OUT, "mel_reference.safetensors"))
    return meta


def make_resample():
    tensors = {}
    cases = {}
    for sr in (8000, 22050, 44100, 48000):
        n = sr  # 1.0 s
        for kind, gen in (
            ("speech", lambda n, sr: fs.speechish_signal(n, sr, np.random.default_rng(10 + sr))),
            ("music", lambda n, sr: fs.music_signal(n, sr)),
        ):
            x = gen(n, sr).astype(np.float32)
            y = librosa.resample(x, orig_sr=sr, target_sr=16000)  # default res_type: soxr_hq
            y = np.asarray(y, dtype=np.float32)
            case = f"{kind}_{sr}"
            tensors[f"{case}.input"] = x
            tensors[f"{case}.output"] = y
            cases[case] = {"orig_sr": sr, "target_sr": 16000, "res_type": "soxr_hq", "input_len": int(x.shape[0]), "output_len": int(y.shape[0])}
    # one metadata key only: safetensors writes metadata from a hash map (key order varies)
    meta = {"orig_sr": json.dumps({k: v["orig_sr"] for k, v in sorted(cases.items())}, sort_keys=True)}
    save_file(tensors, os.path.join(OUT, "resample_reference.safetensors"), metadata=meta)
    with open(os.path.join(OUT, "resample_cases.json"), "w") as f:
        json.dump({"librosa": librosa.__version__, "cases": cases}, f, indent=2)
        f.write("\n")
    return cases


def _zero_wav_peak_timestamp(path):
    """libsndfile adds a PEAK chunk (with a wall-clock timestamp) to float WAVs: zero the
    timestamp so the file is reproducible byte for byte."""
    b = bytearray(open(path, "rb").read())
    i = b.find(b"PEAK")
    if i >= 0:
        b[i + 12 : i + 16] = b"\0\0\0\0"  # 'PEAK', size, version, timestamp
        open(path, "wb").write(bytes(b))


def _ogg_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def _fix_ogg_serial(path, serial=0x51A2D10):
    """libsndfile picks a random Ogg stream serial number: set a fixed one, redo page CRCs."""
    b = bytearray(open(path, "rb").read())
    i = 0
    while i < len(b):
        assert b[i : i + 4] == b"OggS", "not an Ogg page"
        nseg = b[i + 26]
        body = sum(b[i + 27 : i + 27 + nseg])
        end = i + 27 + nseg + body
        b[i + 14 : i + 18] = serial.to_bytes(4, "little")
        b[i + 22 : i + 26] = b"\0\0\0\0"
        b[i + 22 : i + 26] = _ogg_crc(bytes(b[i:end])).to_bytes(4, "little")
        i = end
    open(path, "wb").write(bytes(b))


def make_formats():
    d = os.path.join(OUT, "formats")
    os.makedirs(d, exist_ok=True)
    sr = 44100
    n = sr // 2
    t = np.arange(n) / sr
    rng = np.random.default_rng(7)
    left = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(n)
    right = 0.25 * np.sin(2 * np.pi * 660 * t + 0.5) + 0.01 * rng.standard_normal(n)
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    save_file({"stereo": stereo}, os.path.join(d, "original.safetensors"), metadata={"sample_rate": str(sr)})
    files = [
        ("pcm_u8.wav", "WAV", "PCM_U8", True),
        ("pcm16.wav", "WAV", "PCM_16", True),
        ("pcm24.wav", "WAV", "PCM_24", True),
        ("pcm32.wav", "WAV", "PCM_32", True),
        ("float32.wav", "WAV", "FLOAT", True),
        ("flac16.flac", "FLAC", "PCM_16", True),
        ("vorbis.ogg", "OGG", "VORBIS", False),
        ("mp3.mp3", "MP3", "MPEG_LAYER_III", False),
    ]
    entries = []
    for fname, fmt, subtype, lossless in files:
        path = os.path.join(d, fname)
        sf.write(path, stereo, sr, format=fmt, subtype=subtype)
        if subtype == "FLOAT":
            _zero_wav_peak_timestamp(path)
        if fmt == "OGG":
            _fix_ogg_serial(path)
        info = sf.info(path)
        back, rsr = sf.read(path, dtype="float32", always_2d=True)
        e = {
            "file": fname,
            "format": fmt,
            "subtype": subtype,
            "sample_rate": rsr,
            "channels": int(back.shape[1]),
            "frames": int(n),
            "frames_read_by_soundfile": int(back.shape[0]),
            "lossless": lossless,
        }
        m = min(back.shape[0], n)
        e["max_abs_err_vs_original_soundfile"] = float(np.abs(back[:m] - stereo[:m]).max())
        entries.append(e)
        print(fname, info.frames, back.shape, e["max_abs_err_vs_original_soundfile"])
    # mono 16 kHz PCM16: left channel resampled-free regenerated at 16 kHz
    n16 = 8000
    t16 = np.arange(n16) / 16000
    mono = 0.5 * np.sin(2 * np.pi * 440 * t16) + 0.01 * np.random.default_rng(8).standard_normal(n16)
    q = fs.quantize_pcm16(mono)
    sf.write(os.path.join(d, "mono16k.wav"), q, 16000, subtype="PCM_16")
    entries.append({"file": "mono16k.wav", "format": "WAV", "subtype": "PCM_16", "sample_rate": 16000, "channels": 1, "frames": n16, "frames_read_by_soundfile": n16, "lossless": True, "note": "not the stereo signal: a 440 Hz tone + noise generated at 16 kHz; exact samples = int16/32768"})
    with open(os.path.join(d, "formats.json"), "w") as f:
        json.dump(
            {
                "original": "original.safetensors: stereo [frames, 2] f32 at 44100 Hz (before quantisation)",
                "lossless_means": "the codec is lossless: decoding gives back the quantised samples exactly "
                "(PCM_U8/16/24/32 still lose precision vs the float original; FLOAT is bit-exact)",
                "frames_read_by_soundfile": "frames libsndfile decodes (for MP3 after its gapless trimming)",
                "soundfile": sf.__version__,
                "libsndfile": sf.__libsndfile_version__,
                "files": entries,
            },
            f,
            indent=2,
        )
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    make_mel_filters()
    clips = make_clips()
    meta = make_mels(clips)
    with open(os.path.join(OUT, "mel_reference.json"), "w") as f:
        json.dump({"whisper": whisper.__version__, "clips": meta}, f, indent=2)
        f.write("\n")
    make_resample()
    make_formats()
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
