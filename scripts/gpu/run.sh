#!/usr/bin/env bash
# One go on a GPU machine (CUDA 13 driver, python3 with PyTorch, transformers, PEFT, numpy,
# safetensors, soundfile; no Rust, no registry), in at most 10 minutes:
#   1. the GPU, its driver, and the packed binaries (scripts/gpu/pack.sh) unpacked;
#   2. the CUDA parity checks (scripts/gpu/parity.py: forward f32/bf16 against transformers and
#      against our CPU path, LoRA training on the device against the CPU, resume, bf16 base);
#   3. the 7B-shaped benchmark, ours and transformers + PEFT (scripts/gpu/bench_7b.py);
#   4. one table (the last lines of the output). Everything is written under $OUT (else runs/gpu).
# CUDA's libraries (cuBLAS, cuRAND, NVRTC, NCCL) are taken from the Python wheels PyTorch uses.
# DEVICE (cuda:0) and BENCH_SPEC (7b) exist to try the script without a GPU: DEVICE=cpu
# BENCH_SPEC=small, with CPU binaries packed the same way.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/gpu}
PACK=${PACK:-gpu-pack}
DEVICE=${DEVICE:-cuda:0}
BENCH_SPEC=${BENCH_SPEC:-7b}
mkdir -p "$OUT"
BIN=$(mktemp -d)
for b in trainer eval; do
  xz -dc "$PACK/$b.xz" > "$BIN/$b" && chmod +x "$BIN/$b" || { echo "cannot unpack $PACK/$b.xz (run scripts/gpu/pack.sh first)"; exit 1; }
done
libs=$(python3 - <<'PY'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
dirs = {os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "**", "lib*.so*"), recursive=True)}
print(":".join(sorted(dirs)))
PY
)
# The driver's libcuda.so.1: where the loader finds it, else the usual mounts.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
  [ -e "$d/libcuda.so.1" ] && libs="$libs:$d"
done
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "commit (packed): $(cat "$PACK/commit" 2>/dev/null || echo unknown), tree: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"
  python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'
} 2>&1 | tee "$OUT/machine.txt"
status=0
timeout 200 python3 scripts/gpu/parity.py --bin "$BIN" --device "$DEVICE" --out "$OUT/parity" 2>&1 | tee "$OUT/parity.txt" || status=1
timeout 360 python3 scripts/gpu/bench_7b.py --bin "$BIN" --device "$DEVICE" --spec "$BENCH_SPEC" --out "$OUT/bench" 2>&1 | tee "$OUT/bench.txt" || status=1
echo
echo "== machine =="; cat "$OUT/machine.txt"
echo "== parity =="; tail -n 1 "$OUT/parity.txt"
echo "== benchmark =="; sed -n '/-shaped LoRA step/,$p' "$OUT/bench.txt"
exit $status
