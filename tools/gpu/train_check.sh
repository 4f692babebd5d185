#!/usr/bin/env bash
# One GPU run for the training core: the float64 autograd fixtures (tools/fixtures/train_fixtures.py),
# the CUDA tests (training ops and step first, then the inference suite as a regression check),
# `moe-engine grad --backend cuda` on the fixtures, a short CUDA fine-tune of the tiny fixture and, with
# EXTRA="bench", bench-train and its transformers baseline (EXTRA="regression": the inference CUDA tests too). Prebuilt binaries in $MOE_PREBUILT
# (tools/gpu/prepare_prebuilt.sh); results under $OUT.
#   MOE_PREBUILT=.device-carry/gpu FIXTURES=.device-carry/fx/train_fixtures.py \
#     bash tools/gpu/train_check.sh
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
P=${MOE_PREBUILT:-.device-carry/gpu}; L=$(cd "$P/lib" && pwd); BIN=$(cd "$P/bin" && pwd)
run() { LD_LIBRARY_PATH="$L" "$@"; }
src=$(cat "$P/source_dir.txt" 2>/dev/null || true)
if [ -n "$src" ] && [ ! -e "$src/tests/data" ]; then mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; cat "$P/commit.txt"; date -u; } > "$OUT/env.txt" 2>&1
export PYTHONUNBUFFERED=1
if [ -n "${FIXTURES:-}" ]; then
  ( timeout "${FIXTURE_TIMEOUT:-300}" python3 "$FIXTURES" --out /tmp/fx > "$OUT/fixtures.log" 2>&1;
    echo "fixtures rc=$?" >> "$OUT/fixtures.log"; tar -C /tmp/fx -czf "$OUT/train_fixtures.tar.gz" . ) &
fi
echo "== test_cuda (training)"
run timeout 300 "$BIN/test_cuda" --gtest_filter='*Train*:*OpTable*' > "$OUT/test_cuda_train.log" 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$OUT/test_cuda_train.log" | head -40
if [[ " ${EXTRA:-} " == *" regression "* ]]; then
  echo "== test_cuda (inference regression)"
  run timeout 240 "$BIN/test_cuda" --gtest_filter='-*Train*:*OpTable*' > "$OUT/test_cuda_rest.log" 2>&1
  grep -E '^\[ *(PASSED|FAILED) *\]' "$OUT/test_cuda_rest.log" | head -20
fi
echo "== train on cuda (tiny fixture, LoRA, 20 steps)"
run timeout 90 "$BIN/moe-engine" train --model tests/data/models/deepseek-v3-tiny --data tests/data/train_data/prose \
  --method lora --steps 20 --seq-len 64 --lr 1e-2 --backend cuda --out /tmp/run-tiny --json > "$OUT/train_tiny.jsonl" 2> "$OUT/train_tiny.err"
echo "rc=$?"; tail -2 "$OUT/train_tiny.err"
if [[ " ${EXTRA:-} " == *" bench "* ]]; then
  echo "== bench-train (ours), then the transformers baseline"
  run timeout "${BENCH_TIMEOUT:-150}" "$BIN/moe-engine" bench-train --shapes full-100m,lora-moonlight --steps 6 --warmup 2 \
    --json "$OUT/bench_train.json" > "$OUT/bench_train.log" 2>&1; echo "bench-train rc=$?"; tail -15 "$OUT/bench_train.log"
  for s in full-100m lora-moonlight; do
    timeout "${HF_TIMEOUT:-110}" python3 "$P/bench/hf_train_reference.py" --shape "$s" --steps 6 --warmup 2 \
      --json "$OUT/hf_train_$s.json" > "$OUT/hf_train_$s.log" 2>&1; echo "hf $s rc=$?"; tail -4 "$OUT/hf_train_$s.log"
  done
fi
wait
if [ -d /tmp/fx/train ]; then
  echo "== grad on cuda vs the fixtures"
  for c in /tmp/fx/train/*/; do n=$(basename "$c"); s="$c/settings.json"
    run timeout 60 "$BIN/moe-engine" grad --backend cuda --model "$c/model" --tokens "$c/tokens.json" \
      --mtp-lambda "$(python3 -c "import json;print(json.load(open('$s'))['mtp_lambda'])")" \
      --balance-alpha "$(python3 -c "import json;print(json.load(open('$s'))['balance_alpha'])")" \
      --out "/tmp/gradcuda/$n" > "$OUT/grad_cuda_$n.json" 2> "$OUT/grad_cuda_$n.err"; echo "$n rc=$?"
  done
  tar -C /tmp -czf "$OUT/grad_cuda.tar.gz" gradcuda 2>/dev/null
fi
tail -3 "$OUT/fixtures.log" 2>/dev/null
ls -la "$OUT"
