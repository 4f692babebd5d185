#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/deepseek_model.h"
#include "model/qwen2_model.h"
#include "model/weight_source.h"

namespace moe {

namespace {
// argmax_rows' rule on the host: the largest of the first `cols` values, NaN never wins, ties
// go to the lowest id.
int32_t host_greedy_id(std::span<const float> row, int64_t cols) {
    int32_t best = -1;
    for (int64_t c = 0; c < cols; ++c) {
        if (std::isnan(row[size_t(c)])) continue;
        if (best < 0 || row[size_t(c)] > row[size_t(best)]) best = int32_t(c);
    }
    return checked_greedy_id(best);
}
}  // namespace

Logits Model::mtp_module_forward(int64_t module, std::span<const int32_t>, int64_t, LogitRows) {
    throw Error("model.no_mtp", "",
                "this model has no multi-token-prediction module " + std::to_string(module) + " (it has " +
                    std::to_string(mtp_modules()) + ")");
}

int64_t Model::mtp_module_cached(int64_t) const { return 0; }

std::vector<int32_t> Model::forward_greedy_rows(std::span<const int32_t> tokens, int64_t start_pos,
                                                int64_t vocab_limit) {
    const Logits l = forward(tokens, start_pos, LogitRows::All);
    std::vector<int32_t> ids;
    for (int64_t r = 0; r < l.rows; ++r) ids.push_back(host_greedy_id(l.row(r), greedy_columns(vocab_limit, l.cols)));
    return ids;
}

int32_t Model::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    const Logits l = forward(std::span<const int32_t>(&token, 1), pos, LogitRows::Last);
    return host_greedy_id(l.row(l.rows - 1), greedy_columns(vocab_limit, l.cols));
}

int32_t Model::forward_sample(int32_t, int64_t, const SampleRequest&, int64_t) {
    throw Error("engine.unsupported", "", "this model samples on the host (forward() and generate/Sampler)");
}

void Model::fill_cache_for_bench(int64_t, uint64_t) {
    throw Error("engine.unsupported", "", "this model cannot fill its cache for a benchmark");
}

namespace {
[[noreturn]] void no_sequences() {
    throw Error("engine.unsupported", "", "this model holds one sequence only (no batched decoding)");
}
}  // namespace

int64_t Model::add_sequence() { no_sequences(); }
void Model::remove_sequence(int64_t) { no_sequences(); }
void Model::select_sequence(int64_t sequence) {
    if (sequence != 0) no_sequences();
}
Logits Model::decode_batch(std::span<const BatchRow>, std::vector<int32_t>*, int64_t) { no_sequences(); }

Logits batch_outputs(Backend& backend, const Tensor& logits, std::span<const Model::BatchRow> rows,
                     std::vector<int32_t>* greedy_ids, int64_t vocab_limit) {
    if (greedy_ids) *greedy_ids = backend.download_i32(greedy_choice(backend, logits, vocab_limit));
    std::vector<int32_t> wanted;
    for (size_t b = 0; b < rows.size(); ++b)
        if (rows[b].want_logits) wanted.push_back(int32_t(b));
    if (wanted.size() == rows.size()) return download_logits(backend, logits);
    if (wanted.empty()) return Logits{0, logits.cols(), {}};
    const Tensor idx = backend.upload_i32(wanted, int64_t(wanted.size()), 1);
    return download_logits(backend, backend.gather_rows(logits, idx));
}

int32_t host_greedy_choice(std::span<const float> row, int64_t vocab_limit) {
    return host_greedy_id(row, greedy_columns(vocab_limit, int64_t(row.size())));
}

void check_batch_rows(std::span<const Model::BatchRow> rows) {
    if (rows.empty()) throw Error("model.bad_batch", "", "a batched decode step needs at least one row");
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (rows[i].sequence == rows[j].sequence)
                throw Error("model.bad_batch", "",
                            "sequence " + std::to_string(rows[i].sequence) + " appears twice in one batched step");
}

std::unique_ptr<Model> load_model(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options) {
    CheckpointSource source(checkpoint, backend);
    return load_model(source, options);
}

std::unique_ptr<Model> load_model(WeightSource& source, const ModelOptions& options) {
    switch (source.config().arch) {
        case Architecture::DeepseekV3:
        case Architecture::DeepseekV2:
            return std::make_unique<DeepseekModel>(source, options);
        case Architecture::Qwen2:
            return std::make_unique<Qwen2Model>(source, options);
    }
    throw Error("model.unsupported_architecture", source.config().source_file,
                "architecture '" + source.config().model_type + "' has no model graph");
}

int64_t context_capacity(const ModelConfig& config, const ModelOptions& options) {
    if (options.max_context <= 0) throw_invalid_argument("ModelOptions::max_context must be positive");
    int64_t cap = options.max_context;
    if (config.max_position_embeddings > 0) cap = std::min(cap, config.max_position_embeddings);
    return cap;
}

void check_forward_range(int64_t start_pos, int64_t n_tokens, int64_t cached, int64_t capacity) {
    if (n_tokens <= 0) throw_invalid_argument("forward needs at least one token");
    if (start_pos < 0 || start_pos > cached)
        throw Error("model.bad_position", "",
                    "start position " + std::to_string(start_pos) + " is past the " + std::to_string(cached) +
                        " cached positions (a forward must continue or rewind the cache, not skip ahead)");
    if (start_pos + n_tokens > capacity)
        throw Error("model.context_full", "",
                    std::to_string(start_pos + n_tokens) + " positions exceed the context capacity of " +
                        std::to_string(capacity) + " (ModelOptions::max_context)");
}

void check_token(int32_t token, int64_t vocab) {
    if (token < 0 || token >= vocab)
        throw Error("model.token_out_of_range", "",
                    "token id " + std::to_string(token) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

int64_t greedy_columns(int64_t vocab_limit, int64_t vocab) {
    return vocab_limit <= 0 || vocab_limit >= vocab ? vocab : vocab_limit;
}

Tensor greedy_choice(Backend& backend, const Tensor& logits, int64_t vocab_limit) {
    const int64_t cols = greedy_columns(vocab_limit, logits.cols());
    return backend.argmax_rows(cols == logits.cols() ? logits : backend.slice_cols(logits, 0, cols));
}

int32_t checked_greedy_id(int32_t id) {
    if (id < 0) throw Error("model.no_finite_logit", "", "every logit of the decode step is NaN: no token to choose");
    return id;
}

void check_bench_fill(int64_t n, int64_t capacity) {
    if (n < 0 || n > capacity)
        throw_invalid_argument("fill_cache_for_bench: " + std::to_string(n) + " positions do not fit the capacity of " +
                               std::to_string(capacity));
}

Logits download_logits(Backend& backend, const Tensor& logits) {
    Logits out;
    out.rows = logits.rows();
    out.cols = logits.cols();
    out.data = backend.download(logits);
    return out;
}

}  // namespace moe
