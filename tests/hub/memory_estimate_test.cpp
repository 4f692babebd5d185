// The memory estimate counts parameters from config.json alone; checked against DeepSeek's published
// numbers and against the engine's own count of the tensors actually stored in the fixtures.
#include <gtest/gtest.h>

#include "hub/memory_estimate.h"
#include "io/checkpoint.h"
#include "io/model_summary.h"
#include "io/real_configs.h"
#include "support/test_paths.h"

namespace moe::hub {
namespace {

ModelConfig config_of(const char* text) { return parse_model_config(parse_strict_json(text, "c", "config"), "c"); }

TEST(HubMemoryEstimate, DeepSeekV3MatchesTheReleaseNumbers) {
    const ModelConfig c = config_of(test::kDeepSeekV3Config);
    const ParameterCount p = count_parameters(c);
    EXPECT_EQ(p.main, 671026419200);  // README_WEIGHTS: 671B main model (tests/io/model_summary_test.cpp)
    EXPECT_EQ(p.mtp, 13463426304);    // the stored MTP layer, embed/head copies included
    // MLA caches the latent: (kv_lora_rank 512 + qk_rope_head_dim 64) * 61 layers * 2 bytes (bf16).
    EXPECT_EQ(kv_cache_bytes_per_token(c), uint64_t(576 * 61 * 2));
    // fp8 checkpoint: F8 elements + bf16 rest + fp32 scales; 684,531,386,000 elements incl. scales.
    EXPECT_GT(p.fp8_bytes, uint64_t(684531386000LL) - uint64_t(p.main + p.mtp) / 10);
    EXPECT_LT(p.fp8_bytes, uint64_t(2) * uint64_t(p.main + p.mtp));
}

TEST(HubMemoryEstimate, Qwen2KvCacheIsKeysAndValues) {
    const ModelConfig c = config_of(test::kQwen2Distill1p5BConfig);
    EXPECT_EQ(kv_cache_bytes_per_token(c), uint64_t(2 * c.num_key_value_heads * c.head_dim * c.num_hidden_layers * 2));
}

// The count from config.json equals what `inspect` counts in the stored tensors of each fixture.
TEST(HubMemoryEstimate, AgreesWithTheStoredTensorsOfTheFixtures) {
    for (const char* name : {"deepseek-v3-tiny", "deepseek-v2-tiny", "deepseek-v2-lite-tiny", "moonlight-tiny", "qwen2-tiny"}) {
        auto ck = Checkpoint::open(test::data_path(std::string("models/") + name));
        const ModelSummary s = summarize_checkpoint(*ck);
        const ParameterCount p = count_parameters(ck->config());
        EXPECT_EQ(p.main, s.params_total) << name;
        if (s.num_mtp_layers > 0) {
            EXPECT_EQ(p.mtp, s.params_mtp_total) << name;
        }
    }
}

TEST(HubMemoryEstimate, FitsComparesWithAvailableMemory) {
    const ModelConfig c = config_of(test::kDeepSeekV3Config);
    const MemoryEstimate e = estimate_memory(c, 0, 4096);
    ASSERT_TRUE(e.ram_available.has_value());
    EXPECT_GT(*e.ram_available, 0u);
    EXPECT_EQ(e.kv_bytes, e.kv_bytes_per_token * 4096);
    EXPECT_EQ(e.total_bytes, e.weights_bf16 + e.kv_bytes);
    EXPECT_FALSE(e.ram_fits);  // 1.3 TB of bf16 weights fit no CI machine
    const Json j = estimate_to_json(e);
    EXPECT_EQ(j["weights_bytes"]["bf16"].get<uint64_t>(), uint64_t(671026419200 + 13463426304) * 2);
}

// The GPU is the caller's to ask (hub/ includes no device API, tests/architecture checks it): the
// estimate compares the total with the free memory it is given.
TEST(HubMemoryEstimate, ComparesWithTheGpuItIsGiven) {
    const ModelConfig c = config_of(test::kQwen2Distill1p5BConfig);
    EXPECT_FALSE(estimate_memory(c, 0, 4096).gpu.has_value()) << "no GPU given, none reported";
    const uint64_t need = estimate_memory(c, 0, 4096).total_bytes;
    const MemoryEstimate roomy = estimate_memory(c, 0, 4096, GpuDevice{"Test GPU", need, 2 * need});
    ASSERT_TRUE(roomy.gpu.has_value());
    EXPECT_TRUE(roomy.gpu->fits);  // exactly enough free memory fits
    EXPECT_EQ(roomy.gpu->name, "Test GPU");
    const MemoryEstimate tight = estimate_memory(c, 0, 4096, GpuDevice{"Test GPU", need - 1, 2 * need});
    EXPECT_FALSE(tight.gpu->fits);
    const Json j = estimate_to_json(tight);
    EXPECT_EQ(j["gpu"]["free_bytes"].get<uint64_t>(), need - 1);
    EXPECT_EQ(j["gpu"]["fits"], false);
}

}  // namespace
}  // namespace moe::hub
