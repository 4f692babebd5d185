// Fill-in-the-middle: the model's own FIM tokens in PSM order, the split on character boundaries,
// FIM only for the configured domains, and off (with the reason in the report) without FIM tokens.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/temp_dir.h"
#include "tokenizer/utf8.h"
#include "train/data/dataset.h"
#include "train/data/fim.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

// Splits PSM tokens at the three markers: {prefix, suffix, middle} token lists and what follows the
// middle's text (the end-of-text token). Fails the test when the markers are not there once each, in order.
struct PsmParts {
    std::vector<int32_t> prefix, suffix, middle;
    bool ok = false;
};

PsmParts split_psm(const std::vector<int32_t>& ids, const FimFormat& f) {
    PsmParts p;
    auto at = [&](int32_t marker) { return std::find(ids.begin(), ids.end(), marker); };
    const auto a = at(f.prefix_marker), b = at(f.suffix_marker), c = at(f.middle_marker);
    if (a == ids.end() || b == ids.end() || c == ids.end() || !(a < b && b < c)) return p;
    if (std::count(ids.begin(), ids.end(), f.prefix_marker) != 1) return p;
    p.prefix.assign(a + 1, b);
    p.suffix.assign(b + 1, c);
    auto end = ids.end();
    if (f.end_of_text >= 0 && ids.back() == f.end_of_text) --end;
    p.middle.assign(c + 1, end);
    p.ok = true;
    return p;
}

TEST(Fim, DetectsDeepSeekTokens) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    const Tokenizer& tok = test::deepseek_v3();
    const FimFormat f = FimFormat::detect(tok);
    EXPECT_EQ(f.style, FimStyle::DeepSeek);
    EXPECT_EQ(f.prefix_marker, tok.token_to_id("<｜fim▁begin｜>"));
    EXPECT_EQ(f.suffix_marker, tok.token_to_id("<｜fim▁hole｜>"));
    EXPECT_EQ(f.middle_marker, tok.token_to_id("<｜fim▁end｜>"));
    EXPECT_EQ(f.end_of_text, tok.eos_id());
    EXPECT_STREQ(f.name(), "deepseek");
}

TEST(Fim, DetectsQwenTokens) {
    SKIP_WITHOUT_SHARED("qwen3");
    const Tokenizer& tok = test::qwen3();
    const FimFormat f = FimFormat::detect(tok);
    EXPECT_EQ(f.style, FimStyle::Qwen);
    EXPECT_EQ(f.prefix_marker, tok.token_to_id("<|fim_prefix|>"));
    EXPECT_EQ(f.suffix_marker, tok.token_to_id("<|fim_suffix|>"));
    EXPECT_EQ(f.middle_marker, tok.token_to_id("<|fim_middle|>"));
    EXPECT_EQ(f.end_of_text, tok.token_to_id("<|endoftext|>"));
}

TEST(Fim, TinyTokenizerHasNone) {
    EXPECT_FALSE(FimFormat::detect(test::tiny()).available());
}

TEST(Fim, SplitFallsOnCharacterBoundaries) {
    const std::string text = "héllo wörld 世界 — ok";
    DataRng rng(7);
    DataRng again(7);
    bool saw_nonempty = false;
    for (int i = 0; i < 200; ++i) {
        const FimSplit s = draw_fim_split(text, rng);
        const FimSplit t = draw_fim_split(text, again);
        EXPECT_EQ(s.middle_begin, t.middle_begin);
        EXPECT_EQ(s.middle_end, t.middle_end);
        ASSERT_LE(s.middle_begin, s.middle_end);
        ASSERT_LE(s.middle_end, text.size());
        EXPECT_TRUE(tok::utf8_is_valid(text.substr(0, s.middle_begin)));
        EXPECT_TRUE(tok::utf8_is_valid(text.substr(s.middle_begin, s.middle_end - s.middle_begin)));
        EXPECT_TRUE(tok::utf8_is_valid(text.substr(s.middle_end)));
        saw_nonempty = saw_nonempty || s.middle_begin < s.middle_end;
    }
    EXPECT_TRUE(saw_nonempty);
}

void expect_psm_layout(const Tokenizer& tok) {
    const FimFormat f = FimFormat::detect(tok);
    ASSERT_TRUE(f.available());
    const std::string text = "def add(a, b):\n    return a + b\n";
    const FimSplit split{4, 15};  // prefix "def ", middle "add(a, b):\n", suffix "    return a + b\n"
    const std::vector<int32_t> ids = fim_tokens(tok, f, text, split);
    std::vector<int32_t> expected = {f.prefix_marker};
    for (const auto& [marker, part] :
         std::vector<std::pair<int32_t, std::string>>{{-1, "def "}, {f.suffix_marker, "    return a + b\n"},
                                                      {f.middle_marker, "add(a, b):\n"}}) {
        if (marker >= 0) expected.push_back(marker);
        const std::vector<int32_t> part_ids = tok.encode(part, false);
        expected.insert(expected.end(), part_ids.begin(), part_ids.end());
    }
    expected.push_back(f.end_of_text);
    EXPECT_EQ(ids, expected);
}

