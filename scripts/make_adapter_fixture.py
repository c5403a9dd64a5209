"""Golden fixture for PEFT LoRA adapters on the tiny Qwen2-Audio model.

Run from the repository root, after scripts/make_model_fixtures.py:

    /work/venv-ref/bin/python scripts/make_adapter_fixture.py

Wraps tests/fixtures/tiny/model with peft 0.21 (LoRA r=4, alpha=8, on every linear layer of the
language model, by PEFT's regex form of target_modules), gives lora_B random values (PEFT
initialises it to zero, which would make the adapter a no-op), saves the adapter with
`save_pretrained` into tests/fixtures/tiny/adapter/ and records the adapted model's logits for
the `single` case in tests/fixtures/tiny/adapter_reference.safetensors (`single.logits` [T, V]).
"""

import json
import os

import numpy as np
import soundfile as sf
import torch
from peft import LoraConfig, get_peft_model
from safetensors.numpy import save_file
from transformers import Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor

TINY = os.path.join("tests", "fixtures", "tiny")
TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def main():
    torch.manual_seed(7)
    model_dir = os.path.join(TINY, "model")
    model = Qwen2AudioForConditionalGeneration.from_pretrained(model_dir, attn_implementation="eager").eval()
    processor = Qwen2AudioProcessor.from_pretrained(model_dir)
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, bias="none")
    peft_model = get_peft_model(model, cfg)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.2)
    out_dir = os.path.join(TINY, "adapter")
    peft_model.save_pretrained(out_dir)

    case = next(c for c in json.load(open(os.path.join(TINY, "cases.json")))["cases"] if c["name"] == "single")
    audio = [sf.read(os.path.join(TINY, "clips", f), dtype="float32")[0] for f in case["clips"]]
    inputs = processor(text=case["templated"], audio=audio, sampling_rate=16000, return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = peft_model(**inputs).logits[0].float().numpy()
        with peft_model.disable_adapter():
            plain = peft_model(**inputs).logits[0].float().numpy()
    print("adapter changes logits by up to", float(np.abs(logits - plain).max()))
    save_file({"single.logits": np.ascontiguousarray(logits)}, os.path.join(TINY, "adapter_reference.safetensors"))


if __name__ == "__main__":
    main()
