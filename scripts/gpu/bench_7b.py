"""The 7B-shaped LoRA training benchmark: ours (the release `trainer`) against transformers + PEFT
on the same GPU, the same model shape, the same sample. Run by scripts/gpu/run.sh; with
`--device cpu --spec small` it runs anywhere (a smoke test of the script, not a benchmark).

    python3 scripts/gpu/bench_7b.py --bin DIR --out DIR [--device cuda:0] [--steps 4] [--warmup 2]

The work (issue 11): the Qwen2-Audio-7B-Instruct configuration (decoder 32 x 4096, 32 heads,
intermediate 11008, vocabulary 156032, untied head; encoder 32 x 1280, 20 heads, ffn 5120, 128
mels), random weights made on the device (ours: `model.weights = "random"` over a directory
written by `trainer init-model --no-weights`; theirs: the model class built from the same
config.json under `torch.device`), bf16. LoRA r 8, alpha 16, no dropout, on every linear layer
of the language model; encoder and projector frozen; AdamW lr 1e-4; micro-batch 1: one 30 s clip
(750 audio tokens) and a 100-token caption under the default captioning prompt. Ours with
activation checkpointing on and off; theirs with eager and SDPA attention, gradient
checkpointing on and off (non-reentrant). A timed step is what a training loop does per step:
features from the decoded clip, forward, loss on the caption, backward, clipping, optimizer step;
steps after --warmup are timed (median); the device is synchronised around each of theirs, and
ours reports its own (`metrics.jsonl` step_s, the loss read back on the host every step).

Peak memory: the device's used memory sampled with nvidia-smi every 0.1 s while each run is
alive, minus what was in use before it started (both sides: what a user's card must hold,
allocator caches included); theirs also reports torch's max_memory_allocated.

Model FLOPs per step (no recomputation counted), T tokens of which C are the caption's:
  decoder linears   2 N T forward + 2 N T backward (input gradients only; the frozen weights
                    need none), N = L (2 h^2 + 2 h kv + 3 h i) (+ LoRA's, negligible)
  attention         4 L T^2 h forward + 8 L T^2 h backward (scores and values; causal counted full)
  head              2 h V C forward + 2 h V C backward (only the caption's positions need it)
  encoder           forward only: 2 N_enc 1500 + 4 L_enc 1500^2 d (nothing below the decoder
                    is trained) + the convolutions
MFU = model FLOPs / step time / the bf16 matrix rate measured here (8192^3 products, median).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
PROMPT = "Describe the audio in a sentence."
SPECS = {
    # Qwen2-Audio-7B-Instruct's shape.
    "7b": dict(audio=dict(num_mel_bins=128, d_model=1280, encoder_layers=32, encoder_attention_heads=20,
                          encoder_ffn_dim=5120),
               text=dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                         intermediate_size=11008, tie_word_embeddings=False, vocab_size=156032),
               dtype="bf16"),
    # For trying the script on a CPU.
    "small": dict(audio=dict(num_mel_bins=128, d_model=64, encoder_layers=2, encoder_attention_heads=4,
                             encoder_ffn_dim=128),
                  text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                            intermediate_size=128, tie_word_embeddings=False, vocab_size=4096),
                  dtype="f32"),
}
WORDS = ("a low hum continues while a bell rings twice then a dog barks three times quietly loud high "
         "pitched chirp rises slowly rapidly followed by noise burst click pluck string drum beat voice "
         "vowel and the engine idles as rain falls on a metal roof").split()


def toml_value(v):
    return str(v).lower() if isinstance(v, bool) else json.dumps(v) if isinstance(v, str) else str(v)


def write_spec(path, spec):
    lines = ["bpe_vocab = 2000", "seed = 1", f"dtype = \"{spec['dtype']}\""]
    for section in ("audio", "text"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in spec[section].items()]
    open(path, "w").write("\n".join(lines) + "\n")


def make_data(out, bin_dir, spec):
    """A 30 s clip, the tokenizer's corpus, the model directory (no weights), and a caption of
    100 tokens under that tokenizer. Returns (model_dir, manifest, caption, caption_tokens)."""
    import soundfile as sf
    from tokenizers import Tokenizer

    rng = np.random.default_rng(0)
    t = np.arange(30 * 16000) / 16000
    x = sum(np.sin(2 * np.pi * 180 * h * t) / h for h in range(1, 6)) * 0.1 + 0.01 * rng.standard_normal(t.size)
    clip = os.path.join(out, "clip30s.wav")
    sf.write(clip, x.astype(np.float32), 16000, subtype="FLOAT")
    corpus = os.path.join(out, "corpus.jsonl")
    wrng = np.random.default_rng(1)
    with open(corpus, "w") as f:
        for _ in range(200):
            f.write(json.dumps({"task": "ac", "audio": clip, "target": " ".join(wrng.choice(WORDS, 20))}) + "\n")
    spec_path = os.path.join(out, "spec.toml")
    write_spec(spec_path, spec)
    model = os.path.join(out, "model")
    subprocess.run([os.path.join(bin_dir, "trainer"), "init-model", "--spec", spec_path, "--texts-from", corpus,
                    "--out", model, "--no-weights"], check=True, stderr=subprocess.DEVNULL)
    tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
    words = []
    while len(tok.encode(" ".join(words)).ids) < 100:
        words.append(str(wrng.choice(WORDS)))
    caption = " ".join(words)
    manifest = os.path.join(out, "train.jsonl")
    with open(manifest, "w") as f:
        f.write(json.dumps({"task": "ac", "audio": clip, "target": caption}) + "\n")
    return model, manifest, caption, len(tok.encode(caption).ids)


class MemoryPeak:
    """Samples the device's used memory (MiB) with nvidia-smi while alive."""

    def __init__(self, device):
        self.index = device.split(":")[1] if device.startswith("cuda:") else None
        self.base, self.peak, self.stop = None, None, threading.Event()

    def read(self):
        r = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i",
                            self.index], capture_output=True, text=True)
        return float(r.stdout.strip().splitlines()[0]) if r.returncode == 0 else None

    def __enter__(self):
        if self.index is not None:
            self.base = self.read()
            self.peak = self.base
            self.thread = threading.Thread(target=self.loop, daemon=True)
            self.thread.start()
        return self

    def loop(self):
        while not self.stop.wait(0.1):
            v = self.read()
            if v is not None:
                self.peak = max(self.peak, v)

    def __exit__(self, *_):
        self.stop.set()
        if self.index is not None:
            self.thread.join()

    def gib(self):
        return None if self.base is None else (self.peak - self.base) / 1024


