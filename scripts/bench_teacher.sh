#!/usr/bin/env bash
# Time and peak memory of an offline teacher (`eval choice --teacher-out`, then training from
# the file) against an in-process one (`[distill] teacher_model`), on the training bench's model
# (scripts/bench_train.py's spec: encoder d 384 x 4, decoder 512 x 8) as both teacher and
# student, 48 multiple-choice items over the tiny fixture clips, 6 LoRA steps of 8 samples.
#
#   cargo build --release -p trainer -p eval && scripts/bench_teacher.sh
#
# Prints one line per phase: wall seconds and max RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
BIN=target/release
cat > "$T/spec.toml" <<'SPEC'
bpe_vocab = 600
seed = 3
[audio]
num_mel_bins = 80
d_model = 384
encoder_layers = 4
encoder_attention_heads = 6
encoder_ffn_dim = 1536
[text]
hidden_size = 512
num_hidden_layers = 8
num_attention_heads = 8
num_key_value_heads = 4
intermediate_size = 1408
SPEC
CLIPS=tests/fixtures/tiny/clips
classes=(voice tone pluck)
files=(speech.wav tone.wav noise_pluck.wav)
: > "$T/items.jsonl"
for i in $(seq 0 47); do
  k=$((i % 3))
  echo "{\"id\": \"c$i\", \"task\": \"objects\", \"audio\": \"$PWD/$CLIPS/${files[$k]}\", \"target\": \"${classes[$k]}\"}" >> "$T/items.jsonl"
done
$BIN/trainer init-model --spec "$T/spec.toml" --texts-from "$T/items.jsonl" --out "$T/model" >/dev/null
printf 'name = "objects"\nclasses = ["voice", "tone", "pluck", "bell"]\noptions = 4\nseed = 1\n' > "$T/task.toml"
config() { # $1: the [distill] teacher line, $2: run dir
  cat <<CFG
[model]
source = "$T/model"
[train]
lr = 1e-4
steps = 6
micro_batch = 8
seed = 1
[[data.train]]
task = "objects"
manifest = "$T/items.jsonl"
choice = "$T/task.toml"
condition = "audio"
[distill]
task = "objects"
$1
[output]
dir = "$2"
CFG
}
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$T/time" "$@" >/dev/null 2>"$T/log" || { cat "$T/log"; exit 1; }
  read -r secs kb < "$T/time"
  printf '%-40s %7.1f s  %6.0f MB\n' "$label" "$secs" "$((kb / 1024))"
}
measure "offline: eval choice --teacher-out" $BIN/eval choice --model "$T/model" --task "$T/task.toml" \
  --manifest "$T/items.jsonl" --condition audio --out "$T/teacher_eval" --teacher-out "$T/teacher.json"
config "teacher = \"$T/teacher.json\"" "$T/run_offline" > "$T/offline.toml"
measure "offline: training from the file" $BIN/trainer --config "$T/offline.toml"
config "teacher_model = \"$T/model\"
teacher_condition = \"audio\"" "$T/run_online" > "$T/online.toml"
measure "in-process teacher + training" $BIN/trainer --config "$T/online.toml"
