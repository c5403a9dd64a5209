#!/usr/bin/env bash
# Rebuilds the world's tiny base model (models/world-base) from nothing but this repository:
#   1. the "pretrain" world: a large procedural corpus (seed 1000), disjoint from the demo world;
#   2. a new random Qwen2-Audio-shaped model whose BPE tokenizer is trained on that world's text
#      (configs/world/base_spec.toml);
#   3. full finetuning on AC + the four probes (configs/world/pretrain.toml), then a second,
#      shorter stage weighted towards the probe learnt least (configs/world/pretrain_stage2.toml);
#   4. the merged result (bf16) copied to models/world-base;
#   5. the untrained (random) model and the base evaluated on the pretrain world's test split
#      (AC captioning, the four probes): models/world-base/eval/report.md shows the gain.
# About 90 minutes on 2 CPU cores. Run it again after an interruption: it continues.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p world -p trainer -p eval
./target/release/world generate --out runs/pretrain-world --config configs/world/pretrain_world.json --if-missing
if [ ! -f runs/pretrain/init/model.safetensors ]; then
  texts=()
  for t in ac acc adc vsc ser mic mgc; do texts+=(--texts-from "runs/pretrain-world/${t}_train.jsonl"); done
  ./target/release/trainer init-model --spec configs/world/base_spec.toml "${texts[@]}" --out runs/pretrain/init
fi
# (each stage resumes when interrupted; a finished one is not trained again: delete
# runs/pretrain to redo everything)
[ -f runs/pretrain/run/merged/model.safetensors ] || ./target/release/trainer --config configs/world/pretrain.toml
[ -f runs/pretrain/stage2/merged/model.safetensors ] || ./target/release/trainer --config configs/world/pretrain_stage2.toml
rm -rf models/world-base
mkdir -p models
cp -r runs/pretrain/stage2/merged models/world-base
for s in run:stage1 stage2:stage2; do
  cp "runs/pretrain/${s%%:*}/metrics.jsonl" "models/world-base/${s#*:}_metrics.jsonl"
  cp "runs/pretrain/${s%%:*}/loss.png" "models/world-base/${s#*:}_loss.png"
done

W=runs/pretrain-world
evaluate() { # name model-dir
  local r=runs/pretrain/eval-$1.json
  rm -f "$r"
  ./target/release/eval caption --model "$2" --manifest $W/ac_test.jsonl --dataset ac \
    --out "runs/pretrain/eval-$1/ac" --result "$r" --name "$1" --max-new-tokens 48
  for t in vsc ser mic mgc; do
    ./target/release/eval classify --model "$2" --task $t --manifest $W/${t}_test.jsonl \
      --out "runs/pretrain/eval-$1/$t" --result "$r" --name "$1"
  done
}
evaluate untrained runs/pretrain/init
evaluate base models/world-base
./target/release/eval report --base runs/pretrain/eval-untrained.json --runs runs/pretrain/eval-base.json \
  --out models/world-base/eval --title "World base model against its untrained initialisation"
cat models/world-base/eval/report.md
echo "models/world-base: $(du -sh models/world-base | cut -f1)"
