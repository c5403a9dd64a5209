#!/usr/bin/env bash
# Builds the CUDA release binaries on this (GPU-less) machine and packs them for
# scripts/gpu/run.sh: gpu-pack/{trainer,eval}.xz, stripped and xz-compressed (about 14 MB each;
# the copy to a GPU machine must stay under 64 MiB). The build is scripts/ci_cuda.sh's (CUDA 13.0
# from pip wheels, kernels as compute_80 PTX, which the driver JIT-compiles for sm_80 … sm_90;
# trainer with NCCL). Then, on the GPU machine, from the repository root:
#     bash scripts/gpu/run.sh          (writes under $OUT, else runs/gpu)
# With the device tool: run(command="bash scripts/gpu/run.sh", carry=["gpu-pack"]).
set -euo pipefail
cd "$(dirname "$0")/../.."
CUDA_CI_SKIP_CLIPPY=1 bash scripts/ci_cuda.sh
target=${CARGO_TARGET_DIR:-target}
mkdir -p gpu-pack
for b in trainer eval; do
  strip -o "gpu-pack/$b" "$target/release/$b"
  xz -T0 -6 -f "gpu-pack/$b"
done
git rev-parse HEAD > gpu-pack/commit
du -ch gpu-pack/*
