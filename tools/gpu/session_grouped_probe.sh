#!/usr/bin/env bash
# One device call: every CUDA test, the grouped-GEMM probe (tools/gpu/probes/grouped_gemm_probe.cu,
# built here into .device-carry/), then bench-train of both shapes with the step profile.
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_grouped_probe.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=/tmp/moe-run; mkdir -p $T
echo "== test_cuda"
start=$(date +%s)
timeout 260 "$B/test_cuda" >$T/t.log 2>&1
echo "test_cuda rc $? in $(( $(date +%s) - start )) s"
grep -E '^\[ *(PASSED|FAILED) *\]|Failure|nmse|NMSE|selection|Actual|Which is|Expected' $T/t.log | head -40
cp $T/t.log "$OUT/test_cuda.log"
echo "== grouped GEMM probe"
[ -x .device-carry/grouped_gemm_probe ] && timeout 90 .device-carry/grouped_gemm_probe 2>&1 | tail -25
echo "== the training ops and steps with MOE_EXPERT_GEMM=grouped"
MOE_EXPERT_GEMM=grouped timeout 100 "$B/test_cuda" --gtest_filter='*Train*:*Moe*:*Expert*' >$T/tg.log 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]|Failure|NMSE|selection' $T/tg.log | head -20
for s in lora-moonlight full-100m; do
  for mode in buckets grouped; do
    echo "== bench-train $s, MOE_EXPERT_GEMM=$mode"
    MOE_EXPERT_GEMM=$mode timeout 80 "$B/moe-engine" bench-train --shapes $s --steps 4 --warmup 2 \
      --json "$OUT/bench_train_${s}_$mode.json" >$T/bt_$s.log 2>&1
    grep -E "ms/step|tokens/s|peak|error" $T/bt_$s.log | head -6
  done
done
echo "== bench-train lora-moonlight --checkpoint-layers (grouped): the memory floor"
MOE_EXPERT_GEMM=grouped timeout 80 "$B/moe-engine" bench-train --shapes lora-moonlight --steps 3 --warmup 1 --checkpoint-layers \
  --json "$OUT/bench_train_lora_ckpt.json" >$T/bt_ckpt.log 2>&1
grep -E "ms/step|tokens/s|peak|error|GiB" $T/bt_ckpt.log | head -14
echo "== prefill, moonlight shape and qwen-1.5b, buckets vs grouped"
for mode in buckets grouped; do
  MOE_EXPERT_GEMM=$mode timeout 100 "$B/moe-engine" bench --models moonlight-16b-a3b,deepseek-v2-lite --prefill 512,2048 --contexts 512 --decode-tokens 8 \
    --repeats 3 --json "$OUT/prefill_$mode.json" >$T/pf_$mode.log 2>&1
  echo "-- $mode"; grep -iE "prefill|error" $T/pf_$mode.log | head -8
done
