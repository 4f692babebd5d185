#!/usr/bin/env bash
# One GPU run for the training core: the float64 autograd fixtures (tools/fixtures/train_fixtures.py),
# the CUDA tests (training ops and step first, then the inference suite as a regression check),
# `moe-engine grad --backend cuda` on the fixtures, a short CUDA fine-tune of the tiny fixture and a
# throughput probe of a demo-sized model trained from scratch. Prebuilt binaries in $MOE_PREBUILT
# (tools/gpu/prepare_prebuilt.sh); results under $OUT.
#   MOE_PREBUILT=.device-carry/gpu FIXTURES=.device-carry/fx/train_fixtures.py SAMPLE=.device-carry/sample \
#     bash tools/gpu/train_check.sh
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
P=${MOE_PREBUILT:-.device-carry/gpu}; L=$(cd "$P/lib" && pwd); BIN=$(cd "$P/bin" && pwd)
run() { LD_LIBRARY_PATH="$L" "$@"; }
src=$(cat "$P/source_dir.txt" 2>/dev/null || true)
if [ -n "$src" ] && [ ! -e "$src/tests/data" ]; then mkdir -p "$(dirname "$src")" && ln -sfn "$PWD" "$src"; fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; cat "$P/commit.txt"; date -u; } > "$OUT/env.txt" 2>&1
export PYTHONUNBUFFERED=1
if [ -n "${FIXTURES:-}" ]; then
  ( timeout "${FIXTURE_TIMEOUT:-300}" python3 "$FIXTURES" --out /tmp/fx > "$OUT/fixtures.log" 2>&1;
    echo "fixtures rc=$?" >> "$OUT/fixtures.log"; tar -C /tmp/fx -czf "$OUT/train_fixtures.tar.gz" . ) &
fi
echo "== test_cuda (training)"
run timeout 300 "$BIN/test_cuda" --gtest_filter='*Train*:*OpTable*' > "$OUT/test_cuda_train.log" 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]|Failure' "$OUT/test_cuda_train.log" | head -40
echo "== test_cuda (inference regression)"
run timeout 240 "$BIN/test_cuda" --gtest_filter='-*Train*:*OpTable*' > "$OUT/test_cuda_rest.log" 2>&1
grep -E '^\[ *(PASSED|FAILED) *\]' "$OUT/test_cuda_rest.log" | head -20
echo "== train on cuda (tiny fixture, LoRA, 20 steps)"
run timeout 120 "$BIN/moe-engine" train --model tests/data/models/deepseek-v3-tiny --data tests/data/train_data/prose \
  --method lora --steps 20 --seq-len 64 --lr 1e-2 --backend cuda --out /tmp/run-tiny --json > "$OUT/train_tiny.jsonl" 2> "$OUT/train_tiny.err"
echo "rc=$?"; tail -2 "$OUT/train_tiny.err"
if [ -n "${SAMPLE:-}" ]; then
  echo "== demo-sized model from scratch on cuda (throughput probe)"
  cat > /tmp/demo-config.json <<'JSON'
{"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3","vocab_size":512,"hidden_size":256,
 "intermediate_size":768,"moe_intermediate_size":128,"num_hidden_layers":6,"num_attention_heads":4,"num_key_value_heads":4,
 "q_lora_rank":128,"kv_lora_rank":64,"qk_nope_head_dim":32,"qk_rope_head_dim":32,"v_head_dim":32,"n_routed_experts":16,
 "n_shared_experts":1,"num_experts_per_tok":4,"n_group":4,"topk_group":2,"topk_method":"noaux_tc","scoring_func":"sigmoid",
 "norm_topk_prob":true,"routed_scaling_factor":2.5,"first_k_dense_replace":1,"moe_layer_freq":1,"num_nextn_predict_layers":1,
 "rms_norm_eps":1e-6,"rope_theta":10000.0,"max_position_embeddings":4096,"tie_word_embeddings":false,"bos_token_id":0,"eos_token_id":1}
JSON
  run timeout 150 "$BIN/moe-engine" train --scratch-config /tmp/demo-config.json --tokenizer resources/demo \
    --data "$SAMPLE" --method full --steps 40 --seq-len 512 --batch 16 --lr 2e-3 --backend cuda --out /tmp/run-demo --json \
    > "$OUT/train_demo_probe.jsonl" 2> "$OUT/train_demo_probe.err"
  echo "rc=$?"; tail -3 "$OUT/train_demo_probe.err"
fi
wait
if [ -d /tmp/fx/train ]; then
  echo "== grad on cuda vs the fixtures"
  for c in /tmp/fx/train/*/; do n=$(basename "$c"); s="$c/settings.json"
    run timeout 60 "$BIN/moe-engine" grad --backend cuda --model "$c/model" --tokens "$c/tokens.json" \
      --mtp-lambda "$(python3 -c "import json;print(json.load(open('$s'))['mtp_lambda'])")" \
      --balance-alpha "$(python3 -c "import json;print(json.load(open('$s'))['balance_alpha'])")" \
      --out "/tmp/gradcuda/$n" > "$OUT/grad_cuda_$n.json" 2> "$OUT/grad_cuda_$n.err"; echo "$n rc=$?"
  done
  tar -C /tmp -czf "$OUT/grad_cuda.tar.gz" gradcuda 2>/dev/null
fi
tail -3 "$OUT/fixtures.log" 2>/dev/null
ls -la "$OUT"
