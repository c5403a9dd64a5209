"""CUDA parity checks with the release binaries (no Rust toolchain needed), against the committed
golden fixtures and against our own CPU path. Run by scripts/gpu/run.sh on a GPU machine; runs on
any machine with `--device cpu` (a smoke test of the script itself).

    python3 scripts/gpu/parity.py --bin DIR --device cuda:0 --out DIR

Checks, each printed as one row (measured value, bound, pass):
  forward  the prompt's logits of `eval generate --dump-logits` on the tiny Qwen2-Audio
           (tests/fixtures/tiny: single, pair, triple) and Qwen2-VL (tests/fixtures/vision:
           one_image, two_images) models: the device in f32 against our CPU path, and the device
           in f32 and bf16 against transformers' f32 (reference.safetensors; not for one_image,
           a JPEG, which the image crate and PIL decode a level apart here and there).
  train    LoRA on the tiny Qwen2-Audio model, 4 steps: the device's adapter against the CPU's
           (f32), with and without activation checkpointing; resume (2 + 2 steps) against the
           straight run, bit for bit; bf16 base weights (f32 LoRA and optimizer state) against f32.
Bounds: f32 logits max |diff| <= 1e-4 against our CPU, <= 1e-3 against transformers (the
CPU tests hold 1e-4); bf16 logits max |diff| against
the f32 reference <= 4x what transformers' own bf16 run is off by (cases.json,
logits_bf16_max_abs_diff_vs_f32); adapters max |diff| / max |value| <= 1e-4 in f32, 5e-2 in bf16;
resume: 0.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "tests", "fixtures", "tiny")
VISION = os.path.join(ROOT, "tests", "fixtures", "vision")
ROWS = []


def row(check, case, value, bound):
    ok = bool(np.isfinite(value) and value <= bound)
    ROWS.append({"check": check, "case": case, "value": float(value), "bound": float(bound), "pass": ok})
    print(f"{check:<34} {case:<22} {value:11.3e}  <= {bound:9.2e}  {'ok' if ok else 'FAIL'}", flush=True)


def run(cmd, log):
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = open(log).read()[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{tail}")


def logits(bin_dir, model, media, prompt, device, dtype, out):
    cmd = [os.path.join(bin_dir, "eval"), "generate", "--model", model, "--prompt", prompt,
           "--max-new-tokens", "1", "--dump-logits", out, "--device", device, "--dtype", dtype] + media
    run(cmd, out + ".log")
    return load_file(out)["logits"].astype(np.float64)


def forward(a, out):
    ref = load_file(os.path.join(TINY, "reference.safetensors"))
    cases = {c["name"]: c for c in json.load(open(os.path.join(TINY, "cases.json")))["cases"]}
    bf16_bound = 4 * cases["single"]["logits_bf16_max_abs_diff_vs_f32"]
    todo = []  # (family, case, model, media, prompt, reference logits or None)
    for name in ("single", "pair", "triple"):
        c = cases[name]
        media = sum((["--audio", os.path.join(TINY, "clips", f)] for f in c["clips"]), [])
        todo.append(("qwen2-audio", name, os.path.join(TINY, "model"), media, c["prompt"], ref[f"{name}.logits"]))
    vref = load_file(os.path.join(VISION, "reference.safetensors"))
    vcases = json.load(open(os.path.join(VISION, "cases.json")))
    files = {i["name"]: i["file"] for i in vcases["images"]}
    for p in vcases["prompts"]:
        media = sum((["--image", os.path.join(VISION, files[i])] for i in p["images"]), [])
        # A JPEG input is decoded by the image crate here and by libjpeg (PIL) in the reference:
        # the pixels differ by a level here and there, so only the device-vs-CPU check applies.
        jpeg = any(files[i].endswith(".jpg") for i in p["images"])
        want = None if jpeg else vref[f"{p['name']}.logits"]
        todo.append(("qwen2-vl", p["name"], os.path.join(VISION, "model"), media, p["text"], want))
    for family, name, model, media, prompt, want in todo:
        get = lambda dev, dtype: logits(a.bin, model, media, prompt, dev, dtype,
                                        os.path.join(out, f"{family}_{name}_{dtype}_{dev.replace(':', '')}.safetensors"))
        cpu, f32, bf16 = get("cpu", "f32"), get(a.device, "f32"), get(a.device, "bf16")
        row(f"forward {family} f32 device vs cpu", name, np.abs(f32 - cpu).max(), 1e-4)
        if want is not None:
            want = want.astype(np.float64)
            if f32.shape != want.shape:
                raise RuntimeError(f"{family} {name}: logits {f32.shape}, reference {want.shape}")
            row(f"forward {family} f32 vs transformers", name, np.abs(f32 - want).max(), 1e-3)
            row(f"forward {family} bf16 vs transformers", name, np.abs(bf16 - want).max(), bf16_bound)


def train_config(path, model, manifest, run_dir, device, dtype, steps, ckpt, extra=""):
    with open(path, "w") as f:
        f.write(f"""[model]
