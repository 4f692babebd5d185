#!/usr/bin/env bash
# One call that tells where prefill and decode go now: the attention tests, moonlight / qwen-1.5b /
# qwen-7b prefill 2048 and decode, then the CUPTI timeline (tools/gpu/trace/) of one prefill 2048 of
# moonlight and of qwen-1.5b (the second prefill, between two embedding kernels) and of moonlight
# decode steps at ctx 512 (graph replays; their kernels are recorded one by one); the LoRA moonlight
# step and its timeline.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_prefill_profile.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest some "${TESTS:-CudaAttention.*:CudaTrainOps.*Attention*:CudaTrainOps.*Refresh*:CudaTrainStep.*}" 90
for m in ${MODELS:-moonlight-16b-a3b r1-distill-qwen-1.5b}; do
  timeout 90 "$B/moe-engine" bench --models $m --prefill 2048 --contexts 512 --decode-tokens 128 \
    --repeats ${REPEATS:-4} --json "$L/bench_$m.json" >"$L/bench_$m.log" 2>&1
  { echo "== bench $m: rc $?"; grep -iE "prefill|decode|ceiling|error" "$L/bench_$m.log" | head -6; } | log
done
trace() {  # trace NAME MARKER_INDEX ARGS...: CUPTI timeline of one bench call, gaps.py over one span
  local name=$1 idx=$2; shift 2
  CUPTI_TRACE_OUT="$L/trace_$name.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" timeout 90 "$B/moe-engine" bench "$@" \
    >"$L/trace_$name.log" 2>&1
  echo "== trace $name: rc $?" | log
  python3 "$(dirname "$0")/trace/gaps.py" "$L/trace_$name.csv" --marker embedding --index $idx --top 12 \
    --kernels ${KERNELS:-45} 2>&1 | log
  xz -6 "$L/trace_$name.csv"
}
left && bt lora-moonlight
if left; then  # the LoRA step's timeline (the last full step between two AdamW kernels)
  CUPTI_TRACE_OUT="$L/trace_lora.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" timeout 120 "$B/moe-engine" bench-train \
    --shapes lora-moonlight --steps 2 --warmup 1 >"$L/trace_lora.log" 2>&1
  echo "== trace lora-moonlight: rc $?" | log
  python3 "$(dirname "$0")/trace/gaps.py" "$L/trace_lora.csv" --top 8 --kernels 40 2>&1 | log
  xz -6 "$L/trace_lora.csv"
fi
left && trace prefill_moonlight 1 --models moonlight-16b-a3b --prefill 2048 --contexts 16 --decode-tokens 1 --repeats 2
left && trace prefill_qwen15 1 --models r1-distill-qwen-1.5b --prefill 2048 --contexts 16 --decode-tokens 1 --repeats 2
left && trace decode_moonlight -3 --models moonlight-16b-a3b --prefill none --contexts 512 --decode-tokens 16 --repeats 1
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
