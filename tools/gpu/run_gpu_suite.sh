#!/usr/bin/env bash
# One GPU run: build (Release, build-gpu/), the CUDA tests, `moe-engine bench`, the HF transformers
# reference on the same shapes, `moe-engine bench-train` and its PyTorch baseline (step `train`), and
# short tables at the end. Logs and JSON go to $OUT.
#
#   bash tools/gpu/run_gpu_suite.sh                 # on a machine with nvcc, cmake, ninja and the engine's deps
#   MOE_PREBUILT=.device-carry/gpu bash tools/gpu/run_gpu_suite.sh
#       uses binaries built elsewhere: $MOE_PREBUILT/bin/{test_cuda,moe-engine} and the shared
#       libraries they need in $MOE_PREBUILT/lib (the lent GPU machine has no pcre2/utf8proc headers),
#       and source_dir.txt naming the checkout they were built in. tools/gpu/prepare_prebuilt.sh makes it.
# Knobs: STEPS="tests bench hf" (any subset, plus "train" and "profile"), BENCH_ARGS (extra `bench`
#        options), HF_MODELS (default: the two shapes with targets), GTEST_FILTER,
#        TRAIN_SHAPES (default "lora-moonlight full-100m"), TRAIN_ARGS (options for both bench-train
#        and bench/hf_train_reference.py: --seq-len, --steps, --warmup, --checkpoint-layers),
#        HF_TRAIN_ARGS (the baseline only, e.g. --experts-implementation eager).
#   STEPS="train" MOE_PREBUILT=$D bash $D/tools/gpu/run_gpu_suite.sh     # the training benchmarks alone
set -uo pipefail
# The scripts next to this one (a carried copy may be newer than the checkout's tools/ and bench/).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$PWD/out}
LIBS=""
run() { LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
mkdir -p "$OUT"
STEPS=${STEPS:-"tests bench hf"}
HF_MODELS=${HF_MODELS:-"moonlight-16b-a3b r1-distill-qwen-1.5b"}
export PYTHONUNBUFFERED=1
status=0

{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv; git rev-parse HEAD 2>/dev/null;
  [ -n "${MOE_PREBUILT:-}" ] && cat "$MOE_PREBUILT/commit.txt" "$MOE_PREBUILT/worktree_status.txt" 2>/dev/null; date -u; } \
  | tee "$OUT/env.txt"

if [ -n "${MOE_PREBUILT:-}" ]; then
  BIN=$MOE_PREBUILT/bin
  # Only our binaries see the carried libraries (python3 keeps the system's libssl / libz).
  LIBS="$(cd "$MOE_PREBUILT/lib" && pwd)"
  # The tests find their fixtures through the absolute source path they were built in
  # ($MOE_PREBUILT/source_dir.txt): point that path at this checkout when it does not exist here.
  src=$(cat "$MOE_PREBUILT/source_dir.txt" 2>/dev/null || true)
  if [ -n "$src" ] && [ ! -e "$src/tests/data" ]; then mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; fi
else
  BIN=$PWD/build-gpu/bin
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOE_BUILD_GUI=OFF >"$OUT/configure.log" 2>&1 &&
    ninja -C build-gpu test_cuda moe-engine >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" "$OUT/configure.log"; exit 1; }
fi

if [[ " $STEPS " == *" tests "* ]]; then
  echo "== test_cuda"
  run "$BIN/test_cuda" --gtest_output="json:$OUT/test_cuda.json" ${GTEST_FILTER:+--gtest_filter=$GTEST_FILTER} \
    >"$OUT/test_cuda.log" 2>&1 || status=1
  grep -E '^\[ *(PASSED|FAILED|SKIPPED) *\]|PARITY|Failure|error' "$OUT/test_cuda.log" | head -60
fi

if [[ " $STEPS " == *" bench "* ]]; then
  echo "== moe-engine bench"
  BENCH=("$BIN/moe-engine" bench)
  run "$BIN/moe-engine" bench --help >/dev/null 2>&1 || BENCH=("$BIN/cuda_bench")  # until `bench` is registered
  run "${BENCH[@]}" --json "$OUT/bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log" || status=1
fi

if [[ " $STEPS " == *" profile "* ]]; then
  echo "== per-kernel decode profile (ncu)"
  for m in ${PROFILE_MODELS:-moonlight-16b-a3b}; do
    LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" BIN=$BIN MODEL=$m OUT=$OUT \
      timeout "${PROFILE_TIMEOUT:-240}" bash "$ROOT/tools/gpu/profile_decode.sh" 2>&1 | head -40 | tee -a "$OUT/profile.txt"
  done
fi

hf_json=()
if [[ " $STEPS " == *" hf "* ]]; then
  echo "== HF transformers reference"
  for m in $HF_MODELS; do
    python3 "$ROOT/bench/hf_reference.py" --model "$m" --json "$OUT/hf_$m.json" ${HF_ARGS:-} 2>&1 | tee -a "$OUT/hf.log"
    hf_json+=("$OUT/hf_$m.json")
  done
fi

if [[ " $STEPS " == *" train "* ]]; then
  echo "== moe-engine bench-train"
  shapes=${TRAIN_SHAPES:-"lora-moonlight full-100m"}
  run "$BIN/moe-engine" bench-train --shapes "${shapes// /,}" --json "$OUT/bench_train.json" ${TRAIN_ARGS:-} 2>&1 \
    | tee "$OUT/bench_train.log" || status=1
  echo "== PyTorch + transformers training baseline"
  hf_train_json=()
  for s in $shapes; do  # one process per shape: each starts with a clean GPU
    python3 "$ROOT/bench/hf_train_reference.py" --shape "$s" --json "$OUT/hf_train_$s.json" ${TRAIN_ARGS:-} \
      ${HF_TRAIN_ARGS:-} 2>&1 | tee -a "$OUT/hf_train.log"
    hf_train_json+=("$OUT/hf_train_$s.json")
  done
fi

echo "== summary"
if [[ " $STEPS " == *" bench "* || " $STEPS " == *" hf "* ]]; then
  python3 "$ROOT/bench/summarize.py" "$OUT/bench.json" "${hf_json[@]}" | tee "$OUT/summary.txt"
fi
if [[ " $STEPS " == *" train "* ]]; then
  python3 "$ROOT/bench/summarize_train.py" "$OUT/bench_train.json" "${hf_train_json[@]}" | tee "$OUT/summary_train.txt"
fi
exit $status