source = "{model}"
dtype = "{dtype}"
device = "{device}"
[lora]
r = 4
alpha = 8
dropout = 0.0
target_modules = "all-linear"
[train]
lr = 1e-3
weight_decay = 0.1
schedule = "cosine"
warmup_steps = 1
steps = {steps}
micro_batch = 2
grad_accum = 2
seed = 3
gradient_checkpointing = {str(ckpt).lower()}
{extra}
[[data.train]]
task = "ac"
manifest = "{manifest}"
[output]
dir = "{run_dir}"
save_every = 2
""")


def adapter(run_dir):
    return load_file(os.path.join(run_dir, "adapter", "adapter_model.safetensors"))


def rel(a, b):
    scale = max(max(np.abs(v).max() for v in b.values()), 1e-30)
    return max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max() for k in b) / scale


def train(a, out):
    clips = os.path.join(TINY, "clips")
    manifest = os.path.join(out, "ac.jsonl")
    with open(manifest, "w") as f:
        for clip, text in (("speech.wav", "a voice hums"), ("tone.wav", "a steady tone"),
                           ("noise_pluck.wav", "noise and a pluck")):
            f.write(json.dumps({"task": "ac", "audio": os.path.join(clips, clip), "target": text}) + "\n")
    trainer = os.path.join(a.bin, "trainer")
    model = os.path.join(TINY, "model")

    def go(name, device, dtype, ckpt=True, stop=None):
        cfg = os.path.join(out, name + ".toml")
        run_dir = os.path.join(out, name)
        train_config(cfg, model, manifest, run_dir, device, dtype, 4, ckpt)
        cmd = [trainer, "--config", cfg] + (["--stop-at-step", str(stop)] if stop else [])
        run(cmd, os.path.join(out, name + f".{stop or 4}.log"))
        return run_dir

    for d in ("cpu", "dev", "dev_nock", "dev_resumed", "dev_bf16"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    cpu = adapter(go("cpu", "cpu", "f32"))
    dev = adapter(go("dev", a.device, "f32"))
    row("train lora f32 device vs cpu", "4 steps", rel(dev, cpu), 1e-4)
    row("train lora f32 no checkpointing", "4 steps", rel(adapter(go("dev_nock", a.device, "f32", ckpt=False)), cpu), 1e-4)
    go("dev_resumed", a.device, "f32", stop=2)
    resumed = adapter(go("dev_resumed", a.device, "f32"))
    row("train resume 2+2 vs 4 (device)", "bit-exact", rel(resumed, dev), 0.0)
    row("train lora bf16 base vs f32", "4 steps", rel(adapter(go("dev_bf16", a.device, "bf16")), cpu), 5e-2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    failed = []
    for part in (forward, train):
        try:
            part(a, a.out)
        except Exception as e:  # a part that cannot run is reported, the others still run
            failed.append(f"{part.__name__}: {e}")
            print(f"{part.__name__}: did not run: {e}", flush=True)
    json.dump({"device": a.device, "rows": ROWS, "errors": failed}, open(os.path.join(a.out, "parity.json"), "w"), indent=1)
    bad = [r for r in ROWS if not r["pass"]]
    print(f"parity: {len(ROWS) - len(bad)} of {len(ROWS)} checks within bounds; {len(failed)} parts did not run")
    sys.exit(1 if bad or failed else 0)


if __name__ == "__main__":
    main()
