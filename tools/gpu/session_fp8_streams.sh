#!/usr/bin/env bash
# One device call: fp8 routed experts (kernels against the CPU, moonlight shape bf16 vs fp8, the
# decode kernels' share of a step through ncu) and batched streams on the moonlight shape with the
# fused-MoE threshold varied (MOE_FUSED_MAX_TOKENS), plus the failing tests' details.
# Everything goes to one log ($OUT/log.txt; the device returns at most a few files).
#   PACK=1 tools/gpu/prepare_prebuilt.sh; carry .device-carry/gpu.tar.xz, then
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_fp8_streams.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=/tmp/moe-run; mkdir -p $T

echo "== fp8 and MoE kernels against the CPU"
"$B/test_cuda" --gtest_filter='CudaMoeFp8.*:CudaMoe.*:CudaBatchedDecode.*' >$T/t1.log 2>&1
grep -E '^\[ *(OK|PASSED|FAILED) *\]|Failure|nmse|Expected|Actual' $T/t1.log | head -30

echo "== CudaBatchedDecode with the fused MoE kernels up to 4 rows (f32, as a step alone)"
MOE_FUSED_MAX_TOKENS=4 "$B/test_cuda" --gtest_filter='CudaBatchedDecode.*' 2>&1 | grep -E '^\[ *(OK|FAILED) *\]|nmse' | head

echo "== the demo model (an fp8 checkpoint): greedy ids on the CPU, CUDA with fp8 experts, CUDA with bf16 experts"
"$B/moe-engine" demo --out $T/demo >/dev/null 2>$T/demo.err || tail -3 $T/demo.err
P="The expert router sends each token to"
for run in "cpu 1" "cuda 1" "cuda 0"; do
  set -- $run
  MOE_FP8_EXPERTS=$2 timeout 60 "$B/moe-engine" generate --model $T/demo --backend $1 --prompt "$P" \
    --max-tokens 48 --ignore-eos --json 2>$T/gen.err | python3 -c "
import json,sys; j=json.load(sys.stdin); print('$1 fp8=$2', 'tok/s %.0f' % j['decode_tokens_per_second'], 'ids', ' '.join(map(str, j['tokens'])))" \
    || tail -3 $T/gen.err
done
echo "== bench --streams, demo model (fp8 experts)"
timeout 120 "$B/moe-engine" bench --streams 1,2,4,8,16 --model $T/demo --backend cuda --decode-tokens 64 \
  --json "$T/streams_demo.json" 2>$T/streams_demo.err
tail -2 $T/streams_demo.err

echo "== moonlight shape: bf16 vs fp8 routed experts"
for mode in bf16 fp8; do
  flag=(); [ "$mode" = fp8 ] && flag=(--fp8-experts)
  timeout 120 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 --decode-tokens 128 \
    --repeats 4 "${flag[@]}" --json "$T/fp8_$mode.json" 2>$T/fp8_$mode.err | grep -E "==|prefill|decode|measured" | sed "s/^/$mode: /"
done

echo "== streams on the moonlight shape, fused-MoE threshold 2 (default) and 4"
for n in 2 4; do
  MOE_FUSED_MAX_TOKENS=$n timeout 150 "$B/moe-engine" bench --streams 1,4,16 --shape moonlight-16b-a3b --backend cuda \
    --decode-tokens 48 --json "$T/streams_$n.json" 2>$T/streams_$n.err | sed "s/^/fused<=$n: /"
  tail -2 $T/streams_$n.err | sed "s/^/fused<=$n err: /"
done


echo "== CudaTrainStep/lora: which quantities differ"
"$B/test_cuda" --gtest_filter='*CudaTrainStep.MatchesTheCpuReference/lora*' >$T/t2.log 2>&1
grep -E "init seed|flipped|Failure|Which is|nmse|<= \(lora|^  Actual|Expected: |Value of|^[a-z_.]+[0-9]*[a-z_.]*$|model\.|ce|l_bal|grad_norm" $T/t2.log |
  grep -v "^\[" | head -60

cp $T/*.json "$OUT/" 2>/dev/null
