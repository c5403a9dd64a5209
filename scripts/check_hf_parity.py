"""Does `transformers` (and PEFT, for an adapter) give our numbers on a checkpoint we wrote?

Run from the repository root with the reference environment, after `cargo build --release -p eval`:

    /work/venv-ref/bin/python scripts/check_hf_parity.py --model DIR [--adapter DIR] \
        --audio a.wav [--audio b.wav] [--prompt "Describe the audio in a sentence."]
    /work/venv-ref/bin/python scripts/check_hf_parity.py --model VL_DIR [--adapter DIR] \
        --image a.png [--image b.png] --prompt "What is shown?"

It loads DIR with `Qwen2AudioForConditionalGeneration` + `AutoProcessor` (eager attention, f32,
CPU) — or, with --image, `Qwen2VLForConditionalGeneration` with the slow (PIL)
`Qwen2VLImageProcessor` —, and the adapter with `PeftModel.from_pretrained` (which must find every key: unexpected or
missing adapter keys fail the check), runs the chat-templated prompt, runs our
`eval generate --dump-logits` on the same inputs, and prints the max |difference| of the logits
and whether the input ids agree. Exit status 1 when the ids differ or the logits differ by more
than --tol (default 1e-4).

Used for: checkpoints written by `trainer init-model` (model::init), merged models and PEFT
adapters exported by the trainer.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import torch
from safetensors.numpy import load_file
from PIL import Image
from transformers import AutoProcessor, AutoTokenizer, Qwen2AudioForConditionalGeneration, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.path.join(ROOT, "target", "release", "eval")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--audio", action="append", default=[])
    ap.add_argument("--image", action="append", default=[])
    ap.add_argument("--prompt", default="Describe the audio in a sentence.")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    if bool(a.audio) == bool(a.image):
        sys.exit("give --audio (Qwen2-Audio) or --image (Qwen2-VL)")
    cls = Qwen2VLForConditionalGeneration if a.image else Qwen2AudioForConditionalGeneration
    model = cls.from_pretrained(a.model, attn_implementation="eager").eval()
    if a.adapter:
        from peft import PeftModel
        from peft.utils import load_peft_weights, set_peft_model_state_dict

        model = PeftModel.from_pretrained(model, a.adapter).eval()
        res = set_peft_model_state_dict(model, load_peft_weights(a.adapter))
        unexpected = list(res.unexpected_keys)
        missing = [k for k in res.missing_keys if "lora_" in k]
        print(f"peft: {len(unexpected)} unexpected, {len(missing)} missing adapter keys")
        if unexpected or missing:
            print("unexpected:", unexpected[:5], "missing:", missing[:5])
            sys.exit(1)
    if a.image:
        processor = Qwen2VLProcessor(
            image_processor=Qwen2VLImageProcessor.from_pretrained(a.model),
            tokenizer=AutoTokenizer.from_pretrained(a.model),
            video_processor=Qwen2VLVideoProcessor.from_pretrained(a.model),
            chat_template=AutoProcessor.from_pretrained(a.model).chat_template,
        )
        content = [{"type": "image"} for _ in a.image] + [{"type": "text", "text": a.prompt}]
        text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False)
        images = [Image.open(p).convert("RGB") for p in a.image]
        inputs = processor(text=[text], images=images, return_tensors="pt")
    else:
        processor = AutoProcessor.from_pretrained(a.model)
        content = [{"type": "audio", "audio_url": p} for p in a.audio] + [{"type": "text", "text": a.prompt}]
        text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False)
        audio = [sf.read(p, dtype="float32")[0] for p in a.audio]
        inputs = processor(text=text, audio=audio, sampling_rate=16000, return_tensors="pt", padding=True)
    with torch.no_grad():
        ref = model(**inputs).logits[0].float().numpy()
    ref_ids = inputs["input_ids"][0].numpy()

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ours.safetensors")
        cmd = [EVAL, "generate", "--model", a.model, "--prompt", a.prompt, "--max-new-tokens", "1", "--dump-logits", out]
        for p in a.audio:
            cmd += ["--audio", p]
        for p in a.image:
            cmd += ["--image", p]
        if a.adapter:
            cmd += ["--adapter", a.adapter]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        ours = load_file(out)
    same_ids = ours["input_ids"].shape == ref_ids.shape and bool((ours["input_ids"] == ref_ids).all())
    diff = float(np.abs(ours["logits"] - ref).max()) if same_ids else float("inf")
    print(f"tokens {len(ref_ids)}, input ids identical: {same_ids}, max |logit diff| {diff:.3g} (logit scale {float(np.abs(ref).max()):.3g})")
    sys.exit(0 if same_ids and diff <= a.tol else 1)


if __name__ == "__main__":
    main()
