#include "model/hidden_history.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace moe {

void HiddenHistory::write(int64_t start, std::span<const float> rows) {
    if (width_ <= 0 || int64_t(rows.size()) % width_ != 0)
        throw_invalid_argument("hidden history: rows are not a multiple of the width " + std::to_string(width_));
    if (start < 0 || (start > end_ && begin_ != end_))
        throw_invalid_argument("hidden history: a write at " + std::to_string(start) + " skips past position " +
                               std::to_string(end_));
    if (begin_ == end_) begin_ = end_ = start;  // an empty range restarts where the write starts
    truncate(start);
    data_.insert(data_.end(), rows.begin(), rows.end());
    end_ = start + int64_t(rows.size()) / width_;
}

void HiddenHistory::truncate(int64_t n) {
    end_ = std::max<int64_t>(0, std::min(end_, n));
    begin_ = std::min(begin_, end_);
    data_.resize(size_t((end_ - begin_) * width_));
}

void HiddenHistory::reset_to(int64_t n) {
    begin_ = end_ = n;
    data_.clear();
}

std::span<const float> HiddenHistory::rows(int64_t start, int64_t n) const {
    if (!covers(start, n))
        throw_invalid_argument("hidden history: positions " + std::to_string(start) + ".." + std::to_string(start + n) +
                               " are outside the valid " + std::to_string(begin_) + ".." + std::to_string(end_));
    return {data_.data() + (start - begin_) * width_, size_t(n * width_)};
}

}  // namespace moe
