#!/usr/bin/env bash
# One call after the expert GEMM's default tiles changed (wgmma 128 × 256 for the big products,
# mma.sync for LoRA-rank and weight-gradient ones, rank tiles on): the tests that cover them and the
# one-launch optimiser, plain vs speculative decoding of the demo model, then bench-train of the
# LoRA moonlight shape beside transformers' step in the same call, moonlight prefill and decode,
# and the 100 M full fine-tune. NCU=1 adds Nsight Compute's time of every kernel of one LoRA step;
# BENCH=0 leaves out the moonlight bench. The LoRA step also runs with MOE_GROUPED_FUSE=0 (A/B).
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_wgmma_default.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
BUDGET_S=${BUDGET_S:-300}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | log
timeout 150 "$B/test_cuda" --gtest_filter='CudaElementwise*:*CudaGroupedGemm*:*CudaTrainStep*:*CudaOpTable*:CudaTrainOps*:CudaMoe*:CudaSpeculative*:CudaSampling*' \
  >"$L/t.log" 2>&1
{ echo "== tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|nmse' "$L/t.log" | head -14; } | log
"$B/moe-engine" demo --out /tmp/demo >/dev/null 2>"$L/demo.err"
timeout 60 "$B/moe-engine" bench --speculative --model /tmp/demo --backend cuda --json "$L/speculative.json" \
  >"$L/speculative.log" 2>&1
{ echo "== speculative demo: rc $?"; tail -9 "$L/speculative.log"; } | log
bt lora-moonlight
left && hf_lora  # transformers' LoRA step on the same GPU in the same call (the ratio's baseline)
# the LoRA terms riding on their base expert GEMMs (default) against each on its own, same call
left && bt lora-moonlight unfused MOE_GROUPED_FUSE=0
if [ "${NCU:-0}" = 1 ] && left; then  # every kernel of one LoRA step (tools/gpu/ncu_summary.py)
  NCU_BIN=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
  timeout 150 "$NCU_BIN" --clock-control none --metrics gpu__time_duration.sum --csv \
    "$B/moe-engine" bench-train --shapes lora-moonlight --steps 1 --warmup 0 >"$L/ncu_step.csv" 2>"$L/ncu_step.err"
  { echo "== ncu one LoRA step: rc $?"; python3 "$(dirname "$0")/ncu_summary.py" "$L/ncu_step.csv" 2>&1 | head -30; } | log
  xz -9 "$L/ncu_step.csv"
fi
if [ "${BENCH:-1}" = 1 ] && left; then
  timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 128 \
    --repeats 4 --json "$L/bench.json" >"$L/bench.log" 2>&1
  { echo "== bench moonlight: rc $?"; grep -iE "prefill|decode|ceiling|error" "$L/bench.log" | head -8; } | log
fi
left && bt full-100m
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
