#include "model/model.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/deepseek_model.h"
#include "model/qwen2_model.h"
#include "model/weight_source.h"

namespace moe {

Logits Model::mtp_forward(std::span<const int32_t>, int64_t) {
    throw Error("model.no_mtp", "", "this model has no multi-token-prediction layer");
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

Logits download_logits(Backend& backend, const Tensor& logits) {
    Logits out;
    out.rows = logits.rows();
    out.cols = logits.cols();
    out.data = backend.download(logits);
    return out;
}

}  // namespace moe
