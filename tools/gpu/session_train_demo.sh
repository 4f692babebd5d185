#!/usr/bin/env bash
# One GPU call for issues #11-#13: unpack the prebuilt engine and the corpora, then the training-core
# check (fixtures, CUDA training/speculative tests, grad on CUDA vs the fixtures, tiny LoRA run) and
# the demo model's training (tools/demo/train_demo.sh), then plain vs speculative decode on the demo.
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
tar -C .device-carry -xJf .device-carry/gpu.tar.xz && tar -C .device-carry -xJf .device-carry/corpora.tar.xz
P=.device-carry/gpu; L=$(cd "$P/lib" && pwd)
src=$(cat "$P/source_dir.txt"); [ -e "$src/tests/data" ] || { mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; }
( FIXTURES=.device-carry/fx/train_fixtures.py MOE_PREBUILT=$P bash tools/gpu/train_check.sh > "$OUT/train_check.log" 2>&1 ) &
check=$!
LD_LIBRARY_PATH="$L" timeout 90 "$P/bin/test_cuda" --gtest_filter='*Speculative*' > "$OUT/test_cuda_spec.log" 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]' "$OUT/test_cuda_spec.log"
DEMO_ARGS="--max-minutes ${DEMO_MINUTES:-4}" bash tools/demo/train_demo.sh
LD_LIBRARY_PATH="$L" timeout 60 "$P/bin/moe-engine" bench --speculative --model /tmp/demo-export --backend cuda \
  > "$OUT/bench_spec_demo.txt" 2>&1; echo "bench spec rc=$?"; tail -12 "$OUT/bench_spec_demo.txt"
wait $check; cat "$OUT/train_check.log" | tail -40