TEST(Fim, PsmLayoutDeepSeek) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    expect_psm_layout(test::deepseek_v3());
    // As text: DeepSeek's documented form.
    const Tokenizer& tok = test::deepseek_v3();
    EXPECT_EQ(tok.decode(fim_tokens(tok, FimFormat::detect(tok), "abcdef", {2, 4})),
              "<｜fim▁begin｜>ab<｜fim▁hole｜>ef<｜fim▁end｜>cd<｜end▁of▁sentence｜>");
}

TEST(Fim, PsmLayoutQwen) {
    SKIP_WITHOUT_SHARED("qwen3");
    expect_psm_layout(test::qwen3());
    const Tokenizer& tok = test::qwen3();
    EXPECT_EQ(tok.decode(fim_tokens(tok, FimFormat::detect(tok), "abcdef", {2, 4})),
              "<|fim_prefix|>ab<|fim_suffix|>ef<|fim_middle|>cd<|endoftext|>");
}

// With fim_rate 1 every code piece is in PSM form, and prefix + middle + suffix is the piece's text.
void expect_code_in_psm(const Tokenizer& tok) {
    DataConfig config;
    config.sources = {DataSourceSpec::parse(test::data_path("train_data/code")),
                      DataSourceSpec::parse(test::data_path("train_data/prose"))};
    config.seq_len = 512;
    config.fim_rate = 1.0;
    const Dataset data(config, tok);
    const FimFormat f = FimFormat::detect(tok);
    const DataReport report = data.report();
    EXPECT_EQ(report.fim_format, f.name());
    int64_t code_samples = 0;
    for (const Sample& s : data.train_samples()) {
        const bool code = data.domain_names()[size_t(s.domain)] == "code";
        const PsmParts p = split_psm(s.tokens, f);
        EXPECT_EQ(p.ok, code) << s.origin;
        if (!code || !p.ok) continue;
        ++code_samples;
        EXPECT_EQ(s.tokens.back(), f.end_of_text);
        EXPECT_EQ(s.loss_tokens(), s.size() - 1) << "every FIM token after the first carries loss";
        const std::string original = moe::test::read_file(s.origin.substr(0, s.origin.rfind(':')));
        EXPECT_EQ(tok.decode(p.prefix) + tok.decode(p.middle) + tok.decode(p.suffix), original) << s.origin;
    }
    EXPECT_EQ(code_samples, 3);
    EXPECT_EQ(report.fim_samples, 3);
}

TEST(Fim, CodeDomainInPsmFormDeepSeek) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    expect_code_in_psm(test::deepseek_v3());
}

TEST(Fim, CodeDomainInPsmFormQwen) {
    SKIP_WITHOUT_SHARED("qwen3");
    expect_code_in_psm(test::qwen3());
}

TEST(Fim, OffWithoutFimTokensAndTheReportSaysWhy) {
    DataConfig config;
    config.sources = {DataSourceSpec::parse(test::data_path("train_data/code"))};
    config.seq_len = 512;
    config.fim_rate = 1.0;
    const Dataset data(config, test::tiny());
    const DataReport r = data.report();
    EXPECT_EQ(r.fim_format, "none");
    EXPECT_EQ(r.fim_samples, 0);
    EXPECT_NE(r.fim_note.find("no FIM tokens"), std::string::npos) << r.fim_note;
    EXPECT_NE(r.to_text().find("FIM: off (the tokenizer has no FIM tokens"), std::string::npos) << r.to_text();
    for (const Sample& s : data.train_samples())  // plain text: the file's own tokens
        EXPECT_EQ(s.tokens, test::tiny().encode(moe::test::read_file(s.origin.substr(0, s.origin.rfind(':'))), true));
}

TEST(Fim, RateIsAShareAndDeterministic) {
    SKIP_WITHOUT_SHARED("deepseek-v3");
    moe::test::TempDir dir("fim-rate");
    for (int i = 0; i < 40; ++i)
        test::write_file(dir.file("f" + std::to_string(100 + i) + ".py"), "x_" + std::to_string(i) + " = " + std::to_string(i * i) + "\n");
    DataConfig config;
    config.sources = {DataSourceSpec::parse(dir.path() + "=code")};
    config.seq_len = 64;
    config.fim_rate = 0.5;
    config.seed = 4;
    const DataReport a = Dataset(config, test::deepseek_v3()).report();
    const DataReport b = Dataset(config, test::deepseek_v3()).report();
    EXPECT_EQ(a.fim_samples, b.fim_samples);
    // 40 draws at p = 0.5: 8..32 holds with probability > 0.9999.
    EXPECT_GE(a.fim_samples, 8);
    EXPECT_LE(a.fim_samples, 32);
    config.fim_domains = {"other"};
    EXPECT_EQ(Dataset(config, test::deepseek_v3()).report().fim_samples, 0);
}

}  // namespace
}  // namespace moe::train