def run_ours(a, model, manifest, checkpointing, dtype):
    name = f"ours_{'ckpt' if checkpointing else 'nockpt'}"
    cfg = os.path.join(a.out, name + ".toml")
    run_dir = os.path.join(a.out, name)
    open(cfg, "w").write(f"""[model]
source = "{model}"
weights = "random"
dtype = "{dtype}"
device = "{a.device}"
[lora]
r = 8
alpha = 16
dropout = 0.0
target_modules = "all-linear"
[train]
lr = 1e-4
steps = {a.warmup + a.steps}
micro_batch = 1
max_grad_norm = 1.0
seed = 1
gradient_checkpointing = {str(checkpointing).lower()}
[[data.train]]
task = "ac"
manifest = "{manifest}"
[output]
dir = "{run_dir}"
resume = "never"
""")
    with MemoryPeak(a.device) as mem, open(os.path.join(a.out, name + ".log"), "w") as log:
        r = subprocess.run([os.path.join(a.bin, "trainer"), "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError(f"{name}: trainer failed, see {name}.log:\n" + open(os.path.join(a.out, name + ".log")).read()[-1500:])
    recs = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl")) if '"step_s"' in l]
    return dict(name=f"ours, checkpointing {'on' if checkpointing else 'off'}", step_s=[r["step_s"] for r in recs],
                loss=[r["loss"] for r in recs], peak_gib=mem.gib(), torch_peak_gib=None)


def peft_child(a, model_dir, manifest, attn, gc, out):
    """One transformers + PEFT configuration, in its own process (its own memory)."""
    import soundfile as sf
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoProcessor, Qwen2AudioForConditionalGeneration

    dev = torch.device(a.device)
    dtype = torch.bfloat16 if SPECS[a.spec]["dtype"] == "bf16" else torch.float32
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(model_dir)
    config._attn_implementation = attn
    for sub in ("text_config", "audio_config"):
        getattr(config, sub)._attn_implementation = attn
    torch.set_default_dtype(dtype)
    with dev:
        model = Qwen2AudioForConditionalGeneration(config)
    torch.set_default_dtype(torch.float32)
    model = model.to(dtype)
    processor = AutoProcessor.from_pretrained(model_dir)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS, bias="none"))
    if gc:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    for p in model.parameters():  # LoRA weights and optimizer state in f32, like ours
        if p.requires_grad:
            p.data = p.data.float()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    line = json.loads(open(manifest).readline())
    audio = sf.read(line["audio"], dtype="float32")[0]
    conv = [{"role": "user", "content": [{"type": "audio", "audio_url": line["audio"]}, {"type": "text", "text": PROMPT}]}]
    prompt = processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    n_prompt = None
    times, losses, seq = [], [], None
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup + a.steps):
        sync()
        t0 = time.perf_counter()
        inputs = processor(text=[prompt + line["target"] + "<|im_end|>\n"], audio=[audio], sampling_rate=16000,
                           return_tensors="pt")
        if n_prompt is None:
            n_prompt = len(processor(text=prompt, audio=[audio], sampling_rate=16000)["input_ids"][0])
        inputs = {k: v.to(dev) for k, v in inputs.items()}
        inputs["input_features"] = inputs["input_features"].to(dtype)
        labels = inputs["input_ids"].clone()
        labels[:, :n_prompt] = -100
        labels[:, -1] = -100  # the final "\n"
        with torch.autocast(dev.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss))
        sync()
        times.append(time.perf_counter() - t0)
        seq = int(inputs["input_ids"].shape[1])
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None
    json.dump({"step_s": times, "loss": losses, "seq": seq, "torch_peak_gib": peak}, open(out, "w"))


