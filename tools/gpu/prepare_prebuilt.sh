#!/usr/bin/env bash
# Builds test_cuda, moe-engine and cuda_bench here (Release) and copies them, the shared libraries
# the GPU machine lacks, and the GPU scripts (tools/gpu, bench/) into a git-ignored carry folder:
#   tools/gpu/prepare_prebuilt.sh                       # build-cuda/ -> .device-carry/gpu
#   BUILD=build-gpu DST=/work/main/.device-carry/gpu-a tools/gpu/prepare_prebuilt.sh
#   device run: MOE_PREBUILT=.device-carry/gpu bash .device-carry/gpu/tools/gpu/run_gpu_suite.sh
# (carry: .device-carry/gpu). PACK=1 also writes $DST.tar.xz with stripped binaries (about 23 MB
# instead of 70: the device call's working tree and carry share 64 MiB); carry that instead and
# unpack it first there: tar -C .device-carry -xJf .device-carry/gpu.tar.xz. source_dir.txt names this checkout: the tests find their fixtures
# through that absolute path, which run_gpu_suite.sh points at the device's checkout. PROBE=1 also
# builds the grouped-GEMM probe into $DST/bin; OLD_ENGINE=path adds a previous moe-engine as bin/moe-engine-old.
set -euo pipefail
BUILD=${BUILD:-build-cuda}
DST=${DST:-.device-carry/gpu}
cmake -S . -B "$BUILD" -G Ninja -DMOE_BUILD_GUI=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j"${JOBS:-2}" test_cuda moe-engine cuda_bench
rm -rf "$DST" && mkdir -p "$DST/bin" "$DST/lib" "$DST/tools" "$DST/bench"
cp "$BUILD"/bin/{test_cuda,moe-engine,cuda_bench} "$DST/bin/"
# OLD_ENGINE=path: a previous build's moe-engine rides along as bin/moe-engine-old (the same call's baseline).
if [ -n "${OLD_ENGINE:-}" ]; then cp "$OLD_ENGINE" "$DST/bin/moe-engine-old"; fi
if [ "${PROBE:-0}" = 1 ]; then  # the grouped-GEMM probe (tools/gpu/probes/grouped_gemm_probe.cu) rides along
  /usr/local/cuda/bin/nvcc -O2 -std=c++17 -gencode arch=compute_90a,code=sm_90a -Ikernels \
    tools/gpu/probes/grouped_gemm_probe.cu kernels/grouped_gemm.cu kernels/grouped_gemm_wgmma.cu kernels/grouped_gemm_wgmma_ws.cu -lcublas \
    -o "$DST/bin/grouped_gemm_probe"
fi
# Everything the binaries link that is neither the C/C++ runtime nor CUDA (the GPU machine has those).
ldd "$DST"/bin/* | awk '/=> \// {print $3}' | sort -u |
  grep -vE '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libgomp|libcuda|libcudart|libcublas|libcublasLt)\.so' |
  xargs -r -I{} cp -L {} "$DST/lib/"
# The CUPTI timeline (tools/gpu/trace/): LD_PRELOAD=$DST/lib/libcupti_trace.so CUPTI_TRACE_OUT=t.csv <program>
CUPTI_LIB=$(ls /usr/local/cuda/lib64/libcupti.so.* /usr/local/cuda/lib/libcupti.so.* 2>/dev/null | head -1 || true)
if [ -n "$CUPTI_LIB" ]; then
  g++ -O2 -shared -fPIC -I/usr/local/cuda/include tools/gpu/trace/cupti_trace.cpp "$CUPTI_LIB" \
    -Wl,-rpath,'$ORIGIN' -o "$DST/lib/libcupti_trace.so"
  cp -L "$CUPTI_LIB" "$DST/lib/"
fi
cp -r tools/gpu "$DST/tools/"
cp bench/*.py "$DST/bench/"
pwd > "$DST/source_dir.txt"
git rev-parse HEAD > "$DST/commit.txt" 2>/dev/null || true
git status --short > "$DST/worktree_status.txt" 2>/dev/null || true
du -sh "$DST"
if [ "${PACK:-0}" = 1 ]; then
  tmp=$(mktemp -d)
  cp -r "$DST" "$tmp/$(basename "$DST")"
  rm -f "$tmp/$(basename "$DST")/bin/cuda_bench"  # `moe-engine bench` runs the same code
  strip "$tmp/$(basename "$DST")"/bin/*
  XZ_OPT=-9e tar -C "$tmp" -cJf "$DST.tar.xz" "$(basename "$DST")"  # -9e: ~13% smaller than -6
  rm -rf "$tmp"
  du -sh "$DST.tar.xz"
fi
