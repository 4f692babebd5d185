#include "generate/sequence_model.h"

#include <algorithm>

#include "core/error.h"

namespace moe {

SequenceModel::SequenceModel(DecodeBatcher& batcher, int64_t prefill_chunk)
    : batcher_(batcher),
      config_(batcher.model().config()),
      max_context_(batcher.model().max_context()),
      prefill_chunk_(std::max<int64_t>(prefill_chunk, 2)) {
    batcher_.exclusive([&](Model& m) { sequence_ = m.add_sequence(); });
}

SequenceModel::~SequenceModel() {
    try {
        batcher_.exclusive([&](Model& m) { m.remove_sequence(sequence_); });
    } catch (...) {
        // The model may be failing as a whole; its sequences go with it.
    }
}

Logits SequenceModel::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    check_forward_range(start_pos, int64_t(tokens.size()), cached_, max_context_);
    if (tokens.size() == 1) {
        cached_ = std::min(cached_, start_pos);  // the step rolls the sequence back to start_pos first
        std::vector<float> row = batcher_.decode(sequence_, tokens[0], start_pos);
        cached_ = start_pos + 1;
        const auto cols = int64_t(row.size());
        return Logits{1, cols, std::move(row)};
    }
    // A long prefill goes in chunks, each with the model to itself, so the other generations'
    // decode steps run between them instead of waiting for the whole prompt.
    Logits out;
    for (size_t at = 0; at < tokens.size(); at += size_t(prefill_chunk_)) {
        const auto chunk = tokens.subspan(at, std::min(tokens.size() - at, size_t(prefill_chunk_)));
        Logits part;
        on_sequence([&](Model& m) { part = m.forward(chunk, start_pos + int64_t(at), rows); });
        if (rows == LogitRows::Last) {
            out = std::move(part);  // only the final chunk's last row is asked for
            continue;
        }
        out.cols = part.cols;
        out.rows += part.rows;
        out.data.insert(out.data.end(), part.data.begin(), part.data.end());
    }
    return out;
}

int32_t SequenceModel::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    check_forward_range(pos, 1, cached_, max_context_);
    cached_ = std::min(cached_, pos);
    const int32_t id = batcher_.decode_greedy(sequence_, token, pos, vocab_limit);
    cached_ = pos + 1;
    return id;
}

void SequenceModel::truncate(int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    if (n < cached_) on_sequence([&](Model& m) { m.truncate(n); });
}

// The shared model's single-sequence calls act on the selected sequence: select ours, and always
// hand the model back with sequence 0 selected (what a generation running alone on it expects).
void SequenceModel::on_sequence(const std::function<void(Model&)>& f) {
    batcher_.exclusive([&](Model& m) {
        struct Restore {
            Model& m;
            int64_t& cached;
            ~Restore() {
                cached = m.cached_tokens();
                m.select_sequence(0);
            }
        };
        m.select_sequence(sequence_);
        const Restore restore{m, cached_};
        f(m);
    });
}

}  // namespace moe
