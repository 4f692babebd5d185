// The model interface every graph (DeepSeek MLA/MoE, Qwen2) implements, and the factory.
//
// A Model owns its KV caches and runs batch-1 sequences: forward(tokens, start_pos) appends the
// tokens at positions [start_pos, start_pos + T) (start_pos <= cached_tokens(); a smaller start_pos
// rolls the cache back first) and returns their logits. The Checkpoint and the Backend must outlive
// the model (on the CPU the weights stay in the checkpoint's memory maps).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "io/model_config.h"
#include "model/backend.h"
#include "telemetry/routing_trace.h"

namespace moe {

class Checkpoint;

// Host-side logits [rows, vocab], row-major.
struct Logits {
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<float> data;
    std::span<const float> row(int64_t i) const { return {data.data() + i * cols, size_t(cols)}; }
};

// What Model::forward_sample draws with. history: every token seen so far (prompt + generated,
// the repetition penalty's set); draw: the index of this draw in the seed's random stream (the
// generator counts its tokens), so the same seed gives the same tokens.
struct SampleRequest {
    SamplingParams params;
    std::span<const int32_t> history;
    uint64_t draw = 0;
};

enum class LogitRows {
    All,   // one row per input token (tests, scoring)
    Last,  // only the last token's row (generation: skips T-1 lm_head rows)
};

struct ModelOptions {
    // KV-cache capacity in tokens (clamped to max_position_embeddings). Caches are allocated up
    // front: 576 floats per token per layer for MLA.
    int64_t max_context = 4096;
};

class Model {
public:
    virtual ~Model() = default;
    Model() = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    virtual const ModelConfig& config() const = 0;

    // tokens [T] at positions [start_pos, start_pos + T) -> logits [T, vocab] (or [1, vocab] with
    // LogitRows::Last). Throws "model.context_full" beyond max_context(), "model.bad_position" when
    // start_pos > cached_tokens().
    virtual Logits forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows = LogitRows::All) = 0;
    // Empties the KV caches (main and MTP).
    virtual void reset() = 0;
    // Keeps the first n cached positions (main and MTP); n larger than what is cached is a no-op.
    virtual void truncate(int64_t n) = 0;
    virtual int64_t cached_tokens() const = 0;
    virtual int64_t max_context() const = 0;

    // One greedy decode step: runs `token` at position `pos` as forward() does and returns the id
    // of the largest logit among ids [0, vocab_limit) (0, or >= vocab: the whole vocabulary; ties:
    // the lowest id). The graphs choose on the backend (Backend::argmax_rows inside the decode
    // step), so a GPU step reads back the id (plus telemetry and the MTP input), never the
    // [1, vocab] logits. Same cache, routing-trace and MTP effects as forward(). The default runs
    // forward() and chooses on the host. Throws "model.no_finite_logit" when every logit is NaN.
    virtual int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit = 0);

    // One sampled decode step chosen on the backend (Backend::make_token_sampler): runs `token` at
    // `pos` as forward() does and returns a draw, per request.params (generate/sampler.h
    // semantics, the repetition penalty over request.history), from the logits of ids
    // [0, vocab_limit) (0, or >= vocab: all). A GPU step reads back the id, not the [1, vocab]
    // logits; the parameters and the history reach the device only when they changed since the
    // previous step (a history that extends the previous one uploads its new tokens only). Same
    // cache, routing-trace and MTP effects as forward(). Only when samples_on_backend(); the
    // default throws "engine.unsupported". Throws "model.no_finite_logit" when no logit is a number.
    virtual bool samples_on_backend() const { return false; }
    virtual int32_t forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit = 0);

    // Benchmarks only (`moe-engine bench`): claims positions [0, n) as cached without running
    // them, after adding seeded pseudo-random values U(-1, 1) to every row of the KV caches, so
    // that decode can be timed at a long context without its prefill. Whatever the model computes
    // afterwards is meaningless. Empties the MTP cache and the MTP input. Throws when
    // n > max_context(); the default throws "engine.unsupported".
    virtual void fill_cache_for_bench(int64_t n, uint64_t seed);

    // Greedy choices of every row of a forward: runs `tokens` at [start_pos, start_pos + T) as
    // forward() does and returns, per row, the id of the largest logit among ids [0, vocab_limit)
    // (0, or >= vocab: the whole vocabulary; ties: the lowest id), chosen on the backend
    // (Backend::argmax_rows), so speculative verification reads back T ids, not T rows of logits.
    // The default runs forward() and chooses on the host. Throws "model.no_finite_logit" as
    // forward_greedy does.
    virtual std::vector<int32_t> forward_greedy_rows(std::span<const int32_t> tokens, int64_t start_pos,
                                                     int64_t vocab_limit = 0);

    // Multi-token prediction (DeepSeek V3/R1, doc §4). Module j (0-based) at position i combines
    // the hidden state of level j at position i -- level 0 is the main model's post-final-norm
    // hidden state, level j > 0 is module j-1's block output -- with the embedding of the token at
    // position i + j + 1, runs its decoder block with its own KV cache and predicts the token at
    // position i + j + 2. The model keeps every level's hidden state of every cached position, so a
    // module can run over any range the level below it has computed (generate/speculative.h).
    //
    // mtp_module_forward(j, next_tokens, start_pos, rows): positions [start_pos, start_pos + n),
    // next_tokens[i] being the token at start_pos + i + j + 1; rolls module j's cache back to
    // start_pos first (start_pos <= mtp_module_cached(j)). Returns draft logits [n, vocab] (or the
    // last row). Throws "model.no_mtp" for a module the model lacks and "model.mtp_without_hidden"
    // when level j has not computed (or has rolled back) those positions.
    virtual int64_t mtp_modules() const { return 0; }
    bool has_mtp() const { return mtp_modules() > 0; }
    virtual Logits mtp_module_forward(int64_t module, std::span<const int32_t> next_tokens, int64_t start_pos,
                                      LogitRows rows = LogitRows::All);
    virtual int64_t mtp_module_cached(int64_t module) const;
    // Module 0 over all rows (the form the tests and parity runs use).
    Logits mtp_forward(std::span<const int32_t> next_tokens, int64_t start_pos) {
        return mtp_module_forward(0, next_tokens, start_pos, LogitRows::All);
    }
    int64_t mtp_cached_tokens() const { return has_mtp() ? mtp_module_cached(0) : 0; }

    // ---- several sequences (continuous batching) -------------------------------------------
    // Besides sequence 0, a model may hold more sequences, each with its own KV caches (main and
    // MTP), cached length and MTP inputs. Every single-sequence call above (forward, the greedy and
    // sampled steps, truncate, reset, cached_tokens, the MTP calls, fill_cache_for_bench) acts on
    // the selected sequence, 0 unless select_sequence() chose another; decode_batch() runs one
    // token of several sequences in one forward, so the weights are read once for all of them.
    // A model without this support has only sequence 0; the defaults throw "engine.unsupported".
    virtual bool supports_sequences() const { return false; }
    // A new, empty sequence's id (ids of removed sequences are reused). Allocates its caches.
    virtual int64_t add_sequence();
    // Frees a sequence's caches; sequence 0 cannot be removed. Selects 0 if it was selected.
    virtual void remove_sequence(int64_t sequence);
    // Throws "model.no_sequence" for an id that does not name a live sequence.
    virtual void select_sequence(int64_t sequence);
    virtual int64_t selected_sequence() const { return 0; }
    virtual int64_t live_sequences() const { return 1; }
    // Device (or host) bytes one more sequence's caches take: what a scheduler budgets with.
    virtual int64_t sequence_cache_bytes() const { return 0; }
    // One decode step of several sequences: row b runs rows[b].token at position rows[b].pos of
    // sequence rows[b].sequence (pos <= its cached length; a smaller pos rolls it back first, as
    // forward() does). Returns the logits [n, vocab] of the rows with want_logits, in row order.
    // greedy_ids, when given, receives every row's greedy choice among ids [0, vocab_limit) (0 or
    // >= vocab: all; ties: the lowest id; -1: no finite logit), chosen on the backend
    // (Backend::argmax_rows), so greedy rows read back one id, not a [vocab] row. The sequences
    // must be distinct. Each row is recorded in the routing trace as a forward of its own, tagged
    // with its sequence, and (with MTP modules) keeps its hidden state as the sequence's MTP input.
    // Throws "model.bad_batch" for an empty batch or a repeated sequence.
    struct BatchRow {
        int64_t sequence = 0;
        int32_t token = 0;
        int64_t pos = 0;
        bool want_logits = true;
    };
    virtual Logits decode_batch(std::span<const BatchRow> rows, std::vector<int32_t>* greedy_ids = nullptr,
                                int64_t vocab_limit = 0);

    // Routing telemetry of the MoE layers (empty for dense models).
    RoutingTrace& routing_trace() { return trace_; }
    const RoutingTrace& routing_trace() const { return trace_; }

