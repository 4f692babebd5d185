#!/usr/bin/env bash
# One device call when device time is short: the CUDA tests of the MoE and training paths with the
# expert GEMMs in both modes (MOE_EXPERT_GEMM=buckets|grouped), the grouped-GEMM probe
# (.device-carry/grouped_gemm_probe, built from tools/gpu/probes/), bench-train of both shapes in
# both modes beside the PyTorch + transformers baseline, then MoE prefill in both modes.
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_combined.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=/tmp/moe-run; mkdir -p $T
F='CudaMoe*:ExpertBuckets*:CudaTrainOps*:*CudaModelParity*:*CudaOpTable*:*CudaTrainStep*:CudaBatchedDecode*'
log() { tee -a "$OUT/combined.txt"; }
tests() {
  MOE_EXPERT_GEMM=$1 timeout $2 "$B/test_cuda" --gtest_filter="$F" >$T/t_$1.log 2>&1
  echo "== test_cuda ($1): rc $?"
  grep -E '^\[ *(PASSED|FAILED) *\]|Failure|NMSE|selection|Which is|Expected' $T/t_$1.log | head -24
}
bt() {  # shape mode timeout
  MOE_EXPERT_GEMM=$2 timeout $3 "$B/moe-engine" bench-train --shapes $1 --steps 4 --warmup 2 \
    --json "$OUT/bt_${1}_$2.json" >$T/bt_$1_$2.log 2>&1
  echo "== bench-train $1 $2: rc $?"; grep -E "ms/step|peak|plan|error" $T/bt_$1_$2.log | head -6
}
hf() {
  timeout $2 python3 bench/hf_train_reference.py --shape $1 --steps 4 --warmup 2 --json "$OUT/hf_$1.json" >$T/hf_$1.log 2>&1
  echo "== transformers $1: rc $?"; tail -4 $T/hf_$1.log
}
echo "== probe" | log; timeout 45 .device-carry/grouped_gemm_probe 2>&1 | tail -22 | log
bt lora-moonlight buckets 75 | log
bt lora-moonlight grouped 75 | log
tests buckets 110 | log
tests grouped 90 | log
hf lora-moonlight 130 | log
bt full-100m buckets 40 | log
bt full-100m grouped 40 | log
hf full-100m 50 | log
for mode in buckets grouped; do
  MOE_EXPERT_GEMM=$mode timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 8 --repeats 3 --json "$OUT/prefill_$mode.json" >$T/pf_$mode.log 2>&1
  echo "== prefill $mode"; grep -iE "prefill|error" $T/pf_$mode.log | head -4
done | log
