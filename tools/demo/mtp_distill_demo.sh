#!/usr/bin/env bash
# Issue #13: MTP-head self-distillation shown on the demo model, on the CPU. Acceptance of the MTP
# drafts per domain on held-out chat prompts, before and after training only the MTP module on the
# model's own greedy chat replies (`moe-engine distill --chat`, then `train --method mtp-head`).
#   tools/demo/mtp_distill_demo.sh [ENGINE] [CORPORA] [OUT]
# Defaults: build/bin/moe-engine, .device-carry/corpora (tools/demo/build_corpora.sh), /tmp/mtp-distill.
# Writes docs/images/mtp-distill-acceptance.png and a Markdown table on stdout (docs/training.md).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
engine=${1:-$repo/build/bin/moe-engine}
corpora=${2:-$repo/.device-carry/corpora}
out=${3:-/tmp/mtp-distill}
train_prompts=${TRAIN_PROMPTS:-150}   # per domain
steps=${STEPS:-150}
mkdir -p "$out"
data=()
for d in code english math chinese dialogue; do data+=(--data "$corpora/$d=$d"); done
model=${MODEL:-$out/demo-model}
[ -n "${MODEL:-}" ] || "$engine" demo --out "$model" >&2
# Held-out prompts (another seed than the training prompts), 12 per domain.
"$engine" distill --model "$model" "${data[@]}" --out "$out/unused.jsonl" --new-tokens 0 --prompts 12 --seed 99 \
  --prompts-tsv "$out/eval.tsv" >&2
bench() {  # model, json
  "$engine" bench --speculative --model "$1" --prompts "$out/eval.tsv" --chat --decode-tokens 48 --backend cpu \
    --json "$2" > /dev/null
}
bench "$model" "$out/before.json"
"$engine" distill --model "$model" "${data[@]}" --out "$out/distill.jsonl" --chat --prompts "$train_prompts" \
  --new-tokens 64 --seed 1 --backend cpu >&2
rm -rf "$out/run" "$out/after-model"
"$engine" train --model "$model" --data "$out/distill.jsonl" --method mtp-head --steps "$steps" --seq-len 256 \
  --batch 4 --lr 1e-3 --seed 3 --backend cpu --out "$out/run" >&2
"$engine" export --run "$out/run" --out "$out/after-model" >&2
bench "$out/after-model" "$out/after.json"
/usr/bin/python3 "$repo/tools/demo/plot_mtp_acceptance.py" "$out/before.json" "$out/after.json" \
  --png "$repo/docs/images/mtp-distill-acceptance.png"
