#!/usr/bin/env bash
# Where the expert GEMM time goes, kernel by kernel: the grouped-GEMM probe (cuBLAS ways and our
# tile kernel on one moonlight MoE layer's problems, .device-carry/grouped_gemm_probe built from
# tools/gpu/probes/), every kernel of one LoRA training step timed by Nsight Compute (duration only;
# ncu_step.csv, summed per kernel by tools/gpu/ncu_summary.py), and the batched-decode test in both
# expert GEMM modes, then bench-train and prefill in the default mode.
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_expert_profile.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
log() { tee -a "$OUT/profile.txt"; }
echo "== probe" | log; timeout 60 .device-carry/grouped_gemm_probe 2>&1 | tail -40 | log
for mode in buckets tiles; do
  MOE_EXPERT_GEMM=$mode timeout 60 "$B/test_cuda" --gtest_filter='CudaBatchedDecode*:ExpertBuckets*' >"$OUT/t_$mode.log" 2>&1
  echo "== batched decode tests ($mode): rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|nmse|Failure' "$OUT/t_$mode.log" | head -8
done | log
for shape in lora-moonlight full-100m; do
  timeout 80 "$B/moe-engine" bench-train --shapes $shape --steps 4 --warmup 2 --json "$OUT/bt_${shape}_auto.json" \
    >"$OUT/bt_$shape.log" 2>&1
  echo "== bench-train $shape (default mode): rc $?"; grep -E "ms/step|expert GEMM|error" "$OUT/bt_$shape.log" | head -4
done | log
timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 8 --repeats 3 \
  --json "$OUT/prefill_auto.json" >"$OUT/pf_auto.log" 2>&1
{ echo "== prefill (default mode): rc $?"; grep -iE "prefill|error" "$OUT/pf_auto.log" | head -4; } | log
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
echo "== ncu: $NCU" | log
MOE_EXPERT_GEMM=tiles timeout 300 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv \
  "$B/moe-engine" bench-train --shapes lora-moonlight --steps 1 --warmup 0 >"$OUT/ncu_step.csv" 2>"$OUT/ncu_step.err"
echo "ncu rc $? lines $(wc -l <"$OUT/ncu_step.csv")" | log
tail -3 "$OUT/ncu_step.err" | log
python3 "$(dirname "$0")/ncu_summary.py" "$OUT/ncu_step.csv" 2>&1 | head -60 | log
xz -9 "$OUT/ncu_step.csv"
