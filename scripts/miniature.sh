#!/usr/bin/env bash
# The ACC paper's experiment in miniature (science.md §1): the world's tiny base model,
# LoRA-finetuned on AC, ADC, ACC, AC+ACC and AC+ADC with one recipe (configs/demo.toml: same
# batch, learning rate and schedule for every run; only the training data, the length and the
# seed differ), each evaluated on AC/ACC/ADC captioning and the four probes.
#
# Every arm runs with several training seeds (SEEDS, default "42 43 44") at two training
# lengths (LENGTHS, default "40 pass"):
#   40    the demo's 40 optimizer steps;
#   pass  one full pass over the arm's training pairs: ceil(pairs / effective batch) steps.
# One report per length pools each arm's seeds into one row (mean ± spread over seeds, and
# the interval over seeds and clips):
#   runs/mini/report-<length>/report.{md,json,png}
# Runs go to runs/mini/<length>/<arm>/seed<S>. Seeds run outermost, so the first seed of every
# arm is done before the second starts. Re-running reuses finished runs and the base's
# evaluation. About 3 minutes per run on 2 CPU cores (30 runs with the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"42 43 44"}
LENGTHS=${LENGTHS:-"40 pass"}
BIN=${BIN:-target/release}
[ "$BIN" = target/release ] && cargo build --release -p trainer -p eval -p world
W=runs/world
# configs/demo.toml's [world] (the trainer would make it on its first run; the pass length
# needs the pair counts before that).
"$BIN/world" generate --out "$W" --size demo --seed 0 --if-missing
CONFIG=configs/demo.toml
value_of() { sed -n "s/^$1 *= *\([0-9]*\).*/\1/p" "$CONFIG" | head -1; }
BATCH=$(( $(value_of micro_batch) * $(value_of grad_accum) ))

set_of() { # task:manifest-stem ... → a TOML array of data sets with equal weights
  local out="" t
  for t in "$@"; do out+="{task=\"${t%%:*}\",manifest=\"$W/${t#*:}_train.jsonl\"},"; done
  echo "[${out%,}]"
}
pairs_of() { # task:manifest-stem ... → the number of training pairs
  local n=0 t
  for t in "$@"; do n=$(( n + $(wc -l < "$W/${t#*:}_train.jsonl") )); done
  echo "$n"
}
run() { # length seed name task:stem...
  local length=$1 seed=$2 name=$3; shift 3
  local dir=runs/mini/$length/$name/seed$seed
  if [ -f "$dir/eval/$name.json" ]; then echo "$length $name seed $seed: done already"; return; fi
  local steps=$length
  if [ "$length" = pass ]; then
    steps=$(( ($(pairs_of "$@") + BATCH - 1) / BATCH ))
  fi
  mkdir -p "$dir"
  local t0=$SECONDS
  "$BIN/trainer" --config "$CONFIG" \
    --set "output.dir=\"$dir\"" --set "eval.name=\"$name\"" \
    --set "train.seed=$seed" --set "train.steps=$steps" \
    --set "data.train=$(set_of "$@")" > "$dir.log" 2>&1 \
    || { echo "$length $name seed $seed failed: see $dir.log" >&2; exit 1; }
  echo "$length $name seed $seed: $steps steps, $((SECONDS - t0)) s"
}
for seed in $SEEDS; do
  for length in $LENGTHS; do
    run "$length" "$seed" ac ac:ac
    run "$length" "$seed" adc adc:adc
    run "$length" "$seed" acc acc:acc
    run "$length" "$seed" ac_acc ac:ac acc:acc
    run "$length" "$seed" ac_adc ac:ac adc:adc
  done
done
for length in $LENGTHS; do
  results=()
  for n in ac adc acc ac_acc ac_adc; do
    for seed in $SEEDS; do results+=("runs/mini/$length/$n/seed$seed/eval/$n.json"); done
  done
  what=$([ "$length" = pass ] && echo "one pass over each arm's pairs" || echo "$length steps")
  "$BIN/eval" report --base runs/world-base-eval.json --runs "${results[@]}" \
    --out "runs/mini/report-$length" \
    --title "The ACC experiment in miniature: $what, seeds $SEEDS" \
    --metrics bleu_4,meteor,rouge_l,cider_d,spider
  cat "runs/mini/report-$length/report.md"
done
