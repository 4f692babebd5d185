#include "generate/vocabulary.h"

#include <algorithm>
#include <limits>

#include "io/model_config.h"
#include "tokenizer/tokenizer.h"

namespace moe {

int64_t VocabularyMask::sampleable() const {
    if (tokenizer_vocab <= 0) return model_vocab;
    return model_vocab > 0 ? std::min(model_vocab, tokenizer_vocab) : tokenizer_vocab;
}

int64_t VocabularyMask::masked() const { return std::max<int64_t>(0, model_vocab - sampleable()); }

void VocabularyMask::apply(std::span<float> logits) const {
    const int64_t limit = tokenizer_vocab > 0 ? tokenizer_vocab : int64_t(logits.size());
    if (int64_t(logits.size()) > limit)
        std::fill(logits.begin() + limit, logits.end(), -std::numeric_limits<float>::infinity());
}

VocabularyMask vocabulary_mask(const ModelConfig& config, const Tokenizer& tokenizer) {
    return VocabularyMask{config.vocab_size, int64_t(tokenizer.vocab_size())};
}

Json vocabulary_json(const VocabularyMask& m) {
    return Json{{"model", m.model_vocab},
                {"tokenizer", m.tokenizer_vocab > 0 ? Json(m.tokenizer_vocab) : Json(nullptr)},
                {"sampleable", m.sampleable()},
                {"masked", m.masked()}};
}

}  // namespace moe