protected:
    RoutingTrace trace_;
};

// Picks the graph by config().arch. Throws "model.unsupported_architecture".
std::unique_ptr<Model> load_model(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options = {});
// The same over any weight source (model/weight_source.h): random weights, trainable masters.
class WeightSource;
std::unique_ptr<Model> load_model(WeightSource& source, const ModelOptions& options = {});

// ---- helpers for graph implementations ------------------------------------------------------
// Capacity a model should allocate for its caches.
int64_t context_capacity(const ModelConfig& config, const ModelOptions& options);
// Validates a forward's position range against what is cached and the capacity.
void check_forward_range(int64_t start_pos, int64_t n_tokens, int64_t cached, int64_t capacity);
// Throws "model.token_out_of_range" unless 0 <= token < vocab.
void check_token(int32_t token, int64_t vocab);
// Downloads logits [T, vocab] from the backend.
Logits download_logits(Backend& backend, const Tensor& logits);
// forward_greedy's choice over `logits` [1, vocab] on the backend: argmax_rows of the first
// `vocab_limit` columns (0 or >= vocab: all of them) -> [1, 1] I32.
Tensor greedy_choice(Backend& backend, const Tensor& logits, int64_t vocab_limit);
// The number of columns greedy_choice reads (what a recorded decode step depends on).
int64_t greedy_columns(int64_t vocab_limit, int64_t vocab);
// The chosen id, or "model.no_finite_logit" when the backend found none (every logit NaN).
int32_t checked_greedy_id(int32_t id);
// Throws unless 0 <= n <= capacity (fill_cache_for_bench).
void check_bench_fill(int64_t n, int64_t capacity);
// Throws "model.bad_batch" for an empty batch or one that names a sequence twice.
void check_batch_rows(std::span<const Model::BatchRow> rows);
// What decode_batch hands back from the step's logits [B, vocab] on the backend: the rows that
// want logits, downloaded, and every row's greedy id into greedy_ids (when given).
Logits batch_outputs(Backend& backend, const Tensor& logits, std::span<const Model::BatchRow> rows,
                     std::vector<int32_t>* greedy_ids, int64_t vocab_limit);
// The greedy choice among the first vocab_limit values of a host row (argmax_rows' rule: NaN never
// wins, ties go to the lowest id); throws "model.no_finite_logit" when every value is NaN.
int32_t host_greedy_choice(std::span<const float> row, int64_t vocab_limit);

}  // namespace moe
