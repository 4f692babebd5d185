// Prompts drawn from training data for self-distillation (train/data/prompt_sampler.h): so many per
// domain, the same for a seed and different for another, at most max_tokens tokens, each a piece
// of its source starting at a line start, a chat line giving its user message.
#include <gtest/gtest.h>

#include <set>

#include "train/data/prompt_sampler.h"
#include "support/temp_dir.h"
#include "train_data_util.h"
#include "core/error.h"

namespace moe::train::test {
namespace {

std::vector<DataSourceSpec> sources() {
    return {DataSourceSpec::parse(data_path("train_data/prose")), DataSourceSpec::parse(data_path("train_data/code") + "=code"),
            DataSourceSpec::parse(data_path("train_data/chat.jsonl") + "=chat")};
}

std::string file_text(const std::string& path) { return moe::test::read_file(path); }

TEST(PromptSampler, SoManyPerDomainAtMostMaxTokensAndDeterministic) {
    PromptSampling s;
    s.per_domain = 3;
    s.max_tokens = 12;
    s.seed = 5;
    const auto a = sample_prompts(sources(), tiny(), s);
    const auto b = sample_prompts(sources(), tiny(), s);
    std::map<std::string, int> count;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].text, b[i].text) << "the same seed gives the same prompts";
        ++count[a[i].domain];
        const size_t n = tiny().encode(a[i].text, false).size();
        EXPECT_GE(n, 4u) << a[i].text;
        EXPECT_LE(n, 12u + 2u) << a[i].text;  // re-encoding the decoded text may merge or split at the edges
        EXPECT_EQ(a[i].text.find("\xEF\xBF\xBD"), std::string::npos) << "a character cut in two: " << a[i].text;
    }
    // chat.jsonl tags some lines "domain": "math", which overrides the source's tag.
    EXPECT_EQ(count, (std::map<std::string, int>{{"prose", 3}, {"code", 3}, {"chat", 3}, {"math", 3}}));
    s.seed = 6;
    const auto c = sample_prompts(sources(), tiny(), s);
    int same = 0;
    for (size_t i = 0; i < std::min(a.size(), c.size()); ++i) same += a[i].text == c[i].text;
    EXPECT_LT(same, int(a.size())) << "another seed draws other prompts";
}

TEST(PromptSampler, TextPromptsStartAtALineOfTheSourceAndChatsGiveTheUserMessage) {
    PromptSampling s;
    s.per_domain = 4;
    s.max_tokens = 8;
    const std::string chat = file_text(data_path("train_data/chat.jsonl"));
    std::string prose;
    for (const char* f : {"letter.txt", "river.txt"}) prose += file_text(data_path(std::string("train_data/prose/") + f)) + "\n";
    for (const DomainPrompt& p : sample_prompts(sources(), tiny(), s)) {
        if (p.domain == "prose") {
            const size_t at = prose.find(p.text);
            ASSERT_NE(at, std::string::npos) << p.text;
            EXPECT_TRUE(at == 0 || prose[at - 1] == '\n' || prose[at - 1] == ' ' || prose[at - 1] == '\t') << p.text;
        }
        if (p.domain == "chat") {
            EXPECT_NE(chat.find("\"content\": \"" + p.text.substr(0, 6)), std::string::npos) << p.text;
        }
    }
}

TEST(PromptSampler, NoTextAtAllIsAnErrorNamingTheSource) {
    moe::test::TempDir dir;
    { std::ofstream(dir.path() + "/empty.jsonl") << "not json\n"; }
    try {
        sample_prompts({DataSourceSpec::parse(dir.path() + "/empty.jsonl")}, tiny(), PromptSampling{});
        FAIL() << "no prompts and no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "data.no_prompts");
        EXPECT_NE(std::string(e.what()).find("empty.jsonl"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace moe::train::test
