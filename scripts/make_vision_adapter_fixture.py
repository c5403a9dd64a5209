#!/usr/bin/env python3
"""A PEFT LoRA adapter on the tiny Qwen2-VL (tests/fixtures/vision/model) and its logits.

    /path/to/venv-ref/bin/python scripts/make_vision_adapter_fixture.py

Run after scripts/make_vision_fixtures.py. The adapter targets the language model's q_proj and
v_proj and the vision tower's qkv (PEFT 0.21 on transformers 4.57 names them by the new module
paths: base_model.model.model.language_model.layers.N..., base_model.model.model.visual...);
lora_B is random so the adapter changes the logits. Writes tests/fixtures/vision/adapter/ and
`adapter.one_image.logits` in tests/fixtures/vision/adapter_reference.safetensors.
"""

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import Qwen2VLForConditionalGeneration

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures/vision"


def main():
    torch.manual_seed(1)
    model = Qwen2VLForConditionalGeneration.from_pretrained(FIX / "model", dtype=torch.float32).eval()
    cfg = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=r".*(language_model.*\.(q_proj|v_proj)|visual.*\.qkv)",
        lora_dropout=0.0,
    )
    peft = get_peft_model(model, cfg)
    with torch.no_grad():
        for n, p in peft.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn_like(p) * 0.1)
    peft.save_pretrained(FIX / "adapter")
    (FIX / "adapter/README.md").unlink(missing_ok=True)  # PEFT's model card: not a fixture
    ref = load_file(str(FIX / "reference.safetensors"))
    ids = ref["one_image.input_ids"][None]
    with torch.no_grad():
        logits = peft(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            pixel_values=ref["wide.pixel_values"],
            image_grid_thw=ref["wide.grid_thw"],
        ).logits[0]
    save_file({"one_image.logits": logits.float().contiguous()}, str(FIX / "adapter_reference.safetensors"))
    keys = sorted(load_file(str(FIX / "adapter/adapter_model.safetensors")).keys())
    print(len(keys), keys[:2], keys[-2:])


if __name__ == "__main__":
    main()
