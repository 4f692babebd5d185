// Packing samples into fixed-length sequences with sample masking.
//
// Attention never crosses a sample boundary (row r attends to rows segment_start[r]..r of its
// sequence), positions restart at 0 for each sample, and the first token of a sample is never the
// target of the previous sample's last token. A sample never spans two sequences. Padding fills the
// end of a sequence as one segment of its own with no loss. Tested in tests/train_data/packing_test.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "train/data/sample.h"

namespace moe::train {

// All vectors are [batch * seq_len], row-major: row r = b * seq_len + t.
struct PackedBatch {
    int64_t batch = 0, seq_len = 0;
    std::vector<int32_t> tokens;
    std::vector<int32_t> targets;        // token to predict at row r: tokens[r+1] when r+1 is in the same sample
                                         // and that token is a target; else -1 (no loss)
    std::vector<int32_t> positions;      // 0, 1, 2... restarting at every sample (and at the padding)
    std::vector<int32_t> segment_start;  // t of the first row of r's sample within its sequence
    std::vector<int32_t> domain;         // the sample's domain index; -1 on padding

    int64_t target_count() const;        // rows with a target (the tokens the loss is averaged over)
};

// A [batch, seq_len] batch of padding only: pad_id, target -1, one segment per sequence, domain -1.
PackedBatch padding_batch(int64_t batch, int64_t seq_len, int32_t pad_id);

// Writes the samples one after another into sequence b of `out` (rows b*seq_len ...), the rest stays
// padding (re-segmented to start after the last sample). The samples must fit: sum of sizes <= seq_len.
void write_sequence(PackedBatch& out, int64_t b, std::span<const Sample* const> samples);

// Greedy first-fit: each item, in `order`, goes to the first sequence with room for it, or opens a
// new one. Returns the item indices of every sequence in the order the sequences were opened.
// Every lengths[i] must be in [1, capacity]. O(n log n) (a max-tree over the sequences' free room).
std::vector<std::vector<int32_t>> pack_first_fit(std::span<const int64_t> lengths, std::span<const int32_t> order,
                                                 int64_t capacity);

}  // namespace moe::train
