#!/usr/bin/env bash
# One call for the warp-specialised persistent wgmma grouped GEMM (kernels/grouped_gemm_wgmma_ws.cu,
# variants 8 and 9; MOE_GROUPED_TILE=7 runs the one-tile-per-block kernel it replaces) and its
# SwiGLU epilogue in prefill (MOE_GROUPED_SWIGLU=0 turns it off): the grouped
# GEMM tests and the CUDA tests that run expert GEMMs, the probe (TFLOP/s of every variant on the
# moonlight layer's GEMMs), moonlight prefill 2048 and the LoRA moonlight step both ways in
# interleaved rounds, then (budget left) the rest of the CUDA suite, qwen-1.5b prefill and
# transformers' LoRA step.
#   PACK=1 PROBE=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_wgmma_ws.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest grouped "${TESTS:-*Grouped*:CudaMoe.*:*CudaTrainStep*:*CudaModelParity*:ExpertTiles*:*CudaOpTable*}" "${TEST_S:-120}"
if [ -x "$D/bin/grouped_gemm_probe" ]; then
  timeout 120 "$D/bin/grouped_gemm_probe" >"$L/probe.log" 2>&1
  { echo "== grouped GEMM probe: rc $?"; grep -vE "^\s*$" "$L/probe.log" | tail -40; } | log
fi
prefill() {  # prefill TAG [ENV...]: moonlight prefill 2048
  local tag=$1; shift
  env "$@" timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 32 --repeats ${REPEATS:-4} --json "$L/bench_$tag.json" >"$L/bench_$tag.log" 2>&1
  { echo "== bench moonlight $tag: rc $?"; grep -iE "prefill|decode|error" "$L/bench_$tag.log" | head -3; } | log
}
ctest tiles 'CudaMoe.*:*CudaModelParity*' 60 MOE_EXPERT_GEMM=tiles
# ws: the new kernel with the SwiGLU epilogue (the default); noswiglu: without the epilogue;
# classic: the one-tile-per-block kernel, no epilogue.
left && prefill ws_1
left && prefill classic_1 MOE_GROUPED_TILE=7 MOE_GROUPED_SWIGLU=0
left && prefill noswiglu_1 MOE_GROUPED_SWIGLU=0
left && bt lora-moonlight ws
left && bt lora-moonlight classic MOE_GROUPED_TILE=7
left && prefill ws_2
left && prefill classic_2 MOE_GROUPED_TILE=7 MOE_GROUPED_SWIGLU=0
left && prefill noswiglu_2 MOE_GROUPED_SWIGLU=0
left && ctest rest "-*Grouped*:CudaMoe.*:*CudaTrainStep*:*CudaModelParity*:ExpertTiles*:*CudaOpTable*" 150
if left; then
  timeout 60 "$B/moe-engine" bench --models r1-distill-qwen-1.5b --prefill 2048 --contexts 512 --decode-tokens 64 \
    --repeats ${REPEATS:-4} --json "$L/bench_qwen15.json" >"$L/bench_qwen15.log" 2>&1
  { echo "== bench qwen-1.5b: rc $?"; grep -iE "prefill|decode|error" "$L/bench_qwen15.log" | head -3; } | log
fi
[ "${HF:-1}" = 1 ] && left && hf_lora
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
