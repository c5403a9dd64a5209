"""Generate the tiny Qwen2-Audio golden fixtures (tokenizer, random model, reference outputs).

Run from the repository root:

    /work/venv-ref/bin/python scripts/make_model_fixtures.py

(`/work/venv-ref` is built by `/work/shared/ref/install.sh /work/venv-ref`: torch 2.11 CPU,
transformers 4.57.6, tokenizers 0.22, openai-whisper 20250625, soundfile 0.14.)
No network: the tokenizer is trained here and the model is randomly initialised with fixed seeds.
Everything under tests/fixtures/tiny/ is overwritten in place; see tests/fixtures/tiny/README.md.
"""

import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_signals as fs  # noqa: E402

import soundfile as sf  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402
from tokenizers import processors  # noqa: E402
from transformers import (  # noqa: E402
    AddedToken,
    GenerationConfig,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    Qwen2Config,
    Qwen2TokenizerFast,
    WhisperFeatureExtractor,
)

OUT = os.path.join("tests", "fixtures", "tiny")
MODEL_DIR = os.path.join(OUT, "model")
BF16_DIR = os.path.join(OUT, "model_bf16_sharded")
CLIP_DIR = os.path.join(OUT, "clips")
SR = 16000
SEED = 20240611

# Qwen2's pre-tokenizer split pattern (transformers/models/qwen2/tokenization_qwen2.py PRETOKENIZE_REGEX)
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]
LONG_LOGITS_ROWS = 48  # long case: logits stored for the last rows only (size budget)
BPE_VOCAB = 440  # 256 byte symbols + merges; the 6 specials come after

# Qwen2AudioProcessor.default_chat_template in transformers 4.57.6 (processing_qwen2_audio.py);
# the comment there says it is kept because the hub's Qwen2-Audio-7B-Instruct config uses it.
CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if 'audio' in content or 'audio_url' in content or message['type'] == 'audio' or content['type'] == 'audio' %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}"
    "{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "<|im_start|>assistant\n"
    "{% endif %}"
)

CORPUS = """\
You are a helpful assistant.
What is this sound?
What's that sound?
How about this one?
Tell me the similarities between the two audios.
Describe the differences between the three audios.
Generate the caption in English:
Describe the audio in one sentence.
Listen to the clip and describe what you hear.
What instrument is playing in this recording?
Is there speech in this audio? If so, what is being said?
Classify the sound event and give a short reason.
A man is speaking while birds chirp in the background.
A woman speaks softly as rain falls on a tin roof.
A dog barks twice and then a car drives past.
Glass is breaking and someone shouts in surprise.
A crowd applauds and cheers after a short speech.
Water is running from a tap into a metal sink.
An engine idles and then accelerates away.
A bell rings three times in a quiet room.
Music plays with a guitar and a soft drum beat.
A piano melody with plucked strings and gentle bass.
Footsteps echo in a large hall while people talk.
Wind blows through trees and leaves rustle.
A baby cries and a woman tries to calm it.
Thunder rumbles in the distance during heavy rain.
A phone rings, then a man answers and talks.
Birds sing loudly in the morning near a stream.
A train passes by with a long horn blast.
Someone is typing on a keyboard in an office.
The audio contains a pure tone followed by a chord.
The first audio is speech and the second audio is music.
Both audios contain noise, but the second one is louder.
The two clips share a similar pitch and rhythm.
This sound is a sine wave at four hundred and forty hertz.
The recording is silent except for a short click.
A loud tone is clipped and distorted.
It is the sound of glass shattering.
The speaker sounds calm and speaks slowly.
The sound of an engine, a horn and traffic noise.
Audio 1: Audio 2: Audio 3:
system user assistant
I hear a voice, some music and a little noise.
There is a long pause, then a door closes.
The similarities are the tempo, the key and the instruments.
Answer the questions. What is it in this audio?
1 2 3 4 5 6 7 8 9 10 100 2024 30 seconds, 16 kHz, 440 Hz.
"""


