#!/usr/bin/env python3
"""Extra golden outputs of Pillow's bicubic resize for crates/vision/tests/resize_parity.rs.

    /path/to/venv-ref/bin/python scripts/make_resize_cases.py   # Pillow 13.0.0

The fixture images of tests/fixtures/vision exercise one size each; this file covers the
branches of Pillow 13's `ImagingResampleInner` on noise images: one pass only (either
direction, up or down), both passes in either order (vertical first when the height shrinks
by more than twice as many pixels as the width), strong downscaling (wide kernels), single
pixel outputs and inputs. Writes crates/vision/tests/data/resize_cases.safetensors: the inputs
`input.<w>x<h>` and per case `<case>.output`, uint8 [H, W, 3]; the metadata maps each case
to its input's name (and records the Pillow version under `pillow`).
"""

from pathlib import Path

import numpy as np
import PIL
from PIL import Image
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent.parent / "crates/vision/tests/data"

CASES = [
    # name, input (w, h), output (w, h)
    ("v_down", (47, 31), (47, 10)),
    ("v_up", (47, 31), (47, 70)),
    ("h_down", (47, 31), (20, 31)),
    ("h_up", (47, 31), (100, 31)),
    ("vfirst", (47, 31), (44, 10)),  # 21 > 2 * 3: vertical pass first
    ("vfirst_upx", (47, 31), (150, 3)),
    ("hfirst", (47, 31), (25, 15)),  # 16 <= 2 * 22: horizontal pass first
    ("hfirst_upy", (47, 31), (9, 80)),
    ("tiny", (47, 31), (5, 3)),
    ("one", (47, 31), (1, 1)),
    ("from_one", (1, 1), (5, 4)),
    ("thin", (3, 250), (28, 2)),
]


def main():
    rng = np.random.default_rng(0)
    out = {}
    meta = {"pillow": PIL.__version__}
    inputs = {}
    for name, (w, h), (ow, oh) in CASES:
        if (w, h) not in inputs:
            # Noise plus a gradient: every tap and every rounding matters.
            noise = rng.integers(0, 256, size=(h, w, 3))
            ramp = np.linspace(0, 255, w)[None, :, None]
            inputs[(w, h)] = np.clip(0.5 * noise + 0.5 * ramp, 0, 255).astype(np.uint8)
        src = inputs[(w, h)]
        res = Image.fromarray(src, "RGB").resize((ow, oh), resample=Image.BICUBIC)
        out[f"input.{w}x{h}"] = src
        out[f"{name}.output"] = np.asarray(res).copy()
        meta[name] = f"input.{w}x{h}"
    save_file(out, str(HERE / "resize_cases.safetensors"), metadata=meta)
    print("wrote", HERE / "resize_cases.safetensors", "Pillow", PIL.__version__)


if __name__ == "__main__":
    main()
