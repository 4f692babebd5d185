#!/usr/bin/env bash
# Per-kernel GPU times of one prefill forward per length of one synthetic model, through Nsight
# Compute (duration only: one pass, kernels serialised). The sum of durations against the bench's
# wall time per forward tells how much of a prefill is host time (syncs, launches) rather than GPU.
#   MODEL=moonlight-16b-a3b PREFILL=512,2048 bash tools/gpu/profile_prefill.sh     (BIN: where cuda_bench is)
set -uo pipefail
OUT=${OUT:-$PWD/out}
BIN=${BIN:-build-gpu/bin}
MODEL=${MODEL:-moonlight-16b-a3b}
PREFILL=${PREFILL:-512,2048}
NCU=${NCU:-$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)}
csv="$OUT/ncu_prefill_${MODEL}.csv"
# --repeats 0: the warm-up forward of each length only; one decode token after them (ignored).
"$NCU" --graph-profiling node --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base \
  "$BIN/cuda_bench" --models "$MODEL" --prefill "$PREFILL" --contexts 16 --decode-tokens 1 --repeats 0 >"$csv" 2>"$OUT/ncu_prefill_${MODEL}.err"
python3 - "$csv" "$PREFILL" <<'PY'
import csv, sys, collections
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))]
rows = [r for r in rows if r.get("Metric Name") == "gpu__time_duration.sum"]
names = [r["Kernel Name"] for r in rows]
starts = [i for i, n in enumerate(names) if "embedding_kernel" in n]
lengths = sys.argv[2].split(",")
for idx, T in enumerate(lengths):
    if idx + 1 >= len(starts):
        print(f"prefill {T}: kernels not found ({len(starts)} embedding launches)"); break
    seg = rows[starts[idx]:starts[idx + 1]]
    tot = collections.defaultdict(float); cnt = collections.Counter()
    for r in seg:
        k = r["Kernel Name"].split("(")[0][:90]
        tot[k] += float(r["Metric Value"].replace(",", "")); cnt[k] += 1
    s = sum(tot.values())
    print(f"prefill {T}: {len(seg)} kernels, {s/1e6:.2f} ms of kernel time (sum of durations)")
    for k, v in sorted(tot.items(), key=lambda x: -x[1])[:22]:
        print(f"{v/1e3:10.1f} us {cnt[k]:5d}x {v/1e3/cnt[k]:8.2f} us/call  {k}")
PY
