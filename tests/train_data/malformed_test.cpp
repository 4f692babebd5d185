// Malformed input: skipped and listed with file:line and what is wrong, or fatal, as configured;
// and the errors for sources that cannot be used at all.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "support/temp_dir.h"
#include "train/data/dataset.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

DataConfig config_for(const std::string& path, MalformedPolicy policy) {
    DataConfig c;
    c.sources = {DataSourceSpec::parse(path)};
    c.seq_len = 128;
    c.malformed = policy;
    return c;
}

std::string error_code(const DataConfig& config, const Tokenizer& tok) {
    try {
        Dataset d(config, tok);
    } catch (const Error& e) {
        return e.code();
    }
    return "no error";
}

TEST(Malformed, SkippedLinesAreListedWithFileAndLine) {
    const std::string path = test::data_path("train_data/malformed.jsonl");
    const Dataset data(config_for(path, MalformedPolicy::Skip), test::tiny());
    const DataReport r = data.report();
    // The file's layout (see tests/data/train_data/malformed.jsonl): line 5 is blank (not data).
    const std::vector<std::pair<int64_t, std::string>> expected = {
        {2, "data.invalid_json"}, {3, "data.unknown_role"}, {4, "data.no_assistant"}, {6, "data.bad_field"},
        {7, "data.bad_field"},    {8, "data.bad_field"},    {10, "data.duplicate_key"}};
    ASSERT_EQ(r.malformed.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(r.malformed[i].file, path);
        EXPECT_EQ(r.malformed[i].line, expected[i].first);
        EXPECT_EQ(r.malformed[i].code, expected[i].second);
        EXPECT_EQ(r.malformed[i].text().rfind(path + ":" + std::to_string(expected[i].first) + ": ", 0), 0u);
    }
    EXPECT_NE(r.malformed[1].reason.find("'bot'"), std::string::npos) << r.malformed[1].reason;
    // Lines 1, 9 and 11 are good: two conversations and one note.
    EXPECT_EQ(data.train_samples().size() + data.holdout_samples().size(), 3u);
    const Json j = r.to_json();
    EXPECT_EQ(j["malformed"].size(), expected.size());
    EXPECT_EQ(j["malformed"][0]["line"], 2);
    EXPECT_NE(r.to_text().find(path + ":3: "), std::string::npos);
}

TEST(Malformed, StopThrowsAtTheFirstBadLine) {
    const std::string path = test::data_path("train_data/malformed.jsonl");
    try {
        Dataset d(config_for(path, MalformedPolicy::Stop), test::tiny());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "data.invalid_json");
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.detail().rfind("line 2: ", 0), 0u) << e.detail();
    }
}

TEST(Malformed, InvalidUtf8TextFileIsReportedWithItsLine) {
    moe::test::TempDir dir("malformed");
    test::write_file(dir.file("good.txt"), "fine text\n");
    test::write_file(dir.file("bad.txt"), "line one\nline two\nbad \xC3\x28 byte\n");
    DataConfig c = config_for(dir.path() + "=text", MalformedPolicy::Skip);
    const DataReport r = Dataset(c, test::tiny()).report();
    ASSERT_EQ(r.malformed.size(), 1u);
    EXPECT_EQ(r.malformed[0].file, dir.file("bad.txt"));
    EXPECT_EQ(r.malformed[0].line, 3);
    EXPECT_EQ(r.malformed[0].code, "data.invalid_utf8");
    c.malformed = MalformedPolicy::Stop;
    EXPECT_EQ(error_code(c, test::tiny()), "data.invalid_utf8");
}

TEST(Malformed, SourcesThatCannotBeUsed) {
    moe::test::TempDir dir("sources");
    EXPECT_EQ(error_code(config_for(dir.file("nope.jsonl"), MalformedPolicy::Skip), test::tiny()),
              "data.missing_source");
    std::filesystem::create_directory(dir.file("empty"));
    EXPECT_EQ(error_code(config_for(dir.file("empty"), MalformedPolicy::Skip), test::tiny()), "data.empty_source");
    // Only malformed lines: nothing to train on.
    test::write_file(dir.file("bad.jsonl"), "{not json}\n{\"messages\": []}\n");
    EXPECT_EQ(error_code(config_for(dir.file("bad.jsonl"), MalformedPolicy::Skip), test::tiny()), "data.empty");
    // A file stem that is no domain name needs an explicit tag.
    test::write_file(dir.file("two words.txt"), "text");
    EXPECT_EQ(error_code(config_for(dir.file("two words.txt"), MalformedPolicy::Skip), test::tiny()), "data.bad_domain");
    EXPECT_EQ(error_code(config_for(dir.file("two words.txt") + "=prose", MalformedPolicy::Skip), test::tiny()),
              "no error");
    DataConfig bad = config_for(dir.file("two words.txt") + "=prose", MalformedPolicy::Skip);
    bad.seq_len = 1;
    EXPECT_EQ(error_code(bad, test::tiny()), "data.bad_config");
}

TEST(Malformed, ChatDataNeedsAChatTemplate) {
    // The tiny tokenizer.json without its tokenizer_config.json: no chat template.
    const std::unique_ptr<Tokenizer> bare =
        Tokenizer::from_json_text(moe::test::read_file(test::data_path("models/deepseek-v3-tiny/tokenizer.json")), "bare");
    const std::string path = test::data_path("train_data/chat.jsonl");
    try {
        Dataset d(config_for(path, MalformedPolicy::Skip), *bare);
        FAIL() << "expected data.no_chat_template";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "data.no_chat_template");
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(e.detail().find("line 1"), std::string::npos) << e.detail();
    }
    // Text needs none.
    EXPECT_EQ(error_code(config_for(test::data_path("train_data/notes.jsonl"), MalformedPolicy::Stop), *bare), "no error");
}

TEST(Malformed, ByteOrderMarkAndBlankLinesAreNotMalformed) {
    moe::test::TempDir dir("bom");
    test::write_file(dir.file("notes.jsonl"), "\xEF\xBB\xBF{\"text\": \"first\"}\r\n\r\n  \n{\"text\": \"second\"}\n");
    test::write_file(dir.file("story.txt"), "\xEF\xBB\xBFOnce upon a time.");
    DataConfig c = config_for(dir.file("notes.jsonl"), MalformedPolicy::Stop);
    c.sources.push_back(DataSourceSpec::parse(dir.file("story.txt")));
    const Dataset data(c, test::tiny());
    EXPECT_TRUE(data.report().malformed.empty());
    ASSERT_EQ(data.train_samples().size(), 3u);
    EXPECT_EQ(data.train_samples()[0].origin, dir.file("notes.jsonl") + ":1");
    EXPECT_EQ(data.train_samples()[1].origin, dir.file("notes.jsonl") + ":4");
    EXPECT_EQ(data.train_samples()[2].tokens, test::tiny().encode("Once upon a time.", true));
}

}  // namespace
}  // namespace moe::train
