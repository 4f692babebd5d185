#!/usr/bin/env bash
# One call after the host-gap changes (page-locked uploads, upload_ring.h; expert ids copied as the
# router chooses them, ids_readback.h; shared expert before the routed ones): every CUDA test, the
# CUPTI timeline of a LoRA step (tools/gpu/trace/), bench-train of the LoRA moonlight shape beside
# transformers' step in the same call, moonlight prefill and decode (and its timeline), and the 100 M
# full fine-tune.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_host_gaps.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
timeout "${TEST_S:-240}" "$B/test_cuda" --gtest_filter="${TESTS:-*}" >"$L/t.log" 2>&1
{ echo "== tests: rc $?"; grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$L/t.log" | head -14; } | log
bt lora-moonlight
left && hf_lora  # transformers' LoRA step on the same GPU in the same call (the ratio's baseline)
left && { SHAPES=lora-moonlight TOP=25 bash "$(dirname "$0")/trace_train.sh" 2>&1 | head -60 | log; }
if [ "${BENCH:-1}" = 1 ] && left; then
  timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 128 \
    --repeats 4 --json "$L/bench.json" >"$L/bench.log" 2>&1
  { echo "== bench moonlight: rc $?"; grep -iE "prefill|decode|ceiling|error" "$L/bench.log" | head -8; } | log
fi
if [ "${PREFILL_TRACE:-1}" = 1 ] && left; then  # the timeline of moonlight prefill 2048 (spans between embeddings)
  CUPTI_TRACE_OUT="$OUT/trace_prefill.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" timeout 90 "$B/moe-engine" bench \
    --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 8 --repeats 2 >"$L/trace_prefill.log" 2>&1
  { echo "== prefill trace: rc $?"; grep -iE "prefill" "$L/trace_prefill.log" | head -3; } | log
  xz -6 "$OUT/trace_prefill.csv"
fi
left && bt full-100m
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
