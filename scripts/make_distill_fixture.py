#!/usr/bin/env python3
"""Golden values for the distillation term (crates/finetune/src/distill.rs), from torch.

    /path/to/venv-ref/bin/python scripts/make_distill_fixture.py

Random student logits [N, V], the option letters' token ids, random teacher probabilities
[N, K]; for each loss (forward KL, reverse KL, JSD, label-only) at temperature T and weight w,
the summed term and its gradient with respect to the logits, written to
tests/fixtures/distill/reference.safetensors. KL uses torch's own `kl_div` (log targets) and
the label-only baseline `cross_entropy`, so the reference is not our formula rewritten.
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/distill"
N, V = 6, 23
LETTERS = [3, 7, 11, 15, 19]
T, W = 2.0, 0.5


def main():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    # Values exactly representable in f32 (what the Rust side reads), computed in f64.
    logits = (torch.randn(N, V, generator=g, dtype=torch.float64) * 2.0).float().double()
    teacher = torch.stack([torch.distributions.Dirichlet(torch.full((len(LETTERS),), 0.7, dtype=torch.float64)).sample() for _ in range(N)])
    # One teacher distribution with an exact zero (clamped to 1e-12 before the log).
    teacher[0] = torch.tensor([0.0, 0.5, 0.25, 0.25, 0.0], dtype=torch.float64)
    teacher = teacher.float().double()
    ids = torch.tensor(LETTERS)
    out = {"logits": logits.float(), "teacher": teacher.float(), "letters": ids.to(torch.int64),
           "params": torch.tensor([T, W], dtype=torch.float64)}

    def term(kind, x):
        z = x[:, ids] / T
        log_s = F.log_softmax(z, -1)
        log_t = F.log_softmax(teacher.clamp(1e-12, 1.0).log() / T, -1)
        if kind == "kl":
            return F.kl_div(log_s, log_t, log_target=True, reduction="sum") * W * T * T
        if kind == "reverse_kl":
            return F.kl_div(log_t, log_s, log_target=True, reduction="sum") * W * T * T
        if kind == "jsd":
            m = 0.5 * (log_t.exp() + log_s.exp())
            return 0.5 * (F.kl_div(m.log(), log_t, log_target=True, reduction="sum")
                          + F.kl_div(m.log(), log_s, log_target=True, reduction="sum")) * W * T * T
        if kind == "label":
            target = ids[teacher.argmax(-1)]
            return F.cross_entropy(x, target, reduction="sum") * W
        raise ValueError(kind)

    for kind in ["kl", "reverse_kl", "jsd", "label"]:
        x = logits.clone().requires_grad_(True)
        v = term(kind, x)
        v.backward()
        out[f"{kind}.value"] = v.detach().reshape(1)
        out[f"{kind}.grad"] = x.grad.float()
        print(kind, float(v.detach()))
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, str(OUT / "reference.safetensors"))


if __name__ == "__main__":
    main()
