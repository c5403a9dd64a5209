#!/usr/bin/env python3
"""Golden fixtures for the vision modality (Qwen2-VL), from the pinned reference environment.

    /path/to/venv-ref/bin/pip install pillow==13.0.0            # not in the audio-era lock
    /path/to/venv-ref/bin/pip install --no-deps torchvision==0.26.0   # Qwen2VLProcessor needs a
                                                                     # video processor
    /path/to/venv-ref/bin/python scripts/make_vision_fixtures.py

Writes tests/fixtures/vision/:
  images/        procedurally drawn test images of odd sizes in PNG, JPEG and WebP (one with
                 alpha, one that smart_resize scales up, one it scales down)
  model/         a tiny random Qwen2VLForConditionalGeneration (f32, save_pretrained) with the
                 tiny audio fixture's BPE tokenizer plus the vision special tokens
  reference.safetensors, cases.json
                 per image: the RGB pixels PIL decoded (`<name>.rgb`, uint8 [H, W, 3]), the
                 PIL-bicubic resize the slow Qwen2VLImageProcessor makes (`<name>.resized`, uint8),
                 its pixel_values (`<name>.pixel_values`) and grid (`<name>.grid_thw`), the vision
                 tower's output (`<name>.visual`); the same for two images in one call
                 (`pair.*`); for an image prompt and a two-image prompt: input_ids, the 3-D
                 M-RoPE position ids of get_rope_index, and the logits at every position.

The slow processor (PIL bicubic with antialiasing) is the one the released checkpoints were
trained with; `Qwen2VLImageProcessorFast` (torchvision) differs by 1-2 levels on a few pixels
(shared/docs/reference-facts.md). This script builds the slow one explicitly.
"""

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer
from transformers import (
    Qwen2TokenizerFast,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
)
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/vision"
TINY_AUDIO = ROOT / "tests/fixtures/tiny/model"
VISION_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]

# Small pixel limits keep the tensors small; the sizes below exercise both directions.
MIN_PIXELS = 56 * 56
MAX_PIXELS = 28 * 28 * 48


def draw(w, h, seed, mode="RGB"):
    """A deterministic picture: a gradient, a few shapes and some noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack(
        [255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 128 + 100 * np.sin(x / 7.0 + y / 11.0)],
        axis=-1,
    )
    base += rng.normal(0, 12, size=base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(3, w // 2 + 4)), y0 + int(rng.integers(3, h // 2 + 4))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=fill)
    if mode == "RGBA":
        a = Image.fromarray((np.linspace(0, 255, w)[None, :].repeat(h, 0)).astype(np.uint8), "L")
        img = img.convert("RGBA")
        img.putalpha(a)
    return img


IMAGES = [
    # name, file, size, mode
    ("small", "small.png", (40, 30), "RGB"),  # below MIN_PIXELS: scaled up
    ("wide", "wide.jpg", (333, 97), "RGB"),
    ("large", "large.webp", (700, 500), "RGB"),  # above MAX_PIXELS: scaled down
    ("alpha", "alpha.png", (61, 45), "RGBA"),  # alpha dropped by convert("RGB")
]


def tiny_config(vocab, ids):
    return Qwen2VLConfig(
        vision_config=dict(
            depth=2,
            embed_dim=32,
            num_heads=4,
            mlp_ratio=2,
            hidden_size=64,
            in_channels=3,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
        ),
        text_config=dict(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
            tie_word_embeddings=False,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def tokenizer():
    tok = Tokenizer.from_file(str(TINY_AUDIO / "tokenizer.json"))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in VISION_TOKENS])
    fast = Qwen2TokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"] + VISION_TOKENS,
    )
    return fast


CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def main():
    torch.manual_seed(0)
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    tensors, cases = {}, {"images": [], "prompts": []}
    proc = Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    tok = tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in VISION_TOKENS}
    cfg = tiny_config(len(tok), ids)
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    # The init leaves LayerNorm weights at 1 and biases at 0; perturb every parameter a little
    # so that a wrong weight name or layout shows.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)

    pils = {}
    for i, (name, file, (w, h), mode) in enumerate(IMAGES):
        path = OUT / "images" / file
        img = draw(w, h, seed=10 + i, mode=mode)
        kw = {"quality": 90} if file.endswith((".jpg", ".webp")) else {}
        img.save(path, **kw)
        rgb = Image.open(path).convert("RGB")  # what the processor sees (alpha dropped)
        pils[name] = rgb
        out = proc(images=[rgb], return_tensors="pt")
        grid = out["image_grid_thw"][0]
        rh, rw = int(grid[1]) * 14, int(grid[2]) * 14
        resized = rgb.resize((rw, rh), resample=Image.BICUBIC)
        tensors[f"{name}.rgb"] = torch.from_numpy(np.asarray(rgb).copy())
        tensors[f"{name}.resized"] = torch.from_numpy(np.asarray(resized).copy())
        tensors[f"{name}.pixel_values"] = out["pixel_values"].float()
        tensors[f"{name}.grid_thw"] = out["image_grid_thw"].to(torch.int64)
        with torch.no_grad():
            vis = model.model.visual(out["pixel_values"], grid_thw=out["image_grid_thw"])
        tensors[f"{name}.visual"] = vis.float()
        cases["images"].append(
            {"name": name, "file": f"images/{file}", "size": [w, h], "resized": [rw, rh]}
        )

    # Two images in one call: attention stays within each image.
    pair = proc(images=[pils["small"], pils["wide"]], return_tensors="pt")
    tensors["pair.pixel_values"] = pair["pixel_values"].float()
    tensors["pair.grid_thw"] = pair["image_grid_thw"].to(torch.int64)
    with torch.no_grad():
        tensors["pair.visual"] = model.model.visual(
            pair["pixel_values"], grid_thw=pair["image_grid_thw"]
        ).float()

    processor = Qwen2VLProcessor(
        image_processor=proc,
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS),
        chat_template=CHAT_TEMPLATE,
    )
    prompts = [
        ("one_image", ["wide"], "Describe the picture."),
        ("two_images", ["small", "alpha"], "What differs?"),
    ]
    for name, imgs, text in prompts:
        content = [{"type": "image"} for _ in imgs] + [{"type": "text", "text": text}]
        templated = processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )
        enc = processor(text=[templated], images=[pils[n] for n in imgs], return_tensors="pt")
        with torch.no_grad():
            pos, _ = model.model.get_rope_index(
                enc["input_ids"], enc["image_grid_thw"], None, enc["attention_mask"]
            )
            logits = model(**enc).logits[0]
        tensors[f"{name}.input_ids"] = enc["input_ids"][0].to(torch.int64)
        tensors[f"{name}.position_ids"] = pos[:, 0, :].to(torch.int64)  # [3, T]
        tensors[f"{name}.logits"] = logits.float()
        cases["prompts"].append({"name": name, "images": imgs, "text": text, "templated": templated})

    model.save_pretrained(OUT / "model", safe_serialization=True)
    processor.save_pretrained(OUT / "model")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / "reference.safetensors"))
    cases["processor"] = {
        "class": "Qwen2VLImageProcessor (slow, PIL)",
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
        "pillow": Image.__version__,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
    }
    (OUT / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    print("wrote", OUT, sum(os.path.getsize(p) for p in OUT.rglob("*") if p.is_file()), "bytes")


if __name__ == "__main__":
    main()
