# Sourced by the session_*.sh scripts after prebuilt_env.sh: the pieces every training session
# repeats. Needs OUT and B (prebuilt_env.sh); sets L (the logs folder).
#   log          appends stdin to $OUT/summary.txt and echoes it
#   left         true while the call is inside BUDGET_S seconds (default 420)
#   ctest NAME FILTER SECONDS [ENV...]   test_cuda over a gtest filter, its verdict lines in the summary
#   bt SHAPE [TAG ENV...]   bench-train of one shape (4 steps after 2 warm-up), extra environment
#   hf_lora      transformers' LoRA moonlight step in the same call (the ratio's baseline)
#   trace_prefill [TOP]   CUPTI timeline of one moonlight prefill 2048, gaps.py's summary in the summary
L=$OUT/logs; mkdir -p "$L"
log() { tee -a "$OUT/summary.txt"; }
left() { [ "$SECONDS" -lt "${BUDGET_S:-420}" ]; }
ctest() {
  local name=$1 filter=$2 secs=$3; shift 3
  env "$@" timeout "$secs" "$B/test_cuda" --gtest_filter="$filter" >"$L/t_$name.log" 2>&1
  { echo "== tests $name ($filter${*:+; $*}): rc $?"
    grep -E '^\[ *(PASSED|FAILED) *\]|Failure|Expected|Which is|tests from.*total' "$L/t_$name.log" | head -24; } | log
}
bt() {
  local shape=$1 tag=${2:-default}; shift; [ $# -gt 0 ] && shift
  env "$@" timeout 80 "$B/moe-engine" bench-train --shapes $shape --steps 4 --warmup 2 --json "$L/bt_${shape}_$tag.json" \
    >"$L/bt_${shape}_$tag.log" 2>&1
  { echo "== bench-train $shape $tag: rc $?"; grep -E "ms/step|memory:|loss .* ->|error" "$L/bt_${shape}_$tag.log" | head -4; } | log
}
hf_lora() {
  timeout 150 python3 bench/hf_train_reference.py --shape lora-moonlight --steps 4 --warmup 2 \
    --json "$L/hf_lora-moonlight.json" >"$L/hf_lora.log" 2>&1
  { echo "== transformers lora-moonlight: rc $?"; tail -1 "$L/hf_lora.log"; } | log
}
trace_prefill() {
  CUPTI_TRACE_OUT="$L/trace_prefill.csv" LD_PRELOAD="$D/lib/libcupti_trace.so" timeout 90 "$B/moe-engine" bench \
    --models moonlight-16b-a3b --prefill 2048 --contexts 16 --decode-tokens 1 --repeats 2 >"$L/trace_prefill.log" 2>&1
  echo "== trace prefill moonlight: rc $?" | log
  python3 "$(dirname "${BASH_SOURCE[0]}")/trace/gaps.py" "$L/trace_prefill.csv" --marker embedding --index 1 \
    --top "${1:-4}" --kernels 25 2>&1 | log
  xz -6 "$L/trace_prefill.csv"
}