def run_peft(a, model, manifest, attn, gc):
    name = f"peft_{attn}_{'gc' if gc else 'nogc'}"
    out = os.path.join(a.out, name + ".json")
    cmd = [sys.executable, __file__, "--bin", a.bin, "--out", a.out, "--device", a.device, "--spec", a.spec,
           "--steps", str(a.steps), "--warmup", str(a.warmup), "--child", model, manifest, attn, str(int(gc)), out]
    with MemoryPeak(a.device) as mem, open(os.path.join(a.out, name + ".log"), "w") as log:
        r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError(f"{name} failed, see {name}.log:\n" + open(os.path.join(a.out, name + ".log")).read()[-1500:])
    res = json.load(open(out))
    res.update(name=f"PEFT, {attn}, checkpointing {'on' if gc else 'off'}", peak_gib=mem.gib())
    return res


def bf16_rate(device):
    import torch

    if not device.startswith("cuda"):
        return None
    n = 8192
    x, y = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(5):
        x @ y
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        x @ y
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    return 2 * n**3 / statistics.median(times)


def model_flops(spec, seq, caption):
    t, au = spec["text"], spec["audio"]
    h, L, i, V = t["hidden_size"], t["num_hidden_layers"], t["intermediate_size"], t["vocab_size"]
    kv = h // t["num_attention_heads"] * t["num_key_value_heads"]
    n = L * (2 * h * h + 2 * h * kv + 3 * h * i)
    dec = 4 * n * seq + 12 * L * seq * seq * h + 4 * h * V * caption
    d, Le, f = au["d_model"], au["encoder_layers"], au["encoder_ffn_dim"]
    enc_n = Le * (4 * d * d + 2 * d * f)
    conv = 2 * 3000 * 3 * au["num_mel_bins"] * d + 2 * 1500 * 3 * d * d
    enc = 2 * enc_n * 1500 + 4 * Le * 1500 * 1500 * d + conv
    return dec + enc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--spec", default="7b", choices=sorted(SPECS))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        model, manifest, attn, gc, out = a.child
        peft_child(a, model, manifest, attn, gc == "1", out)
        return
    os.makedirs(a.out, exist_ok=True)
    spec = SPECS[a.spec]
    model, manifest, caption, caption_tokens = make_data(a.out, a.bin, spec)
    rate = bf16_rate(a.device)
    runs, errors = [], []
    plan = [lambda c=c: run_ours(a, model, manifest, c, spec["dtype"]) for c in (True, False)]
    plan += [lambda at=at, gc=gc: run_peft(a, model, manifest, at, gc) for at in ("eager", "sdpa") for gc in (True, False)]
    for job in plan:
        try:
            runs.append(job())
            print(f"{runs[-1]['name']}: done", flush=True)
        except Exception as e:  # one failing configuration does not hide the others
            errors.append(str(e))
            print(f"did not run: {e}", flush=True)
    seq = next((r["seq"] for r in runs if r.get("seq")), None)
    flops = model_flops(spec, seq, caption_tokens) if seq else None
    table = []
    for r in runs:
        step = statistics.median(r["step_s"][a.warmup:])
        table.append(dict(run=r["name"], step_s=step, tokens_per_s=seq / step if seq else None,
                          peak_gib=r["peak_gib"], torch_peak_gib=r.get("torch_peak_gib"),
                          mfu=flops / step / rate if flops and rate else None, first_loss=r["loss"][0]))
    result = dict(device=a.device, spec=a.spec, sequence_tokens=seq, caption_tokens=caption_tokens,
                  bf16_rate_tflops=rate / 1e12 if rate else None, model_tflop_per_step=flops / 1e12 if flops else None,
                  rows=table, errors=errors)
    json.dump(result, open(os.path.join(a.out, "bench.json"), "w"), indent=1)
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    print(f"\n{a.spec}-shaped LoRA step, micro-batch 1, {seq} tokens ({caption_tokens} caption), "
          f"bf16 matrix rate {fmt(rate and rate / 1e12, '.0f')} TFLOP/s, {fmt(flops and flops / 1e12, '.1f')} TFLOP per step")
    print("| run | step (s) | tokens/s | peak device memory (GiB) | torch max allocated (GiB) | MFU (%) | first loss |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['run']} | {r['step_s']:.3f} | {fmt(r['tokens_per_s'], '.0f')} | {fmt(r['peak_gib'], '.1f')} | "
              f"{fmt(r['torch_peak_gib'], '.1f')} | {fmt(r['mfu'] and 100 * r['mfu'], '.1f')} | {r['first_loss']:.3f} |")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
