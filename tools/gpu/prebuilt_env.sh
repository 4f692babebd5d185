# Sourced by the session_*.sh scripts that run prebuilt binaries (tools/gpu/prepare_prebuilt.sh):
# sets D (the unpacked package), B (its bin/), OUT, the library path, points the absolute source
# path the tests were built in at this checkout (their fixtures), and writes $OUT/env.txt.
D=${MOE_PREBUILT:-.device-carry/gpu}
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH="$(cd "$D/lib" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
B=$D/bin
src=$(cat "$D/source_dir.txt" 2>/dev/null || true)
if [ -n "$src" ] && [ ! -e "$src/tests/data" ]; then mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; cat "$D/commit.txt"; date -u; } | tee "$OUT/env.txt"
