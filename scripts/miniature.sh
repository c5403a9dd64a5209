#!/usr/bin/env bash
# The ACC paper's experiment in miniature (science.md §1): the world's tiny base model,
# LoRA-finetuned on AC, ADC, ACC, AC+ACC and AC+ADC with one recipe (configs/demo.toml: same
# steps, batch, learning rate and seed for every run; only the training data differs), each
# evaluated on AC/ACC/ADC captioning and the four probes, then one table and one chart:
#   runs/mini/report/report.{md,json,png}
# About 15 minutes on 2 CPU cores. Re-running reuses finished runs and the base's evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p trainer -p eval
W=runs/world
set_of() { # task:manifest-stem ... → a TOML array of data sets with equal weights
  local out="" t
  for t in "$@"; do out+="{task=\"${t%%:*}\",manifest=\"$W/${t#*:}_train.jsonl\"},"; done
  echo "[${out%,}]"
}
run() { # name task:stem...
  local name=$1; shift
  local dir=runs/mini/$name
  if [ -f "$dir/eval/$name.json" ]; then echo "$name: done already"; return; fi
  ./target/release/trainer --config configs/demo.toml \
    --set "output.dir=\"$dir\"" --set "eval.name=\"$name\"" \
    --set "data.train=$(set_of "$@")" > "runs/mini/$name.log" 2>&1 \
    || { echo "$name failed: see runs/mini/$name.log" >&2; exit 1; }
  echo "$name: $(grep -c '"step"' "$dir/metrics.jsonl") steps"
}
mkdir -p runs/mini
run ac ac:ac
run adc adc:adc
run acc acc:acc
run ac_acc ac:ac acc:acc
run ac_adc ac:ac adc:adc
names=(ac adc acc ac_acc ac_adc)
results=()
for n in "${names[@]}"; do results+=("runs/mini/$n/eval/$n.json"); done
./target/release/eval report --base runs/world-base-eval.json --runs "${results[@]}" --out runs/mini/report \
  --title "The ACC experiment in miniature (tiny base, procedural world)" \
  --metrics bleu_4,meteor,rouge_l,cider_d,spider
cat runs/mini/report/report.md