# ----------------------------------------------------------------------------- clips
def write_clip(name, x):
    q = fs.quantize_pcm16(x)
    path = os.path.join(CLIP_DIR, name)
    sf.write(path, q, SR, subtype="PCM_16", format="WAV")
    back, sr = sf.read(path, dtype="float32")
    assert sr == SR and np.array_equal(back, fs.pcm16_to_f32(q))
    return back


def make_clips():
    os.makedirs(CLIP_DIR, exist_ok=True)
    clips = {}
    n = 20837  # 1.30 s
    clips["speech.wav"] = write_clip("speech.wav", fs.speech_like(n, rng=np.random.default_rng(11), f0_start=180, f0_end=140))
    n = 12829  # 0.80 s
    t = np.arange(n) / SR
    tone = 0.4 * np.sin(2 * np.pi * 523.25 * t) * np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)
    clips["tone.wav"] = write_clip("tone.wav", tone)
    n = 40019  # 2.50 s
    rng = np.random.default_rng(12)
    x = fs.pink_noise(n, rng, amp=0.15) + fs.plucked_music(n, rng=rng, notes=[330.0, 392.0, 494.0], note_dur=0.6)
    clips["noise_pluck.wav"] = write_clip("noise_pluck.wav", x)
    # 30.6 s: longer than the 30 s the feature extractor keeps. Quiet pink noise + slow tone; the
    # last 0.6 s (which the reference drops) holds a loud chirp so truncation is visible.
    n = 489637
    rng = np.random.default_rng(13)
    t = np.arange(n) / SR
    x = fs.pink_noise(n, rng, amp=0.02) + 0.05 * np.sin(2 * np.pi * (200 + 5 * t) * t)
    tail = t >= 30.0
    x[tail] += 0.6 * np.sin(2 * np.pi * (1000 + 2000 * (t[tail] - 30.0)) * (t[tail] - 30.0))
    clips["long.wav"] = write_clip("long.wav", x)
    for k, v in clips.items():
        assert v.shape[0] % 160 != 0, k
    return clips


# ----------------------------------------------------------------------------- tokenizer
def build_tokenizer():
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    lines = [ln for ln in CORPUS.splitlines() if ln.strip()]
    # each line also in chat form so "\n" and the role words get merges
    lines = lines + [f"user\n{ln}\n" for ln in lines]
    tok.train_from_iterator(lines, trainer=trainer)
    base = tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    assert [ids[s] for s in SPECIALS] == list(range(base, base + len(SPECIALS))), ids
    fast = Qwen2TokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        errors="replace",
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        model_max_length=32768,
        additional_special_tokens=["<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"],
    )
    assert len(fast) == base + len(SPECIALS)
    return fast, ids


# ----------------------------------------------------------------------------- model
def tiny_config(vocab, audio_token_id):
    return Qwen2AudioConfig(
        audio_config=dict(
            num_mel_bins=80,
            d_model=64,
            encoder_layers=2,
            encoder_attention_heads=4,
            encoder_ffn_dim=128,
            max_source_positions=1500,
        ),
        text_config=dict(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_theta=10000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=False,
            max_position_embeddings=8192,
        ),
        audio_token_index=audio_token_id,
    )


@torch.no_grad()
def init_weights(model):
    """Deterministic init with non-trivial scales: every weight, bias and norm is random, so a
    loader that skips a tensor (e.g. treats a bias as zero or a norm weight as one) fails."""
    g = torch.Generator().manual_seed(SEED)

    def normal_(p, std, mean=0.0):
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * std + mean)

    for name, mod in model.named_modules():
        text = name.startswith("language_model")
        if isinstance(mod, torch.nn.Embedding):
            if name.endswith("embed_positions"):
                normal_(mod.weight, 0.5)
            else:
                normal_(mod.weight, 1.0)
        elif isinstance(mod, (torch.nn.Linear, torch.nn.Conv1d)):
            if name.endswith("lm_head"):
                std = 0.35
            else:
                fan_in = mod.weight[0].numel()
                std = 1.0 / np.sqrt(fan_in)
            normal_(mod.weight, std)
            if mod.bias is not None:
                normal_(mod.bias, 0.1 if text else 0.05)
        elif isinstance(mod, torch.nn.LayerNorm):
            normal_(mod.weight, 0.1, 1.0)
            normal_(mod.bias, 0.05)
        elif hasattr(mod, "variance_epsilon") and hasattr(mod, "weight"):  # Qwen2RMSNorm
            normal_(mod.weight, 0.1, 1.0)
    return model


