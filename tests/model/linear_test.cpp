// linear (x · Wᵀ + b) and embedding vs the formula, including row-block edges.
#include <gtest/gtest.h>

#include "cpu/cpu_storage.h"
#include "op_test_util.h"

namespace moe {
namespace {

TEST(Linear, MatchesFormulaAcrossBlockEdges) {
    CpuBackend be;
    for (int64_t out : {1, 15, 16, 17, 50}) {
        const int64_t T = 3, in = 37;
        const auto x = test::random_values(size_t(T * in), 1);
        const auto w = test::random_values(size_t(out * in), 2);
        const auto y = be.download(be.linear(be.upload(x, T, in), be.weight_from_f32(w, out, in)));
        EXPECT_LT(test::max_abs_diff(y, test::naive_linear(x, T, in, w, out)), 1e-5f) << "out " << out;
    }
}

TEST(Linear, AddsTheBias) {
    CpuBackend be;
    const int64_t T = 2, in = 8, out = 5;
    const auto x = test::random_values(size_t(T * in), 3);
    const auto w = test::random_values(size_t(out * in), 4);
    const auto b = test::random_values(size_t(out), 5);
    const Tensor bias = be.upload(b, 1, out);
    const auto y = be.download(be.linear(be.upload(x, T, in), be.weight_from_f32(w, out, in), &bias));
    EXPECT_LT(test::max_abs_diff(y, test::naive_linear(x, T, in, w, out, &b)), 1e-5f);
}

TEST(Linear, RejectsMismatchedWidths) {
    CpuBackend be;
    EXPECT_THROW(be.linear(be.alloc(1, 4), be.weight_from_f32(std::vector<float>(15), 3, 5)), std::exception);
}

TEST(Embedding, CopiesRowsAndRejectsUnknownIds) {
    CpuBackend be;
    const int64_t vocab = 6, H = 4;
    const auto table = test::random_values(size_t(vocab * H), 6);
    const Weight w = be.weight_from_f32(table, vocab, H);
    const std::vector<int32_t> ids{5, 0, 5, 2};
    const auto e = be.download(be.embedding(w, ids));
    for (size_t t = 0; t < ids.size(); ++t)
        for (int64_t j = 0; j < H; ++j) EXPECT_EQ(e[t * H + size_t(j)], table[size_t(ids[t] * H + j)]);
    EXPECT_THROW(be.embedding(w, std::vector<int32_t>{6}), std::exception);
    EXPECT_THROW(be.embedding(w, std::vector<int32_t>{-1}), std::exception);
}

}  // namespace
}  // namespace moe

namespace moe {
namespace {

TEST(Linear, LargeEnoughToRunInParallelMatchesFormula) {
    // Above kMinParallelWork: the OpenMP path (row blocks shared by the threads) is exercised.
    CpuBackend be;
    const int64_t T = 3, in = 300, out = 333;
    ASSERT_GE(T * in * out, cpu::kMinParallelWork);
    const auto x = test::random_values(size_t(T * in), 8);
    const auto w = test::random_values(size_t(out * in), 9);
    const auto y = be.download(be.linear(be.upload(x, T, in), be.weight_from_f32(w, out, in)));
    EXPECT_LT(test::max_abs_diff(y, test::naive_linear(x, T, in, w, out)), 1e-4f);
}

}  // namespace
}  // namespace moe
