#!/usr/bin/env bash
# One call for the unmeasured GPU changes, fastest first: the GPU sampler's, the grouped GEMM's
# (every tile variant, the wgmma one included) and speculative decoding's tests, plain vs
# speculative decoding of the demo model, bench-train of the LoRA moonlight shape with
# the expert rows kept, recomputed (--recompute-experts) and kept on the wgmma tiles
# (MOE_GROUPED_TILE=6: 128 × 128, 7: 128 × 256), the grouped-GEMM probe (in the package with PROBE=1), decode plain vs
# --sample, the training tests, then while BUDGET_S lasts: Nsight Compute per-kernel times of one
# LoRA step (tools/gpu/ncu_summary.py), the routed-expert tests on the wgmma tile, the 100 M full
# fine-tune, transformers' LoRA step, the other tile variants and moonlight prefill (mma.sync and
# wgmma tiles).
#   PACK=1 PROBE=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_keep_rows.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
L=$OUT/logs; mkdir -p "$L"
left() { [ "$SECONDS" -lt "${BUDGET_S:-420}" ]; }  # the optional parts run only while the call has time
log() { tee -a "$OUT/summary.txt"; }
bt() {  # shape tag [env...] -- [bench-train flags]
  local shape=$1 tag=$2; shift 2
  local envs=() flags=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift && flags=("$@")
  env "${envs[@]}" timeout 80 "$B/moe-engine" bench-train --shapes $shape --steps 4 --warmup 2 "${flags[@]}" \
    --json "$L/bt_${shape}_$tag.json" >"$L/bt_${shape}_$tag.log" 2>&1
  echo "== bench-train $shape $tag: rc $?"; grep -E "ms/step|memory:|loss .* ->|error" "$L/bt_${shape}_$tag.log" | head -4
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | log
timeout 90 "$B/test_cuda" --gtest_filter='CudaSampling*:CudaSampledStep*:*CudaGroupedGemm*:CudaSpeculative*' >"$L/t_sampling.log" 2>&1
{ echo "== sampler + grouped GEMM + speculative tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|X²|tile variant' "$L/t_sampling.log" | head -16; } | log
# plain vs speculative decoding of the demo model (the verification is one recorded step now)
timeout 60 "$B/moe-engine" bench --speculative --model resources/demo-model --backend cuda \
  --json "$L/speculative.json" >"$L/speculative.log" 2>&1
{ echo "== speculative demo: rc $?"; tail -9 "$L/speculative.log"; } | log
bt lora-moonlight kept | log
bt lora-moonlight recomputed -- --recompute-experts | log
bt lora-moonlight wgmma MOE_GROUPED_TILE=6 | log
bt lora-moonlight wgmma-wide MOE_GROUPED_TILE=7 | log
[ -x "$B/grouped_gemm_probe" ] && { echo "== probe"; timeout 60 "$B/grouped_gemm_probe" 2>&1 | tail -45; } | log
for mode in plain sample; do
  flag=; [ $mode = sample ] && flag=--sample
  timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill none --contexts 512 --decode-tokens 128 \
    --repeats 6 $flag --json "$L/decode_$mode.json" >"$L/decode_$mode.log" 2>&1
  echo "== decode $mode: rc $?"; grep -iE "tok/s|error" "$L/decode_$mode.log" | head -3
done | log
timeout 150 "$B/test_cuda" --gtest_filter='*CudaTrainStep*:*CudaOpTable*:CudaTrainOps*:CudaMoe*' \
  >"$L/t_train.log" 2>&1
{ echo "== training + MoE tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t_train.log" | head -12; } | log
wg_env=(); grep -qE 'FAILED.*CudaGroupedGemm' "$L/t_sampling.log" || wg_env=(MOE_GROUPED_TILE=6)
# every kernel of one LoRA step (kept rows; on the wgmma tile when its test passed) timed by Nsight
# Compute, when the call has time left
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ] && left; then
  env "${wg_env[@]}" timeout 150 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv \
    "$B/moe-engine" bench-train --shapes lora-moonlight --steps 1 --warmup 0 >"$L/ncu_step.csv" 2>"$L/ncu_step.err"
  echo "== ncu rc $? lines $(wc -l <"$L/ncu_step.csv")" | log
  python3 "$(dirname "$0")/ncu_summary.py" "$L/ncu_step.csv" 2>&1 | head -40 | log
  xz -9 "$L/ncu_step.csv"
fi
if [ ${#wg_env[@]} -gt 0 ] && left; then  # the routed experts' training ops on the wgmma tile, against the CPU
  MOE_EXPERT_GEMM=tiles MOE_GROUPED_TILE=6 timeout 90 "$B/test_cuda" --gtest_filter='CudaTrainOps.Routed*:CudaMoe*' \
    >"$L/t_wgmma.log" 2>&1
  { echo "== routed-expert + MoE tests on the wgmma tile: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t_wgmma.log" | head -8; } | log
fi
left && bt full-100m kept | log
# the rest only while the call has time (the device's minutes are scarce: what matters most ran first)
if left; then  # transformers' LoRA step on the same GPU in the same call (the ratio's baseline)
  timeout 150 python3 bench/hf_train_reference.py --shape lora-moonlight --steps 4 --warmup 2 \
    --json "$L/hf_lora-moonlight.json" >"$L/hf_lora.log" 2>&1
  { echo "== transformers lora-moonlight: rc $?"; tail -3 "$L/hf_lora.log"; } | log
fi
left && bt lora-moonlight rank MOE_GROUPED_RANK_TILES=1 | log
left && bt lora-moonlight tile3 MOE_GROUPED_TILE=3 | log
for mode in auto wgmma wgmma-wide; do
  left || break
  envs=(); [ $mode = wgmma ] && envs=(MOE_EXPERT_GEMM=tiles MOE_GROUPED_TILE=6)
  [ $mode = wgmma-wide ] && envs=(MOE_EXPERT_GEMM=tiles MOE_GROUPED_TILE=7)
  env "${envs[@]}" timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 8 --repeats 3 --json "$L/prefill_$mode.json" >"$L/prefill_$mode.log" 2>&1
  { echo "== prefill ($mode): rc $?"; grep -iE "prefill|error" "$L/prefill_$mode.log" | head -4; } | log
done
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
