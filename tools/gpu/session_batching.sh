#!/usr/bin/env bash
# One device call for fp8 experts, batched serving and the cost of decode's options (issue #15 items 3-6):
#   0. the fp8 expert kernels against the CPU, the fp8 fixture's parity with fp8 kept and converted,
#      and the moonlight shape with bf16 vs fp8 routed experts,
#   1. the batched-step kernels against each row alone (test_cuda's *Rows* and CudaBatchedDecode),
#   2. bench --streams on the trained demo model and on the moonlight shape (random weights),
#   3. batch-1 decode of the moonlight shape plain, with routing telemetry, and sampled on the GPU,
#      in the same call so the three figures compare,
#   4. the whole test_cuda last (it may run past the call's limit; the figures above come back).
# Prebuilt binaries: PACK=1 tools/gpu/prepare_prebuilt.sh; carry .device-carry/gpu.tar.xz, then
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash .device-carry/gpu/tools/gpu/session_batching.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"

echo "== fp8 routed experts: kernels against the CPU, the bf16 kernels after their refactor"
"$B/test_cuda" --gtest_filter='CudaMoeFp8.*:CudaMoe.*' >"$OUT/fp8_tests.log" 2>&1
grep -E '^\[ *(OK|PASSED|FAILED|SKIPPED) *\]|Failure' "$OUT/fp8_tests.log" | head -20
echo "== the fp8 fixture end to end: fp8 experts kept (default) vs converted to bf16 at load"
for keep in 1 0; do
  MOE_FP8_EXPERTS=$keep "$B/test_cuda" --gtest_filter='*Parity*' 2>&1 | grep -E "PARITY.*fp8|FAILED" | sed "s/^/MOE_FP8_EXPERTS=$keep: /"
done
echo "== moonlight shape: bf16 experts vs fp8 experts (prefill 2048, decode ctx 512)"
for mode in bf16 fp8; do
  flag=(); [ "$mode" = fp8 ] && flag=(--fp8-experts)
  timeout 120 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 128 \
    --repeats 4 "${flag[@]}" --json "$OUT/fp8_$mode.json" 2>"$OUT/fp8_$mode.err" | grep -E "==|prefill|decode|measured" |
    sed "s/^/$mode: /"
done

echo "== batched-step kernels"
"$B/test_cuda" --gtest_filter='CudaAttention.*Rows*:CudaBatchedDecode.*' >"$OUT/batched_tests.log" 2>&1
grep -E '^\[ *(OK|PASSED|FAILED|SKIPPED) *\]|Failure' "$OUT/batched_tests.log" | head -20

STREAMS_DEMO=${STREAMS_DEMO:-1,2,4,8,16}
STREAMS_SHAPE=${STREAMS_SHAPE:-1,4,16}
echo "== bench --streams, demo model"
"$B/moe-engine" demo --out "$OUT/demo" >/dev/null 2>"$OUT/demo.err"  # the model with its tokenizer
timeout 120 "$B/moe-engine" bench --streams "$STREAMS_DEMO" --model "$OUT/demo" --backend cuda \
  --decode-tokens 64 --json "$OUT/streams_demo.json" 2>"$OUT/streams_demo.err" | tee "$OUT/streams_demo.txt"
echo "== bench --streams, moonlight shape"
timeout 240 "$B/moe-engine" bench --streams "$STREAMS_SHAPE" --shape moonlight-16b-a3b --backend cuda \
  --decode-tokens 64 --json "$OUT/streams_moonlight.json" 2>"$OUT/streams_moonlight.err" | tee "$OUT/streams_moonlight.txt"
tail -5 "$OUT/streams_moonlight.err"

echo "== decode options, moonlight shape (plain, routing telemetry, GPU sampler)"
for mode in plain routing-trace sample; do
  flag=(); [ "$mode" != plain ] && flag=(--"$mode")
  timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill none --contexts 512 --decode-tokens 128 \
    --repeats 6 "${flag[@]}" --json "$OUT/decode_$mode.json" 2>"$OUT/decode_$mode.err" | grep -E "decode|device|measured" |
    sed "s/^/$mode: /"
done

echo "== test_cuda (all)"
timeout "${FULL_TESTS_TIMEOUT:-150}" "$B/test_cuda" --gtest_output="json:$OUT/test_cuda.json" >"$OUT/test_cuda.log" 2>&1
echo "test_cuda rc=$?"
grep -E '^\[ *(PASSED|FAILED) *\]|tests ran' "$OUT/test_cuda.log" | head -30
