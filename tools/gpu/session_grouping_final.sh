#!/usr/bin/env bash
# A short call: the chunked device-side grouping (kernels/expert_grouping.cu) — its test, the MoE
# ops and model parity with the device-grouped prefill on (MOE_PREFILL_DEVICE_GROUPING=1), moonlight
# prefill 2048 with it and without (the default), its timeline — and the fp8 test whose tolerance changed.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_grouping_final.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest device '*ExpertGrouping*:*Grouped*:CudaMoe.*:*CudaModelParity*' 60 MOE_PREFILL_DEVICE_GROUPING=1
ctest fp8_seed 'CudaMoeFp8.TrainingForwardUsesABf16Copy' 30 MOE_TEST_SEED=8010726375934535287
for tag in device host; do
  env $([ $tag = device ] && echo MOE_PREFILL_DEVICE_GROUPING=1) timeout 60 "$B/moe-engine" bench \
    --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 16 --repeats 4 \
    --json "$L/bench_$tag.json" >"$L/bench_$tag.log" 2>&1
  { echo "== bench moonlight $tag: rc $?"; grep -iE "prefill|error" "$L/bench_$tag.log" | head -2; } | log
done
MOE_PREFILL_DEVICE_GROUPING=1 trace_prefill 6
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
