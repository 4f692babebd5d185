#!/usr/bin/env bash
# One call for the tensor-core flash attention in prefill as well as training
# (kernels/attention_flash_tc.cu): every CUDA test, moonlight prefill 2048 and decode with the
# flash kernel and with the score-matrix form (MOE_FLASH_ATTENTION=0) in the same call, and the LoRA
# moonlight step.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_flash_prefill.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
timeout "${TEST_S:-200}" "$B/test_cuda" --gtest_filter="${TESTS:-*}" >"$L/t.log" 2>&1
{ echo "== tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure|Expected|Which is' "$L/t.log" | head -24; } | log
MOE_FLASH_ATTENTION=0 timeout 60 "$B/test_cuda" --gtest_filter='CudaAttention.*' >"$L/t_off.log" 2>&1
{ echo "== attention tests, score-matrix form: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t_off.log" | head -6; } | log
for mode in flash scores; do
  env $([ $mode = scores ] && echo MOE_FLASH_ATTENTION=0) timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b \
    --prefill 2048 --contexts 512 --decode-tokens 128 --repeats ${REPEATS:-4} --json "$L/bench_$mode.json" >"$L/bench_$mode.log" 2>&1
  { echo "== bench moonlight ($mode): rc $?"; grep -iE "prefill|decode|ceiling|error" "$L/bench_$mode.log" | head -8; } | log
done
left && bt lora-moonlight flash
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
