"""Golden fixture for LoRA training steps on the tiny Qwen2-Audio model.

Run from the repository root, after scripts/make_model_fixtures.py:

    /work/venv-ref/bin/python scripts/make_train_fixture.py

What it does (see tests/fixtures/train/README.md for the conventions the Rust trainer follows):
- builds three (clips, prompt, target) training samples from tests/fixtures/tiny/clips, tokenises
  them with the tiny model's Qwen2AudioProcessor and masks everything but the target tokens and
  the following <|im_end|> with -100;
- wraps tests/fixtures/tiny/model with peft LoRA (r=8, alpha=32, no dropout, language-model
  q/k/v/o/gate/up/down), gives every lora_B random N(0, 0.02) values and saves that starting
  adapter to tests/fixtures/train/adapter_init/;
- runs 3 AdamW steps (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.1, constant lr), each
  accumulating the gradients of all three samples (batch size 1 per micro-batch, token-weighted:
  micro-batch loss = sum of per-token CE / total label tokens of the group), then
  clip_grad_norm_(max_norm=1.0), then optimizer.step();
- records losses, grad norms, the adapter after steps 1 and 3, the step-1 gradients, one AdamW
  state, and the lr values of three warmup schedules into tests/fixtures/train/reference.safetensors
  and the configuration/sample metadata into tests/fixtures/train/fixture.json.
Deterministic on CPU; the generated files under tests/fixtures/train/ (not README.md) are overwritten.
"""

import json
import os
import shutil
import tempfile

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
import peft
import transformers
from peft import LoraConfig, get_peft_model
from safetensors.numpy import save_file
from safetensors.torch import load_file
from transformers import (
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

TINY = os.path.join("tests", "fixtures", "tiny")
MODEL_DIR = os.path.join(TINY, "model")
CLIP_DIR = os.path.join(TINY, "clips")
OUT = os.path.join("tests", "fixtures", "train")
ADAPTER_INIT = os.path.join(OUT, "adapter_init")
SR = 16000
SEED = 1234
IGNORE = -100

TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
LORA = dict(r=8, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, bias="none")
LORA_B_STD = 0.02
OPT = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
MAX_GRAD_NORM = 1.0
N_STEPS = 3
SNAPSHOT_STEPS = (1, 3)
ADAM_KEY = "base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"
SCHED = dict(num_warmup_steps=2, num_training_steps=10, n=10)

SAMPLES = [
    (["speech.wav"], "Describe the audio in a sentence.", "a man speaks while a tone plays"),
    (["speech.wav", "tone.wav"], "Tell me the similarities between the two audios.", "both have a steady sound"),
    (["tone.wav", "noise_pluck.wav"], "Tell me the difference between the second audio and the first one.", "the second adds a plucked string"),
]


def conversation(clip_files, prompt):
    content = [{"type": "audio", "audio_url": f} for f in clip_files]
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]


