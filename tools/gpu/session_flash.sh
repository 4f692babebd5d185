#!/usr/bin/env bash
# One call for the flash training attention (kernels/attention_flash_tc.cu): every CUDA test,
# bench-train of the LoRA moonlight shape and the 100 M full fine-tune with the flash kernels and
# with the cuBLAS form (MOE_FLASH_ATTENTION=0) in the same call, transformers' LoRA step beside
# them, and the CUPTI timeline of a flash LoRA step.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_flash.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
timeout "${TEST_S:-200}" "$B/test_cuda" --gtest_filter="${TESTS:-*}" >"$L/t.log" 2>&1
{ echo "== tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|Expected|Which is|nmse|NMSE' "$L/t.log" | head -24; } | log
for mode in MOE_FLASH_ATTENTION=0; do  # the attention tests on the cuBLAS form too
  env $mode timeout 60 "$B/test_cuda" --gtest_filter='CudaTrainOps.*Attention*' >"$L/t_$mode.log" 2>&1
  { echo "== attention tests $mode: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t_$mode.log" | head -8; } | log
done
hf_lora  # transformers' LoRA step on the same GPU in the same call (the ratio's baseline), first this time
bt lora-moonlight flash
bt lora-moonlight cublas MOE_FLASH_ATTENTION=0
left && bt full-100m flash
left && bt full-100m cublas MOE_FLASH_ATTENTION=0
left && { SHAPES=lora-moonlight TOP=25 bash "$(dirname "$0")/trace_train.sh" 2>&1 | head -60 | log; }
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
