// Which token ids a generation may produce: the one rule every path that picks tokens applies
// (moe-engine generate, the server, and speculative decoding when it lands).
//
// Checkpoints pad the output head past the tokenizer's vocabulary (DeepSeek-V3: 129,280 rows for
// 128,815 tokens; Qwen2.5: 152,064 for 151,665). A padded id has no token: it cannot be printed or
// sent back as text. So the logits of ids >= the tokenizer's vocabulary are set to -inf before
// sampling, and greedy decoding takes the argmax over the ids that have a token. That differs from
// the model's raw argmax only when a padded row scores highest (an untrained or damaged head).
// `moe-engine inspect` reports the mask, `GET /v1/models` too; docs/api.md documents it.
#pragma once

#include <cstdint>
#include <span>

#include "core/strict_json.h"

namespace moe {

struct ModelConfig;
class Tokenizer;

struct VocabularyMask {
    int64_t model_vocab = 0;      // rows of the output head (config.json vocab_size); 0: unknown
    int64_t tokenizer_vocab = 0;  // ids the tokenizer has a token for; 0: no tokenizer, nothing masked

    // Ids [0, sampleable()) can be generated (all of the model's when nothing is masked).
    int64_t sampleable() const;
    // Padded ids that are never generated: model_vocab - sampleable().
    int64_t masked() const;
    // Sets the logits of masked ids to -inf. logits: [vocab] of one position.
    void apply(std::span<float> logits) const;
};

// THE rule: the model's output ids, limited to the tokenizer's vocabulary.
VocabularyMask vocabulary_mask(const ModelConfig& config, const Tokenizer& tokenizer);

// {"model": 129280, "tokenizer": 128815, "sampleable": 128815, "masked": 465}
Json vocabulary_json(const VocabularyMask& mask);

}  // namespace moe