def build_sample(processor, clip_files, prompt, target):
    """Tokenise one sample; returns the processor inputs, labels and metadata."""
    tok = processor.tokenizer
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    audio = [sf.read(os.path.join(CLIP_DIR, f), dtype="float32")[0] for f in clip_files]
    templated = processor.apply_chat_template(conversation(clip_files, prompt), add_generation_prompt=True, tokenize=False)
    full = templated + target + "<|im_end|>\n"
    inputs = processor(text=full, audio=audio, sampling_rate=SR, return_tensors="pt")
    prompt_inputs = processor(text=templated, audio=audio, sampling_rate=SR, return_tensors="pt")
    ids = inputs["input_ids"][0]
    pids = prompt_inputs["input_ids"][0]
    assert torch.equal(inputs["feature_attention_mask"], prompt_inputs["feature_attention_mask"])
    P, T = pids.shape[0], ids.shape[0]
    assert torch.equal(ids[:P], pids), "full sequence does not start with the prompt tokens"
    # target tokens, then <|im_end|>, then "\n" (unlabelled)
    target_ids = tok(target, add_special_tokens=False)["input_ids"]
    nl_ids = tok("\n", add_special_tokens=False)["input_ids"]
    assert nl_ids == [int(ids[-1])], (nl_ids, int(ids[-1]))
    assert int(ids[T - 2]) == im_end, "expected <|im_end|> just before the final newline"
    assert ids[P : T - 2].tolist() == target_ids, "target tokenises differently in context"
    labels = torch.full_like(ids, IGNORE)
    labels[P : T - 1] = ids[P : T - 1]
    meta = {
        "clips": clip_files,
        "clip_samples": [int(a.shape[0]) for a in audio],
        "prompt": prompt,
        "target": target,
        "templated_prompt": templated,
        "full_text": full,
        "seq_len": T,
        "prompt_len": P,
        "label_start": P,
        "label_end_exclusive": T - 1,
        "label_tokens": T - 1 - P,
        "target_token_ids": target_ids,
        "feature_mask_sum": [int(v) for v in inputs["feature_attention_mask"].sum(-1)],
        "audio_tokens": int((ids == processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")).sum()),
    }
    inputs = dict(inputs)
    return inputs, labels, meta


def token_ce(logits, labels):
    """Per-token CE at the label positions (shift by one): returns (sum, count) with sum f32 (graph)."""
    shift_logits = logits[0, :-1, :]
    shift_labels = labels[1:]
    ce = F.cross_entropy(shift_logits.float(), shift_labels, ignore_index=IGNORE, reduction="sum")
    return ce, int((shift_labels != IGNORE).sum())


def adapter_state(peft_model):
    """The adapter exactly as save_pretrained writes it (PEFT key naming)."""
    with tempfile.TemporaryDirectory() as d:
        peft_model.save_pretrained(d)
        return {k: v.clone() for k, v in load_file(os.path.join(d, "adapter_model.safetensors")).items()}


def param_to_key(name):
    """PEFT parameter name (with adapter name) -> saved key."""
    assert ".default." in name, name
    return name.replace(".default.", ".")


def schedule_lrs():
    out = {}
    makers = {
        "cosine": lambda o: get_cosine_schedule_with_warmup(o, num_warmup_steps=SCHED["num_warmup_steps"], num_training_steps=SCHED["num_training_steps"]),
        "linear": lambda o: get_linear_schedule_with_warmup(o, num_warmup_steps=SCHED["num_warmup_steps"], num_training_steps=SCHED["num_training_steps"]),
        "constant": lambda o: get_constant_schedule_with_warmup(o, num_warmup_steps=SCHED["num_warmup_steps"]),
    }
    for name, mk in makers.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=OPT["lr"])
        sch = mk(opt)
        lrs = []
        for _ in range(SCHED["n"]):
            lrs.append(float(opt.param_groups[0]["lr"]))
            assert lrs[-1] == float(sch.get_last_lr()[0])
            opt.step()
            sch.step()
        out[name] = np.array(lrs, dtype=np.float64)
    return out


def main():
    torch.set_num_threads(2)
    # keep README.md; everything generated is rewritten
    if os.path.isdir(ADAPTER_INIT):
        shutil.rmtree(ADAPTER_INIT)
    os.makedirs(OUT, exist_ok=True)

    processor = Qwen2AudioProcessor.from_pretrained(MODEL_DIR)
    model = Qwen2AudioForConditionalGeneration.from_pretrained(MODEL_DIR, dtype=torch.float32, attn_implementation="eager")

    # dropout check: every dropout probability in the tiny config is 0, so train() == eval() numerically
    ac, tc = model.config.audio_config, model.config.text_config
    dropouts = {
        "audio.dropout": ac.dropout,
        "audio.attention_dropout": ac.attention_dropout,
        "audio.activation_dropout": ac.activation_dropout,
        "audio.encoder_layerdrop": ac.encoder_layerdrop,
        "text.attention_dropout": tc.attention_dropout,
    }
    assert all(v == 0.0 for v in dropouts.values()), dropouts
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))

    tensors = {}
    samples = []
    for i, (files, prompt, target) in enumerate(SAMPLES):
        inputs, labels, meta = build_sample(processor, files, prompt, target)
        samples.append((inputs, labels, meta))
        tensors[f"{i}.input_ids"] = inputs["input_ids"][0].numpy().astype(np.int64)
        tensors[f"{i}.labels"] = labels.numpy().astype(np.int64)
        tensors[f"{i}.feature_mask_sum"] = inputs["feature_attention_mask"].sum(-1).numpy().astype(np.int64)
        tensors[f"{i}.label_tokens"] = np.array([meta["label_tokens"]], dtype=np.int64)
        print(f"sample {i}: T={meta['seq_len']} P={meta['prompt_len']} label_tokens={meta['label_tokens']} L={meta['feature_mask_sum']}")
    total_label_tokens = sum(m["label_tokens"] for _, _, m in samples)

    # ---- LoRA
    torch.manual_seed(SEED)
    peft_model = get_peft_model(model, LoraConfig(**LORA))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, LORA_B_STD)
    trainable = [(n, p) for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all(("lora_A" in n or "lora_B" in n) for n, _ in trainable)
    n_frozen = sum(p.numel() for p in peft_model.parameters() if not p.requires_grad)
    n_train = sum(p.numel() for _, p in trainable)
    peft_model.save_pretrained(ADAPTER_INIT)
    readme = os.path.join(ADAPTER_INIT, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    init_state = adapter_state(peft_model)
    assert sorted(init_state) == sorted(param_to_key(n) for n, _ in trainable)

    # eval-mode losses (no grad) for the train/eval equality check
    peft_model.eval()
    eval_loss0 = []
    with torch.no_grad():
        for inputs, labels, _ in samples:
            s, n = token_ce(peft_model(**inputs).logits, labels)
            eval_loss0.append(float(s) / n)

    peft_model.train()
    params = [p for _, p in trainable]
    names = [n for n, _ in trainable]
    opt = torch.optim.AdamW(params, **OPT)
    steps_meta = []
    hf_vs_explicit = []
    for step in range(1, N_STEPS + 1):
        opt.zero_grad(set_to_none=True)
        group_sum = 0.0
        per_sample = []
        for i, (inputs, labels, meta) in enumerate(samples):
            out = peft_model(**inputs, labels=labels[None])
            ce_sum, n = token_ce(out.logits, labels)
            assert n == meta["label_tokens"]
            mean = float(ce_sum.detach()) / n
            hf_vs_explicit.append(abs(float(out.loss) - mean))
            per_sample.append(mean)
            (ce_sum / total_label_tokens).backward()
            group_sum += float(ce_sum.detach())
            if step == 1:
                tensors[f"{i}.loss0"] = np.array([mean], dtype=np.float64)
        group_loss = group_sum / total_label_tokens
        if step == 1:
            tensors.update({f"grad1.{param_to_key(n)}": p.grad.detach().numpy().astype(np.float32).copy() for n, p in trainable})
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm=MAX_GRAD_NORM))
        opt.step()
        tensors[f"step{step}.loss"] = np.array([group_loss], dtype=np.float64)
        tensors[f"step{step}.grad_norm"] = np.array([grad_norm], dtype=np.float64)
        clip_coef = min(1.0, MAX_GRAD_NORM / (grad_norm + 1e-6))
        steps_meta.append({"step": step, "loss": group_loss, "per_sample_mean_ce": per_sample, "grad_norm": grad_norm, "clipped": grad_norm > MAX_GRAD_NORM, "clip_coef": clip_coef})
        print(f"step {step}: loss {group_loss:.8f} per-sample {[round(x, 6) for x in per_sample]} grad_norm {grad_norm:.6f} clip_coef {clip_coef:.6f}")
        if step in SNAPSHOT_STEPS:
            st = adapter_state(peft_model)
            assert sorted(st) == sorted(init_state)
            for k, v in st.items():
                tensors[f"step{step}.{k}"] = v.numpy().astype(np.float32)

    adam_param = params[names.index(next(n for n in names if param_to_key(n) == ADAM_KEY))]
    state = opt.state[adam_param]
    assert float(state["step"]) == N_STEPS
    tensors["adam.exp_avg"] = state["exp_avg"].detach().numpy().astype(np.float32).copy()
    tensors["adam.exp_avg_sq"] = state["exp_avg_sq"].detach().numpy().astype(np.float32).copy()

    for name, lrs in schedule_lrs().items():
        tensors[f"sched.{name}"] = lrs
        print(f"sched.{name}", lrs.tolist())

    loss0 = [float(tensors[f"{i}.loss0"][0]) for i in range(len(SAMPLES))]
    train_eval_diff = max(abs(a - b) for a, b in zip(loss0, eval_loss0))
    print("HF labels= loss vs explicit mean CE, max abs diff:", max(hf_vs_explicit))
    print("train() vs eval() loss0, max abs diff:", train_eval_diff)

    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(tensors, os.path.join(OUT, "reference.safetensors"), metadata={"reference": f"transformers {transformers.__version__}, torch {torch.__version__}, peft {peft.__version__}"})

    info = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "peft": peft.__version__,
        "model": MODEL_DIR,
        "attn_implementation": "eager",
        "mode": "train() (all dropout/layerdrop probabilities are 0; train and eval losses agree)",
        "dropouts_checked": dropouts,
        "train_vs_eval_loss0_max_abs_diff": train_eval_diff,
        "seed": SEED,
        "lora": {**{k: v for k, v in LORA.items()}, "scaling": LORA["lora_alpha"] / LORA["r"], "lora_B_init": f"normal(0, {LORA_B_STD}) after get_peft_model", "lora_A_init": "peft default (kaiming_uniform a=sqrt(5)); load adapter_init/"},
        "trainable_params": n_train,
        "frozen_params": n_frozen,
        "optimizer": {"type": "torch.optim.AdamW", **OPT, "amsgrad": False, "schedule": "constant (no scheduler)"},
        "max_grad_norm": MAX_GRAD_NORM,
        "steps": N_STEPS,
        "accumulation": "each step: zero grads; for each sample (batch size 1): backward(sum of per-token CE / total label tokens of all samples); clip_grad_norm_; AdamW step",
        "total_label_tokens": total_label_tokens,
        "ignore_index": IGNORE,
        "hf_loss_vs_explicit_mean_ce_max_abs_diff": max(hf_vs_explicit),
        "samples": [m for _, _, m in samples],
        "step_results": steps_meta,
        "adam_state_param": ADAM_KEY,
        "schedules": {**SCHED, "base_lr": OPT["lr"], "note": "sched.<name>[k] = lr used by optimizer step k (k = 0..9), i.e. after k scheduler.step() calls"},
    }
    with open(os.path.join(OUT, "fixture.json"), "w") as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    size = os.path.getsize(os.path.join(OUT, "reference.safetensors"))
    print("reference.safetensors bytes:", size)
    for k, v in sorted(tensors.items()):
        if not (k.startswith("step1.base") or k.startswith("step3.base") or k.startswith("grad1.")):
            print(k, v.dtype, list(v.shape))


if __name__ == "__main__":
    main()
