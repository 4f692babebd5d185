#!/usr/bin/env bash
# Per-kernel GPU times of one replayed decode step (Model::forward_greedy) of one random-weight model, through Nsight Compute
# (duration only: one pass, no replay). Prints the kernels of the last graph replay grouped by name.
#   MODEL=moonlight-16b-a3b CTX=512 bash tools/gpu/profile_decode.sh      (BIN: where cuda_bench is)
set -uo pipefail
OUT=${OUT:-$PWD/out}
BIN=${BIN:-build-gpu/bin}
MODEL=${MODEL:-moonlight-16b-a3b}
CTX=${CTX:-512}
NCU=${NCU:-$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)}
csv="$OUT/ncu_${MODEL}_${CTX}.csv"
# --clock-control none / --cache-control none: the card's own clocks and warm caches, as in a real decode.
"$NCU" --graph-profiling node --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base \
  "$BIN/cuda_bench" --models "$MODEL" --prefill none --contexts "$CTX" --decode-tokens 1 --repeats 1 >"$csv" 2>"$OUT/ncu_${MODEL}.err"
python3 - "$csv" <<'PY'
import csv, sys, collections
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))]
rows = [r for r in rows if r.get("Metric Name") == "gpu__time_duration.sum"]
names = [r["Kernel Name"] for r in rows]
# the last decode step (the replayed one): everything after the last cache fill, which is one
# fill_f32 (the random rows) and one add (added onto the cache) per layer (Model::fill_cache_for_bench)
fills = [i for i, n in enumerate(names) if "fill_" in n]
start = fills[-1] + 2 if fills else 0
step = rows[start:]
tot = collections.defaultdict(float); cnt = collections.Counter()
for r in step:
    k = r["Kernel Name"].split("(")[0][:70]
    tot[k] += float(r["Metric Value"].replace(",", "")); cnt[k] += 1
s = sum(tot.values())
print(f"{len(step)} kernels in the last decode step, {s/1e3:.1f} us of kernel time (sum of durations)")
for k, v in sorted(tot.items(), key=lambda x: -x[1]):
    print(f"{v/1e3:9.1f} us {cnt[k]:5d}x {v/1e3/cnt[k]:7.2f} us/call  {k}")
PY
