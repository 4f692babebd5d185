#!/usr/bin/env bash
# Short device call: the batched-step tests and the MoE kernels' tests, then bench --streams on the
# trained demo model and on the moonlight shape with the default fused-MoE threshold.
#   PACK=1 tools/gpu/prepare_prebuilt.sh; carry .device-carry/gpu.tar.xz, then
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_final_check.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=/tmp/moe-run; mkdir -p $T
"$B/test_cuda" --gtest_filter='CudaBatchedDecode.*:CudaMoe.*:CudaStepGraph*:CudaGreedyStep*' >$T/t.log 2>&1
grep -E '^\[ *(OK|PASSED|FAILED) *\]|Failure|nmse|near-tie|Actual' $T/t.log | head -30
"$B/moe-engine" demo --out $T/demo >/dev/null 2>$T/demo.err || tail -3 $T/demo.err
echo "== bench --streams, demo model"
timeout 90 "$B/moe-engine" bench --streams 1,2,4,8,16 --model $T/demo --backend cuda --decode-tokens 64 \
  --json "$OUT/streams_demo.json" 2>$T/sd.err || tail -3 $T/sd.err
echo "== bench --streams, moonlight shape"
timeout 150 "$B/moe-engine" bench --streams 1,2,4,8,16 --shape moonlight-16b-a3b --backend cuda --decode-tokens 48 \
  --json "$OUT/streams_moonlight.json" 2>$T/sm.err || tail -3 $T/sm.err
