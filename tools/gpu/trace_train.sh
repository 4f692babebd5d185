#!/usr/bin/env bash
# The GPU timeline of training steps (tools/gpu/trace/: CUPTI activity records, no Nsight Systems):
# per shape, bench-train under libcupti_trace.so, then gaps.py over the last full step: wall time,
# GPU busy and idle, which operations start late and what the host was doing meanwhile.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && SHAPES="lora-moonlight" bash tools/gpu/trace_train.sh
# TRAIN_ENV="MOE_GROUPED_FUSE=0" runs the bench with extra environment.
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
for s in ${SHAPES:-lora-moonlight full-100m}; do
  env ${TRAIN_ENV:-} CUPTI_TRACE_OUT="$OUT/trace_$s.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" \
    timeout 120 "$B/moe-engine" bench-train --shapes "$s" --steps 2 --warmup 1 >"$OUT/trace_$s.log" 2>&1
  echo "== trace $s: rc $? ($(wc -l < "$OUT/trace_$s.csv") records)"
  grep -E "ms/step|error" "$OUT/trace_$s.log" | head -3
  python3 "$(dirname "$0")/trace/gaps.py" "$OUT/trace_$s.csv" --top "${TOP:-40}" --kernels "${KERNELS:-30}" | tee "$OUT/gaps_$s.txt"
  xz -6 "$OUT/trace_$s.csv"
done
