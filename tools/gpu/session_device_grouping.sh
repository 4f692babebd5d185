#!/usr/bin/env bash
# One call for the device-grouped prefill MoE (engine/cuda/device_grouped_prefill.h;
# MOE_PREFILL_DEVICE_GROUPING=0 runs the host-grouped path): the grouping, grouped-GEMM and MoE
# tests, moonlight prefill 2048 both ways, a replayed seed of CudaMoeFp8.TrainingForwardUsesABf16Copy
# with both grouped-GEMM kernels, the rest of the CUDA suite, the prefill timeline, then (budget
# left, BUDGET_S) a second round, fp8 experts' prefill, the host path's tests, the LoRA step, qwen-1.5b.
#   PACK=1 tools/gpu/prepare_prebuilt.sh   (here), then on the device:
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_device_grouping.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
. "$(dirname "$0")/session_lib.sh"
ctest moe '*Grouped*:*ExpertGrouping*:CudaMoe.*:CudaMoeFp8.*:*CudaModelParity*' 100
prefill() {  # prefill TAG [ENV...]: moonlight prefill 2048 (extra bench flags in PREFILL_FLAGS)
  local tag=$1; shift
  env "$@" timeout 90 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 32 --repeats ${REPEATS:-4} ${PREFILL_FLAGS:-} --json "$L/bench_$tag.json" >"$L/bench_$tag.log" 2>&1
  { echo "== bench moonlight $tag: rc $?"; grep -iE "prefill|decode|error" "$L/bench_$tag.log" | head -3; } | log
}
left && prefill device_1
left && prefill host_1 MOE_PREFILL_DEVICE_GROUPING=0
for tile in 9 7; do
  left && ctest "fp8_seed_$tile" 'CudaMoeFp8.TrainingForwardUsesABf16Copy' 30 MOE_TEST_SEED=8010726375934535287 MOE_GROUPED_TILE=$tile
done
left && ctest rest '-*Grouped*:*ExpertGrouping*:CudaMoe.*:CudaMoeFp8.*:*CudaModelParity*' 150
left && trace_prefill 6
left && prefill device_2
left && prefill host_2 MOE_PREFILL_DEVICE_GROUPING=0
left && PREFILL_FLAGS=--fp8-experts prefill fp8_device
left && PREFILL_FLAGS=--fp8-experts prefill fp8_host MOE_PREFILL_DEVICE_GROUPING=0
left && ctest moe_host 'CudaMoe.*:CudaMoeFp8.*' 80 MOE_PREFILL_DEVICE_GROUPING=0
left && bt lora-moonlight default
if left; then
  timeout 60 "$B/moe-engine" bench --models r1-distill-qwen-1.5b --prefill 2048 --contexts 512 --decode-tokens 64 \
    --repeats ${REPEATS:-4} --json "$L/bench_qwen15.json" >"$L/bench_qwen15.log" 2>&1
  { echo "== bench qwen-1.5b: rc $?"; grep -iE "prefill|decode|error" "$L/bench_qwen15.log" | head -3; } | log
fi
echo "== done at ${SECONDS}s" | log
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$L"
