#!/usr/bin/env bash
# Where the expert GEMM time goes and which tile of our grouped kernel is fastest: the kernel's test
# (every tile variant), the grouped-GEMM probe (.device-carry/grouped_gemm_probe built from
# tools/gpu/probes/: cuBLAS ways and every tile variant on one moonlight MoE layer's problems),
# bench-train in the default mode, with the LoRA-rank tiles (MOE_GROUPED_RANK_TILES=1) and with other wide
# tiles (MOE_GROUPED_TILE), the batched-decode test
# in the default expert GEMM mode, prefill in the default mode, the transformers LoRA baseline. With
# NCU=1, every kernel of one LoRA step timed by Nsight Compute (ncu_step.csv.xz, tools/gpu/ncu_summary.py).
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_expert_profile.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
L=$OUT/logs; mkdir -p "$L"
log() { tee -a "$OUT/profile.txt"; }
bt() {  # shape tag [env...]
  local shape=$1 tag=$2; shift 2
  env "$@" timeout 80 "$B/moe-engine" bench-train --shapes $shape --steps 4 --warmup 2 --json "$L/bt_${shape}_$tag.json" \
    >"$L/bt_${shape}_$tag.log" 2>&1
  echo "== bench-train $shape $tag: rc $?"; grep -E "ms/step|error" "$L/bt_${shape}_$tag.log" | head -3
}
timeout 60 "$B/test_cuda" --gtest_filter='*CudaGroupedGemm*' >"$L/t_grouped.log" 2>&1
{ echo "== grouped GEMM test: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|variant' "$L/t_grouped.log" | head -12; } | log
echo "== probe" | log; timeout 60 .device-carry/grouped_gemm_probe 2>&1 | tail -60 | log
bt lora-moonlight auto | log
bt full-100m auto | log
bt lora-moonlight rank MOE_GROUPED_RANK_TILES=1 | log
for v in ${TILES:-3}; do bt lora-moonlight tile$v MOE_GROUPED_TILE=$v | log; done
for mode in ${GEMM_MODES:-auto}; do
  MOE_EXPERT_GEMM=$mode timeout 60 "$B/test_cuda" --gtest_filter='CudaBatchedDecode*:ExpertBuckets*' >"$L/t_$mode.log" 2>&1
  echo "== batched decode tests ($mode): rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|nmse|Failure' "$L/t_$mode.log" | head -8
done | log
timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 8 --repeats 3 \
  --json "$L/prefill_auto.json" >"$L/pf_auto.log" 2>&1
{ echo "== prefill (default mode): rc $?"; grep -iE "prefill|error" "$L/pf_auto.log" | head -4; } | log
# transformers' LoRA step was measured on an H200 in the 2026-12-06 23:57 call: again only on another GPU
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || timeout 120 python3 bench/hf_train_reference.py --shape lora-moonlight --steps 4 --warmup 2 --json "$L/hf_lora-moonlight.json" \
  >"$L/hf_lora.log" 2>&1
{ echo "== transformers lora-moonlight: rc $?"; tail -2 "$L/hf_lora.log"; } | log
if [ "${NCU:-0}" = 1 ]; then
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
echo "== ncu: $NCU" | log
timeout 150 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv \
  "$B/moe-engine" bench-train --shapes lora-moonlight --steps 1 --warmup 0 >"$L/ncu_step.csv" 2>"$L/ncu_step.err"
echo "ncu rc $? lines $(wc -l <"$L/ncu_step.csv")" | log
tail -3 "$L/ncu_step.err" | log
python3 "$(dirname "$0")/ncu_summary.py" "$L/ncu_step.csv" 2>&1 | head -45 | log
xz -9 "$L/ncu_step.csv"
fi
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
