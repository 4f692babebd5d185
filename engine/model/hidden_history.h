// The hidden states the MTP modules read (doc §4), kept on the host with one row per sequence
// position: level 0 is the main model's post-final-norm hidden state, level j the block output of
// MTP module j-1. Rows [begin(), end()) are valid; a rollback of the sequence rolls them back too.
// On the host because every forward reads its outputs back anyway (logits, or the greedy id plus
// this row in a recorded decode step), and a module may need rows of several earlier forwards.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moe {

class HiddenHistory {
public:
    explicit HiddenHistory(int64_t width = 0) : width_(width) {}

    // rows [n, width] for positions [start, start + n); start must not skip past end() (a write
    // continues the range or rewinds it: the rows from start on are replaced), unless the range is
    // empty (it then starts at start).
    void write(int64_t start, std::span<const float> rows);
    // Keeps the positions below n.
    void truncate(int64_t n);
    // Empty, as if positions [0, n) had never been computed (a benchmark's synthetic cache).
    void reset_to(int64_t n);

    bool covers(int64_t start, int64_t n) const { return start >= begin_ && start + n <= end_; }
    // The rows of positions [start, start + n) (covers() must hold): [n, width].
    std::span<const float> rows(int64_t start, int64_t n) const;
    int64_t begin() const { return begin_; }
    int64_t end() const { return end_; }
    int64_t width() const { return width_; }

private:
    int64_t width_;
    int64_t begin_ = 0, end_ = 0;
    std::vector<float> data_;  // [end_ - begin_, width_]: row r is position begin_ + r
};

}  // namespace moe
