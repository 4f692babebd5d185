// The vocabulary mask (engine/generate/vocabulary.h): ids past the tokenizer's vocabulary are never
// generated, whatever their logits; the rule is one function, applied by the Generator.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "generate/sampler.h"
#include "generate/vocabulary.h"
#include "io/model_config.h"
#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

namespace moe {
namespace {

TEST(VocabularyMask, PaddedIdsCanNeverWin) {
    const VocabularyMask mask{8, 5};  // a head of 8 rows, a tokenizer of 5 tokens
    EXPECT_EQ(mask.sampleable(), 5);
    EXPECT_EQ(mask.masked(), 3);
    std::vector<float> logits = {0.1f, 2.0f, -1.0f, 0.5f, 1.0f, 9.0f, 3.0f, 7.0f};
    ASSERT_EQ(argmax(logits), 5) << "unmasked, the padded id 5 is the model's argmax";
    mask.apply(logits);
    EXPECT_EQ(argmax(logits), 1) << "masked, greedy takes the best id that has a token";
    for (int i = 5; i < 8; ++i) EXPECT_EQ(logits[i], -std::numeric_limits<float>::infinity()) << i;
    EXPECT_EQ(logits[1], 2.0f) << "ids with a token keep their logits";

    Sampler sampler(SamplingParams{.greedy = false, .temperature = 5.0f, .seed = 3});
    const std::vector<float> p = sampler.probabilities(logits, {});
    for (int i = 5; i < 8; ++i) EXPECT_EQ(p[i], 0.0f) << "sampling can never draw padded id " << i;
}

TEST(VocabularyMask, NothingIsMaskedWithoutPaddingOrTokenizer) {
    std::vector<float> logits = {1.0f, 3.0f, 2.0f};
    VocabularyMask{3, 3}.apply(logits);
    VocabularyMask{3, 0}.apply(logits);   // no tokenizer: the default of GenerationOptions
    VocabularyMask{3, 10}.apply(logits);  // a tokenizer larger than the head (ids past it cannot come out anyway)
    EXPECT_EQ(logits, (std::vector<float>{1.0f, 3.0f, 2.0f}));
    EXPECT_EQ((VocabularyMask{3, 10}.sampleable()), 3);
    EXPECT_EQ((VocabularyMask{3, 10}.masked()), 0);
    EXPECT_EQ((VocabularyMask{3, 0}.masked()), 0);
}

// The rule reads the head's size from config.json and the vocabulary from the tokenizer: the
// deepseek-v3-tiny fixture has 512 rows for 500 tokens.
TEST(VocabularyMask, TheRuleOfAFixture) {
    const std::string dir = test::data_path("models/deepseek-v3-tiny");
    const ModelConfig config =
        parse_model_config(parse_strict_json(test::read_file(dir + "/config.json"), "config.json", "config"), dir);
    const VocabularyMask mask = vocabulary_mask(config, *Tokenizer::load(dir));
    EXPECT_EQ(mask.model_vocab, 512);
    EXPECT_EQ(mask.tokenizer_vocab, 500);
    EXPECT_EQ(vocabulary_json(mask), Json({{"model", 512}, {"tokenizer", 500}, {"sampleable", 500}, {"masked", 12}}));
}

}  // namespace
}  // namespace moe
