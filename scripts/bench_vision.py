"""Time our Qwen2-VL vision tower against transformers' (torch, CPU) on the same weights and
patches, with the same number of threads.

Run from the repository root with the reference environment:

    /work/venv-ref/bin/python scripts/bench_vision.py [--threads 2] [--repeats 5]

A random Qwen2-VL with a mid-size tower (embed 384 × 4 blocks, 6 heads, MLP ×4, merger → 512;
a one-layer text model, unused) is saved with save_pretrained into a temporary directory; the
patches are random, for one 448×448 image (32×32 patches → 256 tokens) and for four 224×224
images in one call (4 × 16×16). Each side runs the tower's forward only (best of --repeats);
ours runs in `target/release/examples/time_vision` (built here if missing); transformers runs
with its eager and its SDPA attention. Prints a table and the ratios (peer time / our time).
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import torch
from safetensors.torch import save_file
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "release", "examples", "time_vision")
CASES = {"1 × 448×448": [[1, 32, 32]], "4 × 224×224": [[1, 16, 16]] * 4}


def best(f, repeats):
    t = float("inf")
    for _ in range(repeats):
        s = time.perf_counter()
        f()
        t = min(t, time.perf_counter() - s)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if not os.path.exists(OURS):
        subprocess.run(["cargo", "build", "--release", "-p", "model", "--example", "time_vision"], check=True, cwd=ROOT)
    cfg = Qwen2VLConfig(
        vision_config=dict(depth=4, embed_dim=384, num_heads=6, mlp_ratio=4, hidden_size=512),
        text_config=dict(
            vocab_size=1000, hidden_size=512, intermediate_size=1024, num_hidden_layers=1,
            num_attention_heads=8, num_key_value_heads=4,
            rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]},
        ),
    )
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = Qwen2VLForConditionalGeneration(cfg).eval()
        model.save_pretrained(tmp)
        towers = {}
        for impl in ["eager", "sdpa"]:
            m = Qwen2VLForConditionalGeneration.from_pretrained(tmp, attn_implementation=impl, dtype=torch.float32).eval()
            towers[impl] = m.model.visual
        for name, grid in CASES.items():
            g = torch.tensor(grid, dtype=torch.int64)
            rows_n = int(g.prod(-1).sum())
            px = torch.randn(rows_n, 3 * 2 * 14 * 14)
            patches = os.path.join(tmp, "patches.safetensors")
            save_file({"pixel_values": px, "grid_thw": g}, patches)
            out = subprocess.run([OURS, tmp, patches, str(a.repeats)], check=True, capture_output=True, text=True, env=env)
            ours = json.loads(out.stdout)["seconds"]
            peers = {}
            for impl, tower in towers.items():
                with torch.no_grad():
                    peers[impl] = best(lambda: tower(px, grid_thw=g), a.repeats)
            rows.append((name, rows_n, ours, peers))
    print(f"threads {a.threads}, best of {a.repeats}, f32, CPU")
    print("| input | patches | ours | transformers eager | transformers SDPA | eager / ours | SDPA / ours |")
    print("|---|---|---|---|---|---|---|")
    for name, n, ours, p in rows:
        print(
            f"| {name} | {n} | {ours * 1e3:.1f} ms | {p['eager'] * 1e3:.1f} ms | {p['sdpa'] * 1e3:.1f} ms "
            f"| {p['eager'] / ours:.2f}× | {p['sdpa'] / ours:.2f}× |"
        )


if __name__ == "__main__":
    main()
