// The token batches `grad` (and other training commands) read: a numpy .npy of int32/int64
// [B, T] (or [T]: one sequence), or a JSON list of token lists. Errors name the file and what is
// wrong: unreadable, not integers, empty, ragged (rows of different lengths), negative ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::cli {

std::vector<std::vector<int32_t>> read_token_file(const std::string& path);

// Throws cli.bad_tokens naming the file when an id is ≥ vocab or a sequence is longer than `max_len`.
void check_token_batch(const std::vector<std::vector<int32_t>>& batch, int64_t vocab, int64_t max_len,
                       const std::string& path);

}  // namespace moe::cli
