#!/usr/bin/env bash
# Issue #12: the auxiliary-loss-free bias update shown on the trained demo model. The same short
# full fine-tune on code only (a domain the demo model routes unevenly) with the routing-bias step
# γ > 0 and γ = 0; MaxVio per layer over steps of both goes to docs/images/bias-demo-maxvio.png and
# a table to stdout (docs/training.md "The bias mechanism on the demo model").
#   tools/demo/bias_demo.sh [ENGINE] [CORPORA] [OUT]
# Defaults: build/bin/moe-engine, .device-carry/corpora (tools/demo/build_corpora.sh), /tmp/bias-demo.
# CPU, 2 cores: about 3 minutes per run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
engine=${1:-$repo/build/bin/moe-engine}
corpora=${2:-$repo/.device-carry/corpora}
out=${3:-/tmp/bias-demo}
gamma=${GAMMA:-0.01}
steps=${STEPS:-40}
mkdir -p "$out"
model=${MODEL:-$out/demo-model}   # MODEL=DIR: another checkpoint instead of the embedded demo
[ -n "${MODEL:-}" ] || "$engine" demo --out "$model" >&2
for g in "$gamma" 0; do
  run=$out/gamma-$g
  rm -rf "$run"
  cat > "$out/gamma-$g.toml" <<TOML
method = "full"
seed = 11
backend = "cpu"
model = "$model"
[data]
paths = ["$corpora/code=code"]
seq_len = 256
batch = 4
holdout = 0.01
[schedule]
steps = $steps
lr = 1e-4
warmup = 0
decay = "constant"
[objectives]
mtp_lambda = 0.3
balance_alpha = 0.0
bias_gamma = $g
[intervals]
eval = 100000
eval_tokens = 4096
checkpoint = 100000
keep_checkpoints = 1
TOML
  "$engine" train "$out/gamma-$g.toml" --out "$run" >&2
done
/usr/bin/python3 "$repo/tools/demo/plot_bias_demo.py" "$out/gamma-$gamma/history.jsonl" "$out/gamma-0/history.jsonl" \
  --labels "γ = $gamma" "γ = 0" --png "$repo/docs/images/bias-demo-maxvio.png"
