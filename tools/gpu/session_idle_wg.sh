#!/usr/bin/env bash
# One call for the grouped wgmma GEMM's idle warpgroups (a warpgroup whose 64 rows lie past its
# expert's rows issues no wgmma; MOE_WGMMA_KEEP_IDLE=1 restores the old behaviour) and the router's
# f32 GEMM logits in prefill: every CUDA test, moonlight prefill 2048 both ways twice (interleaved),
# qwen-1.5b prefill 2048, the LoRA moonlight step both ways and transformers' LoRA step, the
# prefill timeline.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_idle_wg.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest all "${TESTS:-*}" "${TEST_S:-150}"
ctest keep_idle '*Grouped*' 60 MOE_WGMMA_KEEP_IDLE=1
bench_round() {  # bench_round N: moonlight prefill 2048 with idle warpgroups skipped, then kept
  local mode
  for mode in skip keep; do
    env $([ $mode = keep ] && echo MOE_WGMMA_KEEP_IDLE=1) timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b \
      --prefill 2048 --contexts 512 --decode-tokens 64 --repeats ${REPEATS:-5} --json "$L/bench_${mode}_$1.json" \
      >"$L/bench_${mode}_$1.log" 2>&1
    { echo "== bench moonlight ($mode, round $1): rc $?"; grep -iE "prefill|decode|error" "$L/bench_${mode}_$1.log" | head -3; } | log
  done
}
bench_round 1
left && bt lora-moonlight skip
left && bt lora-moonlight keep MOE_WGMMA_KEEP_IDLE=1
if left; then
  timeout 60 "$B/moe-engine" bench --models r1-distill-qwen-1.5b --prefill 2048 --contexts 512 --decode-tokens 64 \
    --repeats ${REPEATS:-5} --json "$L/bench_qwen15.json" >"$L/bench_qwen15.log" 2>&1
  { echo "== bench qwen-1.5b: rc $?"; grep -iE "prefill|decode|error" "$L/bench_qwen15.log" | head -3; } | log
fi
left && bench_round 2
[ "${HF:-1}" = 1 ] && left && hf_lora
left && bt lora-moonlight skip2
left && trace_prefill 4
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
