#!/usr/bin/env bash
# One device call: the CUDA training and MoE tests, then bench-train of both shapes beside the
# PyTorch + transformers baseline (run_gpu_suite.sh STEPS=train), the summary table last.
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash tools/gpu/session_train_final.sh
set -uo pipefail
. "$(dirname "$0")/prebuilt_env.sh"
T=/tmp/moe-run; mkdir -p $T
timeout 150 "$B/test_cuda" --gtest_filter="${GTEST_FILTER:-*Train*:*Moe*:*Expert*:CudaBatchedDecode*}" >$T/t.log 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]|Failure|NMSE|selection' $T/t.log | head -20
STEPS="train" MOE_PREBUILT=$D OUT=$OUT bash "$(dirname "$0")/run_gpu_suite.sh" >$T/suite.log 2>&1
grep -E "ms/step|peak|plan" $T/suite.log | head -20
sed -n '/== summary/,$p' $T/suite.log
