#!/usr/bin/env bash
# One device call when device time is short: the grouped-GEMM probe (.device-carry/grouped_gemm_probe,
# built from tools/gpu/probes/), the grouped kernel's own test, bench-train of the LoRA shape with
# the expert GEMMs in each mode (MOE_EXPERT_GEMM=tiles|grouped|buckets), the CUDA tests of the MoE
# and training paths in the new modes, the PyTorch + transformers baseline, the full-100m shape,
# then MoE prefill in each mode. Everything printed is also in $OUT/combined.txt.
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_combined.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=$OUT/logs; mkdir -p $T  # in $OUT: the logs come back even when the call is cut
F='*CudaGroupedGemm*:CudaMoe*:ExpertBuckets*:CudaTrainOps*:*CudaModelParity*:*CudaOpTable*:*CudaTrainStep*:CudaBatchedDecode*'
log() { tee -a "$OUT/combined.txt"; }
tests() {  # mode timeout filter
  MOE_EXPERT_GEMM=$1 timeout $2 "$B/test_cuda" --gtest_filter="$3" >$T/t_$1.log 2>&1
  echo "== test_cuda ($1, $3): rc $?"
  grep -E '^\[ *(PASSED|FAILED) *\]|Failure|NMSE|nmse|selection|Which is|Expected|problem' $T/t_$1.log | head -24
}
bt() {  # shape mode timeout
  MOE_EXPERT_GEMM=$2 timeout $3 "$B/moe-engine" bench-train --shapes $1 --steps 4 --warmup 2 \
    --json "$OUT/bt_${1}_$2.json" >$T/bt_$1_$2.log 2>&1
  echo "== bench-train $1 $2: rc $?"; grep -E "ms/step|peak|plan|error|loss|skipped" $T/bt_$1_$2.log | head -8
}
hf() {
  timeout $2 python3 bench/hf_train_reference.py --shape $1 --steps 4 --warmup 2 --json "$OUT/hf_$1.json" >$T/hf_$1.log 2>&1
  echo "== transformers $1: rc $?"; tail -4 $T/hf_$1.log
}
prof() {  # shape mode: where the step goes (each part waited for)
  MOE_EXPERT_GEMM=$2 MOE_TRAIN_PROFILE=1 timeout 60 "$B/moe-engine" bench-train --shapes $1 --steps 2 --warmup 1 \
    >$T/prof_$1_$2.log 2>&1
  echo "== profile $1 $2: rc $?"; sed -n '/step profile/,$p' $T/prof_$1_$2.log | head -30
}
# Most important first: a call cut at its time limit still returns what ran.
tests tiles 30 '*CudaGroupedGemm*' | log
bt lora-moonlight tiles 70 | log
bt lora-moonlight buckets 70 | log
hf lora-moonlight 120 | log
tests tiles 80 '*CudaTrainStep*:*CudaOpTable*:CudaTrainOps*:CudaMoe*' | log
prof lora-moonlight tiles | log
bt full-100m tiles 40 | log
bt full-100m buckets 40 | log
hf full-100m 50 | log
echo "== probe" | log; timeout 45 .device-carry/grouped_gemm_probe 2>&1 | tail -22 | log
bt lora-moonlight grouped 70 | log
tests tiles 100 "$F" | log
for mode in tiles buckets; do
  MOE_EXPERT_GEMM=$mode timeout 60 "$B/moe-engine" bench --models moonlight-16b-a3b --prefill 2048 --contexts 512 \
    --decode-tokens 8 --repeats 3 --json "$OUT/prefill_$mode.json" >$T/pf_$mode.log 2>&1
  echo "== prefill $mode"; grep -iE "prefill|error" $T/pf_$mode.log | head -4
done | log
