#!/usr/bin/env bash
# Where a training step goes, on the GPU machine, in one call: the CUDA training tests, bench-train
# of each shape plain (timing) and with MOE_TRAIN_PROFILE=1 (wall time per part of the step, each
# part waited for), and with NCU=1 the per-kernel GPU times of one step of the first shape (Nsight
# Compute, duration only), summed by kernel name. Prebuilt binaries (tools/gpu/prepare_prebuilt.sh).
#   MOE_PREBUILT=.device-carry/gpu SHAPES="lora-moonlight full-100m" NCU=1 bash .device-carry/gpu/tools/gpu/profile_train.sh
# TESTS= skips the tests, PLAIN=0 the plain timing runs.
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
P=${MOE_PREBUILT:-.device-carry/gpu}; L=$(cd "$P/lib" && pwd); BIN=$(cd "$P/bin" && pwd)
run() { LD_LIBRARY_PATH="$L" "$@"; }
src=$(cat "$P/source_dir.txt" 2>/dev/null || true)
if [ -n "$src" ] && [ ! -e "$src/tests/data" ]; then mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; cat "$P/commit.txt" "$P/worktree_status.txt"; date -u; } > "$OUT/env.txt" 2>&1
SHAPES=${SHAPES:-"lora-moonlight full-100m"}
if [ -n "${TESTS-*Train*}" ]; then
  echo "== test_cuda ${TESTS-*Train*}"
  run timeout 200 "$BIN/test_cuda" --gtest_filter="${TESTS-*Train*}" > "$OUT/test_cuda_train.log" 2>&1
  grep -E '^\[ *(PASSED|FAILED) *\]|Failure|init seed|Expected|Which is|NMSE|layer' "$OUT/test_cuda_train.log" | head -40
fi
for s in $SHAPES; do
  if [ "${PLAIN:-1}" = 1 ]; then  # PLAIN=0: the profile only (the timing came from run_gpu_suite.sh)
    echo "== bench-train $s"
    run timeout 200 "$BIN/moe-engine" bench-train --shapes "$s" --steps "${STEPS_N:-4}" --warmup 2 ${TRAIN_ARGS:-} \
      --json "$OUT/bench_train_$s.json" > "$OUT/bench_train_$s.log" 2>&1
    grep -E "ms/step|memory|loss |error" "$OUT/bench_train_$s.log"
  fi
  echo "== profile $s"
  MOE_TRAIN_PROFILE=1 run timeout 200 "$BIN/moe-engine" bench-train --shapes "$s" --steps 2 --warmup 1 ${TRAIN_ARGS:-} \
    > "$OUT/profile_train_$s.log" 2>&1
  sed -n '/step profile/,$p' "$OUT/profile_train_$s.log" | head -60
done
if [ -n "${NCU:-}" ]; then
  first=${SHAPES%% *}
  NCU_BIN=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  echo "== ncu kernel times, one step of $first"
  LD_LIBRARY_PATH="$L" timeout "${NCU_TIMEOUT:-240}" "$NCU_BIN" --clock-control none --cache-control none \
    --metrics gpu__time_duration.sum --csv --print-units base \
    "$BIN/moe-engine" bench-train --shapes "$first" --steps 1 --warmup 0 ${TRAIN_ARGS:-} > "$OUT/ncu_train.csv" 2> "$OUT/ncu_train.err"
  python3 - "$OUT/ncu_train.csv" <<'PY'
import csv, sys, collections
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))]
rows = [r for r in rows if r.get("Metric Name") == "gpu__time_duration.sum"]
tot = collections.defaultdict(float); cnt = collections.Counter()
for r in rows:
    k = r["Kernel Name"].split("(")[0][:100]
    tot[k] += float(r["Metric Value"].replace(",", "")) * 1e-6; cnt[k] += 1
all_ms = sum(tot.values())
print(f"{len(rows)} kernels, {all_ms:.1f} ms of GPU time (init and the GEMM-rate check included)")
for k, v in sorted(tot.items(), key=lambda kv: -kv[1])[:45]:
    print(f"{v:9.2f} ms {cnt[k]:6d}  {k}")
PY
  gzip -f "$OUT/ncu_train.csv"
fi
