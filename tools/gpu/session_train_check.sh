#!/usr/bin/env bash
# One device call for the training core: every CUDA test, bench-train of both shapes beside the
# PyTorch + transformers baseline (run_gpu_suite.sh STEPS="tests train"), then the step profile of
# each shape (profile_train.sh). Prebuilt binaries: tools/gpu/prepare_prebuilt.sh (PACK=1).
#   tar -C .device-carry -xJf .device-carry/gpu.tar.xz && bash .device-carry/gpu/tools/gpu/session_train_check.sh
set -uo pipefail
D=${MOE_PREBUILT:-.device-carry/gpu}
export OUT=${OUT:-$PWD/out}
HERE=$(cd "$(dirname "$0")" && pwd)
STEPS="tests train" GTEST_FILTER="${GTEST_FILTER:-*}" MOE_PREBUILT=$D bash "$HERE/run_gpu_suite.sh"
TESTS= PLAIN=0 SHAPES="${SHAPES:-lora-moonlight full-100m}" MOE_PREBUILT=$D bash "$HERE/profile_train.sh"
