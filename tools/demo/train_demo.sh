#!/usr/bin/env bash
# Trains the embedded demo model on the GPU machine with this engine (tools/demo/train_demo.toml:
# from scratch, 5 minutes of training) and exports it in fp8 (e4m3, 128x128 block scales) without
# the MTP copies. Needs the corpora (tools/demo/build_corpora.sh -> .device-carry/corpora) and the
# prebuilt engine ($MOE_PREBUILT, tools/gpu/prepare_prebuilt.sh). Writes $OUT/demo-model.tar.gz
# (the export) and $OUT/demo-history.jsonl (the run's steps and evals).
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
P=${MOE_PREBUILT:-.device-carry/gpu}; L=$(cd "$P/lib" && pwd)
run() { LD_LIBRARY_PATH="$L" "$@"; }
RUN=${RUN_DIR:-/tmp/demo-run}
run "$P/bin/moe-engine" train tools/demo/train_demo.toml --json --tokenizer resources/demo-trained --out "$RUN" \
  ${DEMO_ARGS:-} > "$OUT/demo-events.jsonl" 2> "$OUT/demo-train.log"
echo "train rc=$?"; tail -3 "$OUT/demo-train.log"
cp "$RUN/history.jsonl" "$OUT/demo-history.jsonl" 2>/dev/null
run "$P/bin/moe-engine" export --run "$RUN" --out /tmp/demo-export --dtype fp8 --no-mtp-copies > "$OUT/demo-export.json"
echo "export rc=$?"; cat "$OUT/demo-export.json"
tar -C /tmp -czf "$OUT/demo-model.tar.gz" demo-export