def sparsify_text_config(model_dir):
    """save_pretrained writes every Qwen2Config key into text_config; the real checkpoint's
    text_config is sparse. Drop each key whose removal leaves the loaded config unchanged."""
    path = os.path.join(model_dir, "config.json")
    with open(path) as f:
        full = json.load(f)
    ref = Qwen2AudioConfig.from_pretrained(model_dir).to_dict()
    sparse = json.loads(json.dumps(full))
    tc = sparse["text_config"]
    for key in sorted(list(tc.keys())):
        if key == "model_type":
            continue
        trial = dict(tc)
        del trial[key]
        if Qwen2Config(**{k: v for k, v in trial.items() if k != "model_type"}).to_dict() == Qwen2Config(
            **{k: v for k, v in tc.items() if k != "model_type"}
        ).to_dict():
            tc = trial
    sparse["text_config"] = tc
    with open(path, "w") as f:
        json.dump(sparse, f, indent=2, sort_keys=True)
        f.write("\n")
    again = Qwen2AudioConfig.from_pretrained(model_dir).to_dict()
    assert again == ref, "sparse config loads differently"
    return sparse


# ----------------------------------------------------------------------------- cases
def conversation(clip_files, prompt):
    content = [{"type": "audio", "audio_url": f} for f in clip_files]
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]


CASES = [
    ("single", ["speech.wav"], "What is this sound?"),
    ("pair", ["speech.wav", "tone.wav"], "Tell me the similarities between the two audios."),
    ("triple", ["speech.wav", "tone.wav", "noise_pluck.wav"], "Describe the differences between the three audios."),
    ("long", ["long.wav"], "Describe the audio in one sentence."),
]


def capture_forward(model, inputs):
    """Full forward; returns logits and the audio tower / projector outputs (valid rows only)."""
    store = {}
    h1 = model.audio_tower.register_forward_hook(lambda m, i, o: store.__setitem__("enc", o.last_hidden_state.detach().clone()))
    h2 = model.multi_modal_projector.register_forward_hook(lambda m, i, o: store.__setitem__("proj", o.detach().clone()))
    try:
        out = model(**inputs)
    finally:
        h1.remove()
        h2.remove()
    _, out_lens = model.audio_tower._get_feat_extract_output_lengths(inputs["feature_attention_mask"].sum(-1))
    enc = torch.cat([store["enc"][i, : int(n)] for i, n in enumerate(out_lens)], 0)
    proj = torch.cat([store["proj"][i, : int(n)] for i, n in enumerate(out_lens)], 0)
    return out.logits, enc, proj, [int(n) for n in out_lens]


