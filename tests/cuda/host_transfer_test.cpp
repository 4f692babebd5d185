// Host <-> device transfers that do not wait for the queue (upload_ring.h, ids_readback.h): bytes
// arrive intact however the ring wraps and whatever the host does with its source right after the
// call, and the router's early copy of its expert ids is what a plain download reads.
#include <cstring>
#include <numeric>
#include <vector>

#include "cuda/cuda_context.h"
#include "cuda/ids_readback.h"
#include "cuda/upload_ring.h"
#include "cuda_test_util.h"

namespace moe::test {
namespace {

using CudaUploadRing = CudaTest;

TEST_F(CudaUploadRing, CopiesArriveIntactWhenTheRingWrapsAndSourcesAreReusedAtOnce) {
    cuda::DeviceContext& ctx = *gpu->context();
    cuda::UploadRing ring(4096);  // small: hundreds of wraps; 5000 B copies go around it directly
    const std::vector<size_t> sizes = {1, 7, 64, 255, 256, 1000, 3000, 4096, 5000};
    std::vector<std::unique_ptr<cuda::Scratch>> dst;
    std::vector<std::vector<unsigned char>> expected;
    std::vector<unsigned char> src;
    for (int i = 0; i < 600; ++i) {
        const size_t n = sizes[size_t(i) % sizes.size()];
        src.resize(n);
        for (size_t j = 0; j < n; ++j) src[j] = static_cast<unsigned char>((seed + uint64_t(i) * 131 + j * 7) & 0xFF);
        dst.push_back(std::make_unique<cuda::Scratch>(ctx, n, "upload ring test"));
        ring.copy(dst.back()->get(), src.data(), n, ctx.stream());
        expected.push_back(src);
        std::memset(src.data(), 0xEE, n);  // the ring must have staged the bytes already
    }
    MOE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
    for (size_t i = 0; i < dst.size(); ++i) {
        std::vector<unsigned char> got(expected[i].size());
        MOE_CUDA_CHECK(cudaMemcpy(got.data(), dst[i]->get(), got.size(), cudaMemcpyDeviceToHost));
        ASSERT_EQ(got, expected[i]) << "copy " << i << " of " << got.size() << " bytes, seed " << seed;
    }
}

TEST_F(CudaUploadRing, BackendUploadsGoThroughItAndMatchTheHostData) {
    std::vector<int32_t> ids(10000);
    std::iota(ids.begin(), ids.end(), int32_t(seed % 1000));
    const Tensor t = gpu->upload_i32(ids, 100, 100);
    std::fill(ids.begin(), ids.end(), -1);  // reused at once
    std::vector<int32_t> want(10000);
    std::iota(want.begin(), want.end(), int32_t(seed % 1000));
    EXPECT_EQ(gpu->download_i32(t), want);
}

using CudaIdsReadback = CudaTest;

TEST_F(CudaIdsReadback, GetReturnsTheStartedCopyAndKeepsItReadable) {
    std::vector<int32_t> a(64 * 6), b(64 * 6);
    std::iota(a.begin(), a.end(), 0);
    std::iota(b.begin(), b.end(), 1000);
    Tensor ta = gpu->upload_i32(a, 64, 6), tb = gpu->upload_i32(b, 64, 6);
    cuda::IdsReadback r;
    r.start(ta, cuda::i32(ta), gpu->context()->stream());
    EXPECT_FALSE(r.get(tb).has_value()) << "a tensor whose copy was never started";
    const auto got = r.get(ta);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, a);
    const auto again = r.get(ta);  // from the host copy: the training graph's loads read it again
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, a);
    // More copies than are kept unread: the oldest age out, the newest are still there.
    std::vector<Tensor> many;
    for (int i = 0; i < 6; ++i) {
        std::vector<int32_t> v(64 * 6, i);
        many.push_back(gpu->upload_i32(v, 64, 6));
        r.start(many.back(), cuda::i32(many.back()), gpu->context()->stream());
    }
    EXPECT_FALSE(r.get(many[0]).has_value());
    const auto last = r.get(many[5]);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, std::vector<int32_t>(64 * 6, 5));
}

// The backend's routing of many tokens starts the copy itself: download_i32 of its ids returns
// the router's choice (the values a plain copy reads), for the MoE op and the graph's loads alike.
TEST_F(CudaIdsReadback, RouterIdsDownloadThroughTheEarlyCopy) {
    const int64_t T = 40, H = 32, E = 8;
    auto [cx, gx] = both(random_f32(size_t(T * H), seed), T, H);
    auto [cg, gg] = both_weights(random_bf16_exact(size_t(E * H), seed + 1), E, H);
    RouterParams p;
    p.n_experts = E;
    p.top_k = 2;
    const RouterOutput r = gpu->route(gx, gg, nullptr, p);
    const std::vector<int32_t> early = gpu->download_i32(r.expert_ids);
    std::vector<int32_t> plain(size_t(T * 2));
    MOE_CUDA_CHECK(cudaMemcpy(plain.data(), cuda::i32(r.expert_ids), plain.size() * 4, cudaMemcpyDeviceToHost));
    EXPECT_EQ(early, plain);
    EXPECT_EQ(gpu->download_i32(r.expert_ids), plain);  // read again
}

}  // namespace
}  // namespace moe::test
