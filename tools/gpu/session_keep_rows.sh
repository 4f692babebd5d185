#!/usr/bin/env bash
# One call for this session's GPU changes, fastest first: the GPU sampler (its tests, then decode
# plain vs --sample), the training tests (kept expert rows are the default now), bench-train of the
# LoRA moonlight shape with the expert rows kept vs recomputed (--recompute-experts), transformers'
# LoRA step, and the
# tile variants (rank tiles, wide tile 3), the 100 M full fine-tune, moonlight prefill, and the
# grouped-GEMM probe if .device-carry/grouped_gemm_probe is carried, then (time left) Nsight Compute
# per-kernel times of one LoRA step (tools/gpu/ncu_summary.py).
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
timeout 90 "$B/test_cuda" --gtest_filter='CudaSampling*:CudaSampledStep*' >"$L/t_sampling.log" 2>&1
{ echo "== sampler tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|X²' "$L/t_sampling.log" | head -12; } | log
bt lora-moonlight kept | log
bt lora-moonlight recomputed -- --recompute-experts | log
for mode in plain sample; do
  flag=; [ $mode = sample ] && flag=--sample
  timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill none --contexts 512 --decode-tokens 128 \
    --repeats 6 $flag --json "$L/decode_$mode.json" >"$L/decode_$mode.log" 2>&1
  echo "== decode $mode: rc $?"; grep -iE "tok/s|error" "$L/decode_$mode.log" | head -3
done | log
timeout 150 "$B/test_cuda" --gtest_filter='*CudaTrainStep*:*CudaOpTable*:CudaTrainOps*:CudaMoe*:*CudaGroupedGemm*' \
  >"$L/t_train.log" 2>&1
{ echo "== training + MoE + grouped GEMM tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t_train.log" | head -12; } | log
left && bt full-100m kept | log
# the rest only while the call has time (the device's minutes are scarce: what matters most ran first)
if left; then  # transformers' LoRA step on the same GPU in the same call (the ratio's baseline)
  timeout 150 python3 bench/hf_train_reference.py --shape lora-moonlight --steps 4 --warmup 2 \
    --json "$L/hf_lora-moonlight.json" >"$L/hf_lora.log" 2>&1
  { echo "== transformers lora-moonlight: rc $?"; tail -3 "$L/hf_lora.log"; } | log
fi
left && bt lora-moonlight rank MOE_GROUPED_RANK_TILES=1 | log
left && bt lora-moonlight tile3 MOE_GROUPED_TILE=3 | log
if left; then
  timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 8 \
    --repeats 3 --json "$L/prefill.json" >"$L/prefill.log" 2>&1
  { echo "== prefill (auto mode): rc $?"; grep -iE "prefill|error" "$L/prefill.log" | head -4; } | log
fi
# the grouped-GEMM probe when carried (cuBLAS ways and every tile variant on one moonlight MoE layer)
left && [ -x .device-carry/grouped_gemm_probe ] && { echo "== probe"; timeout 60 .device-carry/grouped_gemm_probe 2>&1 | tail -45; } | log
# every kernel of one LoRA step (kept rows) timed by Nsight Compute, when the call has time left
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ] && left; then
  timeout 150 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv \
    "$B/moe-engine" bench-train --shapes lora-moonlight --steps 1 --warmup 0 >"$L/ncu_step.csv" 2>"$L/ncu_step.err"
  echo "== ncu rc $? lines $(wc -l <"$L/ncu_step.csv")" | log
  python3 "$(dirname "$0")/ncu_summary.py" "$L/ncu_step.csv" 2>&1 | head -40 | log
  xz -9 "$L/ncu_step.csv"
fi
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
