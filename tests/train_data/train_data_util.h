// Helpers for tests/train_data: tokenizers, sample inspection and the packing invariants.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"
#include "train/data/packing.h"
#include "train/data/sample.h"

namespace moe::train::test {

using moe::test::data_path;
using moe::test::shared_path;

// The 500-entry tokenizer of the tiny test models (DeepSeek-V3 chat template, no FIM tokens).
inline const Tokenizer& tiny() {
    static const std::unique_ptr<Tokenizer> t = Tokenizer::load(data_path("models/deepseek-v3-tiny"));
    return *t;
}

inline bool have_shared(const std::string& name) {
    return moe::test::file_exists(shared_path("tokenizers/" + name + "/tokenizer.json"));
}

inline const Tokenizer& deepseek_v3() {
    static const std::unique_ptr<Tokenizer> t = Tokenizer::load(shared_path("tokenizers/deepseek-v3"));
    return *t;
}

inline const Tokenizer& qwen3() {
    static const std::unique_ptr<Tokenizer> t = Tokenizer::load(shared_path("tokenizers/qwen3"));
    return *t;
}

#define SKIP_WITHOUT_SHARED(name)                                                                       \
    if (!::moe::train::test::have_shared(name))                                                          \
    GTEST_SKIP() << "no " << ::moe::train::test::shared_path("tokenizers/" name)                         \
                 << " (set MOE_SHARED_DIR to the folder holding tokenizers/)"

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good()) << path;
}

// Decoded text of every maximal run of tokens with (want_target = true) or without loss.
inline std::vector<std::string> runs(const Tokenizer& tok, const Sample& s, bool want_target) {
    std::vector<std::string> out;
    std::vector<int32_t> run;
    for (size_t j = 0; j <= s.tokens.size(); ++j) {
        const bool in = j < s.tokens.size() && (s.is_target[j] != 0) == want_target;
        if (in) run.push_back(s.tokens[j]);
        if (!in && !run.empty()) {
            out.push_back(tok.decode(run));
            run.clear();
        }
    }
    return out;
}

// The token lists of the sample segments of sequence b (padding left out: its domain is -1).
inline std::vector<std::vector<int32_t>> segments(const PackedBatch& p, int64_t b) {
    std::vector<std::vector<int32_t>> out;
    for (int64_t t = 0; t < p.seq_len; ++t) {
        const size_t r = size_t(b * p.seq_len + t);
        if (p.domain[r] < 0) continue;
        if (p.segment_start[r] == t) out.emplace_back();
        out.back().push_back(p.tokens[r]);
    }
    return out;
}

// Every invariant of a packed batch that the trainer relies on.
inline void expect_packing_invariants(const PackedBatch& p, int32_t pad_id) {
    ASSERT_EQ(p.tokens.size(), size_t(p.batch * p.seq_len));
    for (const auto* v : {&p.targets, &p.positions, &p.segment_start, &p.domain}) ASSERT_EQ(v->size(), p.tokens.size());
    for (int64_t b = 0; b < p.batch; ++b) {
        bool padding = false;
        for (int64_t t = 0; t < p.seq_len; ++t) {
            const size_t r = size_t(b * p.seq_len + t);
            SCOPED_TRACE("sequence " + std::to_string(b) + " row " + std::to_string(t));
            // Segments are contiguous and positions count from their start.
            ASSERT_GE(p.segment_start[r], 0);
            ASSERT_LE(p.segment_start[r], t);
            EXPECT_EQ(p.positions[r], t - p.segment_start[r]);
            if (t > 0 && p.segment_start[r] != t) {
                EXPECT_EQ(p.segment_start[r], p.segment_start[r - 1]);
                EXPECT_EQ(p.domain[r], p.domain[r - 1]);
            }
            // A target is the next token of the same segment, never the first token of the next.
            if (p.targets[r] >= 0) {
                ASSERT_LT(t + 1, p.seq_len) << "a target past the end of the sequence";
                EXPECT_EQ(p.segment_start[r + 1], p.segment_start[r]) << "a target crosses a sample boundary";
                EXPECT_EQ(p.targets[r], p.tokens[r + 1]);
            }
            // Padding comes last, is pad_id, and carries no loss.
            if (p.domain[r] < 0) padding = true;
            if (padding) {
                EXPECT_EQ(p.domain[r], -1) << "a sample after padding";
                EXPECT_EQ(p.tokens[r], pad_id);
                EXPECT_EQ(p.targets[r], -1);
            }
        }
    }
}

}  // namespace moe::train::test
