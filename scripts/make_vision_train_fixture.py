#!/usr/bin/env python3
"""Golden fixture for LoRA training steps on the tiny Qwen2-VL (tests/fixtures/vision/model):
the visual side of tests/fixtures/train.

    /path/to/venv-ref/bin/python scripts/make_vision_train_fixture.py

Run after scripts/make_vision_fixtures.py. What it does:
- two training samples with images from tests/fixtures/vision/images (one image; two images),
  preprocessed by the slow Qwen2VLImageProcessor with the model's preprocessor_config.json,
  text = chat template (+ generation prompt) + target + "<|im_end|>\\n", labels on the target
  and its <|im_end|> (the final newline and everything before are -100), as the Rust trainer
  builds them;
- wraps the model with PEFT LoRA (r 8, alpha 32, no dropout) on the language model's
  q/k/v/o/gate/up/down AND the vision tower's qkv/proj/fc1/fc2 and the merger's two linears,
  gives every lora_B random N(0, 0.02) values and saves that adapter to
  tests/fixtures/vision/train/adapter_init/;
- runs 2 AdamW steps (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.1), each
  accumulating both samples (one per micro-batch; loss = Σ token CE / the step's label tokens),
  clip_grad_norm_(1.0), optimizer.step();
- records ids, labels, per-sample loss before training, step losses, grad norms, the step-1
  gradients and the adapter after 2 steps in tests/fixtures/vision/train/reference.safetensors.
"""

import json
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import Qwen2TokenizerFast, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures/vision"
OUT = FIX / "train"
IGNORE = -100
TARGETS = (
    r".*(language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
    r"|visual\.blocks.*\.(qkv|proj|fc1|fc2)|visual\.merger\.mlp\.(0|2))"
)
LORA = dict(r=8, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, bias="none")
OPT = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
STEPS = 2
SAMPLES = [
    (["alpha.png"], "Describe the picture.", "a wide picture with stripes"),
    (["small.png", "alpha.png"], "What differs?", "the second one is darker"),
]


def build(processor, files, prompt, target):
    images = [Image.open(FIX / "images" / f).convert("RGB") for f in files]
    content = [{"type": "image"} for _ in files] + [{"type": "text", "text": prompt}]
    templated = processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
    )
    full = templated + target + "<|im_end|>\n"
    enc = processor(text=[full], images=images, return_tensors="pt")
    pids = processor(text=[templated], images=images, return_tensors="pt")["input_ids"][0]
    ids = enc["input_ids"][0]
    P, T = len(pids), len(ids)
    assert torch.equal(ids[:P], pids)
    im_end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert int(ids[T - 2]) == im_end
    labels = torch.full_like(ids, IGNORE)
    labels[P : T - 1] = ids[P : T - 1]
    return dict(enc), labels


def main():
    torch.set_num_threads(2)
    shutil.rmtree(OUT / "adapter_init", ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    model_dir = FIX / "model"
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor.from_pretrained(model_dir),
        tokenizer=Qwen2TokenizerFast.from_pretrained(model_dir),
        video_processor=Qwen2VLVideoProcessor.from_pretrained(model_dir),
        chat_template=(model_dir / "chat_template.jinja").read_text(),
    )
    model = Qwen2VLForConditionalGeneration.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager"
    )
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    tensors = {}
    samples = []
    for i, (files, prompt, target) in enumerate(SAMPLES):
        enc, labels = build(processor, files, prompt, target)
        samples.append((enc, labels))
        tensors[f"{i}.input_ids"] = enc["input_ids"][0].to(torch.int64)
        tensors[f"{i}.labels"] = labels.to(torch.int64)
    total = sum(int((l[1:] != IGNORE).sum()) for _, l in samples)

    torch.manual_seed(1234)
    peft_model = get_peft_model(model, LoraConfig(**LORA))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn_like(p) * 0.02)
    peft_model.save_pretrained(OUT / "adapter_init")
    (OUT / "adapter_init/README.md").unlink(missing_ok=True)
    peft_model.train()
    params = {n.replace(".default.", "."): p for n, p in peft_model.named_parameters() if p.requires_grad}
    print(len(params), "trainable tensors;", sum(1 for k in params if "visual" in k), "visual")
    opt = torch.optim.AdamW(list(params.values()), **OPT)

    def ce(enc, labels):
        logits = peft_model(**enc).logits[0]
        return F.cross_entropy(logits[:-1].float(), labels[1:], ignore_index=IGNORE, reduction="sum")

    with torch.no_grad():
        for i, (enc, labels) in enumerate(samples):
            n = int((labels[1:] != IGNORE).sum())
            tensors[f"{i}.loss0"] = torch.tensor([float(ce(enc, labels)) / n], dtype=torch.float64)
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = 0.0
        for enc, labels in samples:
            l = ce(enc, labels) / total
            l.backward()
            loss += float(l.detach())
        if step == 1:
            for k, p in params.items():
                tensors[f"grad1.{k}"] = p.grad.detach().clone()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        tensors[f"step{step}.loss"] = torch.tensor([loss], dtype=torch.float64)
        tensors[f"step{step}.grad_norm"] = torch.tensor([float(norm)], dtype=torch.float64)
        print(f"step {step}: loss {loss:.6f} grad norm {float(norm):.6f}")
    with tempfile.TemporaryDirectory() as d:
        peft_model.save_pretrained(d)
        for k, v in load_file(str(Path(d) / "adapter_model.safetensors")).items():
            tensors[f"step{STEPS}.{k}"] = v.clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / "reference.safetensors"))
    meta = {
        "samples": [{"images": f, "prompt": p, "target": t} for f, p, t in SAMPLES],
        "lora": LORA,
        "optimizer": OPT,
        "steps": STEPS,
        "label_tokens": total,
        "trainable_tensors": len(params),
    }
    (OUT / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
