#!/usr/bin/env python3
"""Greedy generation of the tiny Qwen2-VL (tests/fixtures/vision/model) on the fixtures' image
prompts: 20 new tokens each (end ids suppressed, `min_new_tokens=20`), as transformers 4.57's
`generate` makes them with M-RoPE and its KV cache.

    /path/to/venv-ref/bin/python scripts/make_vision_generate_fixture.py

Run after scripts/make_vision_fixtures.py; writes tests/fixtures/vision/generate.safetensors
(`<prompt>.greedy`, i64).
"""

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import Qwen2VLForConditionalGeneration

FIX = Path(__file__).resolve().parent.parent / "tests/fixtures/vision"
PROMPTS = {"one_image": ["wide"], "two_images": ["small", "alpha"]}


def main():
    model = Qwen2VLForConditionalGeneration.from_pretrained(FIX / "model", dtype=torch.float32).eval()
    ref = load_file(str(FIX / "reference.safetensors"))
    out = {}
    for name, images in PROMPTS.items():
        ids = ref[f"{name}.input_ids"][None]
        with torch.no_grad():
            gen = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pixel_values=torch.cat([ref[f"{i}.pixel_values"] for i in images]),
                image_grid_thw=torch.cat([ref[f"{i}.grid_thw"] for i in images]),
                max_new_tokens=20,
                min_new_tokens=20,
                do_sample=False,
            )
        out[f"{name}.greedy"] = gen[0, ids.shape[1]:].to(torch.int64).contiguous()
        print(name, out[f"{name}.greedy"].tolist())
    save_file(out, str(FIX / "generate.safetensors"))


if __name__ == "__main__":
    main()
