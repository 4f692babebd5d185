// Where the rows of one forward go in the KV caches. A single sequence's forward is one span (its
// T rows at consecutive positions from start_pos); a batched decode step (Model::decode_batch) is
// one span of one row per sequence, each into that sequence's cache. Everything but attention is
// the same for both: only attention splits the rows by span.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/backend.h"

namespace moe {

// Cache: what a graph keeps per layer per sequence (a latent cache Tensor for MLA, K and V for GQA).
template <class Cache>
struct KvSpan {
    Cache* cache = nullptr;
    int64_t start_pos = 0;
    int64_t rows = 0;
};

// The rows of x [R, C] that belong to the span starting at row0: x itself when the span is all of
// it (no copy; an in-place op on the result then acts on x), else a copy of those rows.
inline Tensor span_rows(Backend& backend, const Tensor& x, int64_t row0, int64_t rows) {
    return row0 == 0 && rows == x.rows() ? x : backend.slice_rows(x, row0, rows);
}

// attend(row0, span) -> [span.rows, C] for every span, stacked in row order -> [R, C].
template <class Cache, class Attend>
Tensor attend_per_span(Backend& backend, std::span<const KvSpan<Cache>> spans, Attend&& attend) {
    if (spans.size() == 1) return attend(int64_t(0), spans[0]);
    std::vector<Tensor> outs;
    outs.reserve(spans.size());
    int64_t row0 = 0;
    for (const KvSpan<Cache>& s : spans) {
        outs.push_back(attend(row0, s));
        row0 += s.rows;
    }
    return backend.concat_rows(outs);
}

}  // namespace moe
