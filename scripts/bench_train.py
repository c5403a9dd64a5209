"""LoRA training step time and peak memory: ours vs PEFT + torch on the same model and data, CPU.

Run from the repository root with the reference environment, after
`cargo build --release -p trainer`:

    /work/venv-ref/bin/python scripts/bench_train.py [--threads 2] [--steps 8] [--warmup 2]

The model (written once by `trainer init-model`, which transformers loads with our logits):
encoder d 384 x 4 layers (6 heads, ffn 1536, 80 mels), decoder hidden 512 x 8 layers (8 heads,
4 KV heads, intermediate 1408), tied embeddings, f32. Data: 16 deterministic 6 s clips (harmonic
tones over noise; 150 audio tokens each) with ~100-token captions; ~290 tokens per sample.
Recipe on both sides: LoRA r 8, alpha 32, dropout 0.05 on every linear layer of the language
model, encoder and projector frozen; AdamW lr 1e-4, weight decay 0.1; micro-batch 4, no
accumulation; clipping at 1.0. Ours runs twice: with activation checkpointing (the default)
and without. A timed step is everything a training loop does per step:
features from the decoded samples (the processor on the PEFT side, our mel on ours), forward,
loss on the answer tokens, backward, clipping, optimizer step. Steps after --warmup are timed;
peak memory is each process's max RSS (model load included). All use --threads threads.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINER = os.path.join(ROOT, "target", "release", "trainer")
TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
SPEC = """bpe_vocab = 600
seed = 3
[audio]
num_mel_bins = 80
d_model = 384
encoder_layers = 4
encoder_attention_heads = 6
encoder_ffn_dim = 1536
[text]
hidden_size = 512
num_hidden_layers = 8
num_attention_heads = 8
num_key_value_heads = 4
intermediate_size = 1408
"""
WORDS = ("a low hum continues while a bell rings twice then a dog barks three times quietly "
         "loud high pitched chirp rises slowly rapidly followed by noise burst click pluck string "
         "drum beat voice vowel and the").split()


def make_data(tmp, n=16):
    rng = random.Random(0)
    nrng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        t = np.arange(6 * 16000) / 16000
        f0 = 100 + 300 * rng.random()
        x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) * 0.1 + 0.01 * nrng.standard_normal(t.size)
        path = os.path.join(tmp, f"clip{i}.wav")
        sf.write(path, x.astype(np.float32), 16000, subtype="FLOAT")
        target = " ".join(rng.choice(WORDS) for _ in range(95))
        lines.append({"task": "ac", "audio": path, "target": target})
    manifest = os.path.join(tmp, "train.jsonl")
    with open(manifest, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return manifest, lines


def run_ours(tmp, model, manifest, steps, threads, checkpointing):
    """Runs in a child process; returns step times, losses and the child's peak RSS (MB)."""
    name = "ours_ckpt" if checkpointing else "ours"
    cfg = os.path.join(tmp, name + ".toml")
    with open(cfg, "w") as f:
        f.write(f"""[model]
source = "{model}"
dtype = "f32"
[lora]
r = 8
alpha = 32
dropout = 0.05
target_modules = "all-linear"
[train]
lr = 1e-4
weight_decay = 0.1
steps = {steps}
micro_batch = 4
grad_accum = 1
max_grad_norm = 1.0
seed = 1
gradient_checkpointing = {str(checkpointing).lower()}
[[data.train]]
task = "ac"
manifest = "{manifest}"
[output]
dir = "{tmp}/{name}"
resume = "never"
""")
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(["/usr/bin/time", "-f", "%M", TRAINER, "--config", cfg], check=True, env=env,
                         stderr=subprocess.PIPE, text=True)
    peak = float(out.stderr.strip().splitlines()[-1]) / 1024
    recs = [json.loads(l) for l in open(os.path.join(tmp, name, "metrics.jsonl"))]
    recs = [r for r in recs if "step_s" in r]
    return [r["step_s"] for r in recs], [r["loss"] for r in recs], peak


def run_peft(model_dir, lines, steps, threads, out):
    """Runs in a child process so its peak RSS is its own."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(model_dir, attn_implementation="eager")
    processor = AutoProcessor.from_pretrained(model_dir)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, bias="none"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1)
    audio = {l["audio"]: sf.read(l["audio"], dtype="float32")[0] for l in lines}
    prompt_ids = None
    times, losses = [], []
    for step in range(steps):
        batch = [lines[(step * 4 + j) % len(lines)] for j in range(4)]
        t0 = time.perf_counter()
        texts, prompts = [], []
        for b in batch:
            conv = [{"role": "user", "content": [{"type": "audio", "audio_url": b["audio"]}, {"type": "text", "text": "Describe the audio in a sentence."}]}]
            p = processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
            prompts.append(p)
            texts.append(p + b["target"] + "<|im_end|>\n")
        inputs = processor(text=texts, audio=[audio[b["audio"]] for b in batch], sampling_rate=16000, return_tensors="pt", padding=True)
        labels = inputs["input_ids"].clone()
        labels[inputs["attention_mask"] == 0] = -100
        for i, p in enumerate(prompts):
            n_prompt = len(processor(text=p, audio=[audio[batch[i]["audio"]]], sampling_rate=16000)["input_ids"][0])
            labels[i, :n_prompt] = -100
            labels[i, inputs["attention_mask"][i].sum() - 1] = -100  # the final "\n"
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump({"times": times, "losses": losses, "peak_mb": peak}, open(out, "w"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        model_dir, data, out = a.child
        run_peft(model_dir, json.load(open(data)), a.warmup + a.steps, a.threads, out)
        return
    total = a.warmup + a.steps
    with tempfile.TemporaryDirectory() as tmp:
        manifest, lines = make_data(tmp)
        spec = os.path.join(tmp, "spec.toml")
        open(spec, "w").write(SPEC)
        model = os.path.join(tmp, "model")
        subprocess.run([TRAINER, "init-model", "--spec", spec, "--texts-from", manifest, "--out", model], check=True, stderr=subprocess.DEVNULL)
        ours = {c: run_ours(tmp, model, manifest, total, a.threads, c) for c in (True, False)}
        data = os.path.join(tmp, "lines.json")
        json.dump(lines, open(data, "w"))
        out = os.path.join(tmp, "peft.json")
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
        subprocess.run([sys.executable, __file__, "--threads", str(a.threads), "--steps", str(a.steps), "--warmup", str(a.warmup), "--child", model, data, out], check=True, env=env)
        peft = json.load(open(out))
    p = statistics.median(peft["times"][a.warmup:])
    print(f"threads {a.threads}, micro-batch 4, {a.steps} timed steps after {a.warmup} warm-up")
    print(f"peft + torch:           step {p:.3f} s, peak RSS {peft['peak_mb']:.0f} MB, first losses {['%.4f' % x for x in peft['losses'][:3]]}")
    for c, label in ((True, "ours (checkpointing)"), (False, "ours (no checkpointing)")):
        t, losses, peak = ours[c]
        o = statistics.median(t[a.warmup:])
        print(f"{label:<24}step {o:.3f} s, peak RSS {peak:.0f} MB, first losses {['%.4f' % x for x in losses[:3]]}"
              f"  -> peft/ours: time {p / o:.2f}x, memory {peft['peak_mb'] / peak:.2f}x")


if __name__ == "__main__":
    main()
