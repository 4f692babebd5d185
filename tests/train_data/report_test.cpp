// The data report's numbers on a known input, derived here from the DeepSeek chat format and the
// tokenizer's own counts: samples, tokens and loss tokens per domain, truncation, what was left out.
#include <gtest/gtest.h>

#include <iostream>

#include "support/temp_dir.h"
#include "train/data/dataset.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

int64_t n_tokens(const std::string& s) { return int64_t(test::tiny().encode(s, false).size()); }

std::string chat_line(const std::string& user, const std::string& assistant) {
    return Json{{"messages", Json::array({Json{{"role", "user"}, {"content", user}},
                                          Json{{"role", "assistant"}, {"content", assistant}}})}}
               .dump() +
           "\n";
}

TEST(DataReport, NumbersOnAKnownInput) {
    moe::test::TempDir dir("report");
    const std::string long_answer(400, 'z');  // far more than seq_len tokens
    const std::string long_question(400, 'q');
    test::write_file(dir.file("talk.jsonl"), chat_line("Hello there", "General Kenobi") + chat_line("Two plus two", "Four") +
                                                 chat_line("Tell me more", long_answer) +
                                                 chat_line(long_question, "unreachable"));
    const std::string prose = "A short story about a cat.\nIt slept.\n";
    test::write_file(dir.file("story.txt"), prose);

    DataConfig config;
    config.sources = {DataSourceSpec::parse(dir.file("talk.jsonl")), DataSourceSpec::parse(dir.file("story.txt"))};
    config.seq_len = 64;
    config.batch = 2;
    const Dataset data(config, test::tiny());
    const DataReport r = data.report();

    // DeepSeek's format: BOS <｜User｜> question <｜Assistant｜> answer EOS; loss on answer + EOS.
    auto chat_tokens = [](const std::string& q, const std::string& a) { return 4 + n_tokens(q) + n_tokens(a); };
    const int64_t t1 = chat_tokens("Hello there", "General Kenobi"), t2 = chat_tokens("Two plus two", "Four");
    const int64_t full3 = chat_tokens("Tell me more", long_answer);
    const int64_t loss3 = 64 - (3 + n_tokens("Tell me more"));  // the answer tokens that survive the cut
    ASSERT_GT(full3, 64);
    ASSERT_GT(3 + n_tokens(long_question), 64);

    ASSERT_EQ(data.domain_names(), (std::vector<std::string>{"story", "talk"}));
    const DomainReport& talk = r.domains[1];
    EXPECT_EQ(talk.train.samples, 3);
    EXPECT_EQ(talk.documents, 3);
    EXPECT_EQ(talk.train.tokens, t1 + t2 + 64);
    EXPECT_EQ(talk.train.loss_tokens, (n_tokens("General Kenobi") + 1) + (n_tokens("Four") + 1) + loss3);
    EXPECT_EQ(r.truncated_samples, 2);  // both long conversations were cut ...
    EXPECT_EQ(r.truncated_tokens, (full3 - 64) + (chat_tokens(long_question, "unreachable") - 64));
    ASSERT_EQ(r.dropped.size(), 1u);    // ... and the second has no assistant token left
    EXPECT_EQ(r.dropped[0].origin, dir.file("talk.jsonl") + ":4");
    EXPECT_EQ(r.conversations, 4);

    const DomainReport& story = r.domains[0];
    const int64_t story_tokens = int64_t(test::tiny().encode(prose, true).size());
    EXPECT_EQ(story.train.samples, 1);
    EXPECT_EQ(story.train.tokens, story_tokens);
    EXPECT_EQ(story.train.loss_tokens, story_tokens - 1);
    EXPECT_EQ(story.holdout.samples, 0);

    EXPECT_EQ(r.train_total().tokens, t1 + t2 + 64 + story_tokens);
    EXPECT_GE(r.sequences_per_epoch, 2);
    EXPECT_DOUBLE_EQ(r.packing_fill, double(r.train_total().tokens) / double(r.sequences_per_epoch * 64));
    EXPECT_EQ(r.sources[0].samples, 3);
    EXPECT_EQ(r.sources[1].samples, 1);

    // The loss tokens in the report are exactly the targets the batches carry over one epoch.
    Dataset stream = data;
    int64_t targets = 0;
    for (int64_t seq = 0; seq < r.sequences_per_epoch;) {
        const PackedBatch b = stream.next_train();
        for (int64_t row = 0; row < b.batch * b.seq_len; ++row)
            if (seq + row / b.seq_len < r.sequences_per_epoch && b.targets[size_t(row)] >= 0) ++targets;
        seq += b.batch;
    }
    EXPECT_EQ(targets, r.train_total().loss_tokens);

    const Json j = r.to_json();
    EXPECT_EQ(j["totals"]["train"]["loss_tokens"], r.train_total().loss_tokens);
    EXPECT_EQ(j["domains"][1]["name"], "talk");
    EXPECT_EQ(j["truncated"]["samples"], 2);
    const std::string text = r.to_text();
    std::cout << text;
    EXPECT_NE(text.find("talk"), std::string::npos);
    EXPECT_NE(text.find("2 chat sample(s) truncated to 64 tokens"), std::string::npos) << text;
    EXPECT_NE(text.find(":4: no assistant token within the first 64 tokens"), std::string::npos) << text;
}

}  // namespace
}  // namespace moe::train
