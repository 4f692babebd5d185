#include "train/data/packing.h"

#include <algorithm>

#include "core/error.h"

namespace moe::train {
namespace {

// Free room of every opened sequence in a max segment tree, so "the first sequence with at least
// n free" is one walk from the root. Capacity for `max_bins` sequences (one per item at most).
class FirstFitBins {
public:
    FirstFitBins(size_t max_bins, int64_t capacity) : capacity_(capacity) {
        while (leaves_ < std::max<size_t>(max_bins, 1)) leaves_ *= 2;
        tree_.assign(2 * leaves_, 0);  // unopened bins have room 0 until opened
    }

    // Index of the bin that takes an item of `size` (opening a new one when none has room).
    size_t place(int64_t size) {
        size_t bin;
        if (tree_[1] >= size) {
            size_t node = 1;
            while (node < leaves_) node = tree_[2 * node] >= size ? 2 * node : 2 * node + 1;
            bin = node - leaves_;
        } else {
            bin = opened_++;
            set(bin, capacity_);
        }
        set(bin, tree_[leaves_ + bin] - size);
        return bin;
    }

private:
    void set(size_t bin, int64_t room) {
        size_t node = leaves_ + bin;
        tree_[node] = room;
        for (node /= 2; node >= 1; node /= 2) tree_[node] = std::max(tree_[2 * node], tree_[2 * node + 1]);
    }

    int64_t capacity_;
    size_t leaves_ = 1;
    size_t opened_ = 0;
    std::vector<int64_t> tree_;
};

}  // namespace

int64_t PackedBatch::target_count() const {
    return int64_t(std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; }));
}

PackedBatch padding_batch(int64_t batch, int64_t seq_len, int32_t pad_id) {
    PackedBatch p;
    p.batch = batch;
    p.seq_len = seq_len;
    const size_t rows = size_t(batch * seq_len);
    p.tokens.assign(rows, pad_id);
    p.targets.assign(rows, -1);
    p.positions.resize(rows);
    p.segment_start.assign(rows, 0);
    p.domain.assign(rows, -1);
    for (size_t r = 0; r < rows; ++r) p.positions[r] = int32_t(int64_t(r) % seq_len);
    return p;
}

void write_sequence(PackedBatch& out, int64_t b, std::span<const Sample* const> samples) {
    const size_t base = size_t(b * out.seq_len);
    int64_t t = 0;
    for (const Sample* s : samples) {
        const int64_t n = s->size();
        if (t + n > out.seq_len) throw_invalid_argument("write_sequence: the samples do not fit in seq_len");
        for (int64_t j = 0; j < n; ++j) {
            const size_t r = base + size_t(t + j);
            out.tokens[r] = s->tokens[size_t(j)];
            // The last token of a sample predicts nothing: the next row belongs to another sample.
            out.targets[r] = j + 1 < n && s->is_target[size_t(j + 1)] ? s->tokens[size_t(j + 1)] : -1;
            out.positions[r] = int32_t(j);
            out.segment_start[r] = int32_t(t);
            out.domain[r] = s->domain;
        }
        t += n;
    }
    for (int64_t j = t; j < out.seq_len; ++j) {  // the padding: its own segment, positions from 0
        const size_t r = base + size_t(j);
        out.positions[r] = int32_t(j - t);
        out.segment_start[r] = int32_t(t);
    }
}

std::vector<std::vector<int32_t>> pack_first_fit(std::span<const int64_t> lengths, std::span<const int32_t> order,
                                                 int64_t capacity) {
    FirstFitBins bins(order.size(), capacity);
    std::vector<std::vector<int32_t>> sequences;
    for (int32_t item : order) {
        const int64_t n = lengths[size_t(item)];
        if (n < 1 || n > capacity) throw_invalid_argument("pack_first_fit: an item does not fit in a sequence");
        const size_t bin = bins.place(n);
        if (bin == sequences.size()) sequences.emplace_back();
        sequences[bin].push_back(item);
    }
    return sequences;
}

}  // namespace moe::train
