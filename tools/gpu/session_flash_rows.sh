#!/usr/bin/env bash
# One call: the whole CUDA suite (the flash forward's 128-row blocks and unmasked interior tiles are
# the default), the attention tests on the 64-row blocks (MOE_FLASH_ROWS=64), the chunked device-side
# expert grouping (MOE_PREFILL_DEVICE_GROUPING=1: its test, the MoE ops, model parity), the fp8 test
# whose tolerance changed; then moonlight prefill 2048 A/B (the defaults; 64-row flash blocks; f32
# expert rows; device grouping; the previous binary when prepare_prebuilt.sh got OLD_ENGINE),
# qwen-1.5b prefill, the prefill timeline, the LoRA step with 128 and 64 rows, its timeline and
# transformers' LoRA step (while BUDGET_S lasts).
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_flash_rows.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest all '*' 150
ctest flash64 '*Attention*:CudaTrainOps.*' 60 MOE_FLASH_ROWS=64
ctest device '*ExpertGrouping*:*Grouped*:CudaMoe.*:*CudaModelParity*' 60 MOE_PREFILL_DEVICE_GROUPING=1
ctest fp8_seed 'CudaMoeFp8.TrainingForwardUsesABf16Copy' 30 MOE_TEST_SEED=8010726375934535287
ENGINE=$B/moe-engine
prefill() {
  local tag=$1; shift
  env "$@" timeout 60 "$ENGINE" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 16 --repeats 4 --json "$L/bench_$tag.json" >"$L/bench_$tag.log" 2>&1
  { echo "== bench moonlight $tag${*:+ ($*)}: rc $?"; grep -iE "prefill|error" "$L/bench_$tag.log" | head -2; } | log
}
prefill new
prefill rows64 MOE_FLASH_ROWS=64
prefill y_f32 MOE_PREFILL_F32_EXPERT_OUT=1
prefill device MOE_PREFILL_DEVICE_GROUPING=1
prefill new_b
if [ -x "$B/moe-engine-old" ]; then ENGINE=$B/moe-engine-old prefill old; ENGINE=$B/moe-engine; fi
env timeout 60 "$B/moe-engine" bench --models r1-distill-qwen-1.5b --prefill 2048 --contexts 512 --decode-tokens 16 \
  --repeats 4 --json "$L/bench_qwen.json" >"$L/bench_qwen.log" 2>&1
{ echo "== bench qwen-1.5b: rc $?"; grep -iE "prefill|error" "$L/bench_qwen.log" | head -2; } | log
left && trace_prefill 6
left && bt lora-moonlight rows128
left && bt lora-moonlight rows64 MOE_FLASH_ROWS=64
if left; then
  CUPTI_TRACE_OUT="$L/trace_train.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" timeout 120 "$B/moe-engine" bench-train \
    --shapes lora-moonlight --steps 2 --warmup 1 >"$L/trace_train.log" 2>&1
  echo "== trace lora-moonlight step: rc $?" | log
  python3 "$(dirname "$0")/trace/gaps.py" "$L/trace_train.csv" --top 4 --kernels 40 2>&1 | log
  xz -6 "$L/trace_train.csv"
fi
left && hf_lora
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