def greedy(model, inputs, n=20):
    g = model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False, output_scores=True, return_dict_in_generate=True)
    t = inputs["input_ids"].shape[1]
    new = g.sequences[:, t:]
    assert new.shape[1] == n
    scores = torch.stack(g.scores, 1)  # [B, n, V] processed scores (EOS masked by min_new_tokens)
    top2 = scores.topk(2, dim=-1).values
    margin = float((top2[..., 0] - top2[..., 1]).min())
    free = model.generate(**inputs, max_new_tokens=n, do_sample=False)[:, t:]
    return new, margin, free


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    for d in (MODEL_DIR, BF16_DIR):
        if os.path.isdir(d):
            shutil.rmtree(d)
    os.makedirs(OUT, exist_ok=True)

    clips = make_clips()
    tokenizer, special_ids = build_tokenizer()
    vocab = len(tokenizer)
    fe = WhisperFeatureExtractor(feature_size=80)
    processor = Qwen2AudioProcessor(feature_extractor=fe, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)

    config = tiny_config(vocab, special_ids["<|AUDIO|>"])
    model = Qwen2AudioForConditionalGeneration(config)
    init_weights(model)
    model.generation_config = GenerationConfig(
        eos_token_id=[special_ids["<|im_end|>"], special_ids["<|endoftext|>"]],
        pad_token_id=special_ids["<|endoftext|>"],
        bos_token_id=special_ids["<|endoftext|>"],
    )
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.save_pretrained(MODEL_DIR, safe_serialization=True)
    processor.save_pretrained(MODEL_DIR)
    sparsify_text_config(MODEL_DIR)

    # bf16, sharded
    bf = Qwen2AudioForConditionalGeneration.from_pretrained(MODEL_DIR, dtype=torch.float32).to(torch.bfloat16)
    # loading records dtype float32 on the sub-configs; say bfloat16 like the real checkpoint
    bf.config.audio_config.dtype = torch.bfloat16
    bf.config.text_config.dtype = torch.bfloat16
    bf.save_pretrained(BF16_DIR, safe_serialization=True, max_shard_size="300KB")
    processor.save_pretrained(BF16_DIR)
    sparsify_text_config(BF16_DIR)
    del bf
    shards = sorted(f for f in os.listdir(BF16_DIR) if f.endswith(".safetensors"))
    assert len(shards) >= 2 and os.path.exists(os.path.join(BF16_DIR, "model.safetensors.index.json")), shards

    # ---- reference outputs, from the checkpoint as saved
    processor = Qwen2AudioProcessor.from_pretrained(MODEL_DIR)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(MODEL_DIR, dtype=torch.float32, attn_implementation="eager").eval()
    # identical weights after the save/load round trip
    loaded = model.state_dict()
    assert sorted(loaded) == sorted(init_state), set(loaded) ^ set(init_state)
    assert all(torch.equal(loaded[k], init_state[k]) for k in init_state)

    tensors = {}
    cases_meta = []
    texts = {}
    audios = {}
    with torch.no_grad():
        for name, files, prompt in CASES:
            conv = conversation(files, prompt)
            text = processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            arrays = [clips[f] for f in files]
            inputs = processor(text=text, audio=arrays, sampling_rate=SR, return_tensors="pt", padding=True)
            texts[name], audios[name] = text, arrays
            logits, enc, proj, n_tok = capture_forward(model, inputs)
            ids = inputs["input_ids"][0]
            mask_sum = inputs["feature_attention_mask"].sum(-1)
            assert int((ids == special_ids["<|AUDIO|>"]).sum()) == sum(n_tok)
            new, margin, free = greedy(model, inputs)
            tensors[f"{name}.input_ids"] = ids.numpy().astype(np.int64)
            tensors[f"{name}.feature_mask_sum"] = mask_sum.numpy().astype(np.int64)
            tensors[f"{name}.encoder_out"] = enc.numpy().astype(np.float32)
            tensors[f"{name}.projected"] = proj.numpy().astype(np.float32)
            if name == "long":
                # size budget: keep only the last LONG_LOGITS_ROWS rows (the text after the 750
                # audio positions, at the highest RoPE positions); first kept row index below.
                start = ids.shape[0] - LONG_LOGITS_ROWS
                tensors[f"{name}.logits"] = logits[0, start:].numpy().astype(np.float32)
                tensors[f"{name}.logits_start"] = np.array([start], dtype=np.int64)
            else:
                tensors[f"{name}.logits"] = logits[0].numpy().astype(np.float32)
            tensors[f"{name}.greedy"] = new[0].numpy().astype(np.int64)
            meta = {
                "name": name,
                "clips": files,
                "clip_samples": [int(a.shape[0]) for a in arrays],
                "prompt": prompt,
                "conversation": conv,
                "templated": text,
                "feature_mask_sum": [int(v) for v in mask_sum],
                "audio_tokens": n_tok,
                "seq_len": int(ids.shape[0]),
                "greedy_text": processor.tokenizer.decode(new[0]),
                "greedy_min_top2_margin": margin,
                "greedy_unconstrained_equal": bool(torch.equal(free[0, : new.shape[1]], new[0])) if free.shape[1] == new.shape[1] else False,
                "greedy_unconstrained": free[0].tolist(),
            }
            if name == "single":
                b = model.generate(
                    **inputs, num_beams=3, max_new_tokens=10, min_new_tokens=10, do_sample=False, output_scores=True, return_dict_in_generate=True
                )
                beam_new = b.sequences[0, ids.shape[0] :]
                assert beam_new.shape[0] == 10
                tensors[f"{name}.beam3"] = beam_new.numpy().astype(np.int64)
                meta["beam3_sequence_score"] = float(b.sequences_scores[0])
                meta["beam3_text"] = processor.tokenizer.decode(beam_new)
                single_inputs = inputs
            cases_meta.append(meta)
            print(name, "T", ids.shape[0], "L", meta["feature_mask_sum"], "tokens", n_tok, "margin", round(margin, 4), "greedy", new[0].tolist())

        # ---- batched, left padding: single + pair
        processor.tokenizer.padding_side = "left"
        btexts = [texts["single"], texts["pair"]]
        baud = audios["single"] + audios["pair"]
        binputs = processor(text=btexts, audio=baud, sampling_rate=SR, return_tensors="pt", padding=True)
        assert int(binputs["attention_mask"][0, 0]) == 0 and int(binputs["attention_mask"][1, 0]) == 1
        bnew, bmargin, bfree = greedy(model, binputs)
        tensors["batch.input_ids"] = binputs["input_ids"].numpy().astype(np.int64)
        tensors["batch.attention_mask"] = binputs["attention_mask"].numpy().astype(np.int64)
        tensors["batch.feature_mask_sum"] = binputs["feature_attention_mask"].sum(-1).numpy().astype(np.int64)
        tensors["batch.greedy"] = bnew.numpy().astype(np.int64)
        cases_meta.append(
            {
                "name": "batch",
                "of": ["single", "pair"],
                "padding_side": "left",
                "seq_len": int(binputs["input_ids"].shape[1]),
                "pad_count": [int((binputs["attention_mask"][i] == 0).sum()) for i in range(2)],
                "feature_mask_sum": tensors["batch.feature_mask_sum"].tolist(),
                "greedy_min_top2_margin": bmargin,
                "greedy_equal_to_unbatched": [
                    bool(np.array_equal(tensors["batch.greedy"][0], tensors["single.greedy"])),
                    bool(np.array_equal(tensors["batch.greedy"][1], tensors["pair.greedy"])),
                ],
            }
        )
        print("batch greedy", bnew.tolist(), "margin", bmargin)

        # ---- bf16 checkpoint
        mbf = Qwen2AudioForConditionalGeneration.from_pretrained(BF16_DIR, dtype=torch.bfloat16, attn_implementation="eager").eval()
        assert all(p.dtype == torch.bfloat16 for p in mbf.parameters())
        lbf = mbf(**single_inputs).logits[0].float()
        tensors["single.logits_bf16"] = lbf.numpy().astype(np.float32)
        d = float((lbf - torch.from_numpy(tensors["single.logits"])).abs().max())
        cases_meta[0]["logits_bf16_max_abs_diff_vs_f32"] = d
        print("bf16 vs f32 logits max abs diff", d)

    save_file(tensors, os.path.join(OUT, "reference.safetensors"), metadata={"reference": f"transformers {transformers.__version__}, torch {torch.__version__}"})
    info = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "attn_implementation": "eager",
        "special_token_ids": special_ids,
        "vocab_size": vocab,
        "eos_token_id": model.generation_config.eos_token_id,
        "pad_token_id": model.generation_config.pad_token_id,
        "greedy": "model.generate(**inputs, max_new_tokens=20, min_new_tokens=20, do_sample=False): new tokens only; "
        "min_new_tokens masks every eos_token_id to -inf for all 20 steps",
        "beam3": "model.generate(**inputs, num_beams=3, max_new_tokens=10, min_new_tokens=10, do_sample=False), length_penalty 1.0",
        "cases": cases_meta,
    }
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for k, v in sorted(tensors.items()):
        print(k, v.dtype, list(v.shape))


if __name__ == "__main__":
    main()
