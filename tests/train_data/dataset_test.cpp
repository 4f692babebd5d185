// Dataset: every epoch trains every sample once, deterministic order from the seed, exact resume
// from a cursor, and the held-out split.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "core/error.h"
#include "support/temp_dir.h"
#include "train/data/dataset.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

// The test inputs: chat (general + math), JSONL notes, code and prose folders.
DataConfig test_config(int64_t seq_len, int64_t batch, uint64_t seed) {
    DataConfig c;
    c.sources = {DataSourceSpec::parse(test::data_path("train_data/chat.jsonl")),
                 DataSourceSpec::parse(test::data_path("train_data/notes.jsonl")),
                 DataSourceSpec::parse(test::data_path("train_data/code")),
                 DataSourceSpec::parse(test::data_path("train_data/prose"))};
    c.seq_len = seq_len;
    c.batch = batch;
    c.seed = seed;
    return c;
}

bool same_batch(const PackedBatch& a, const PackedBatch& b) {
    return a.batch == b.batch && a.seq_len == b.seq_len && a.tokens == b.tokens && a.targets == b.targets &&
           a.positions == b.positions && a.segment_start == b.segment_start && a.domain == b.domain;
}

std::multiset<std::vector<int32_t>> token_multiset(const std::vector<Sample>& samples) {
    std::multiset<std::vector<int32_t>> out;
    for (const Sample& s : samples) out.insert(s.tokens);
    return out;
}

TEST(Dataset, EveryEpochTrainsEverySampleExactlyOnce) {
    const Dataset data(test_config(64, 1, 3), test::tiny());
    Dataset stream = data;  // batch 1: one sequence per batch
    std::vector<std::vector<int32_t>> first_epoch_order;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
        SCOPED_TRACE("epoch " + std::to_string(epoch));
        ASSERT_EQ(stream.cursor().epoch, epoch);
        ASSERT_EQ(stream.cursor().position, 0);
        const int64_t sequences = stream.sequences_in_epoch();
        ASSERT_GT(sequences, 1);
        if (epoch == 0) {
            EXPECT_EQ(sequences, data.report().sequences_per_epoch);
        }
        std::multiset<std::vector<int32_t>> seen;
        std::vector<std::vector<int32_t>> order;
        for (int64_t i = 0; i < sequences; ++i) {
            const PackedBatch b = stream.next_train();
            test::expect_packing_invariants(b, data.pad_id());
            for (auto& seg : test::segments(b, 0)) {
                order.push_back(seg);
                seen.insert(std::move(seg));
            }
        }
        EXPECT_EQ(seen, token_multiset(data.train_samples()));
        if (epoch == 0) {
            first_epoch_order = order;
        } else {
            EXPECT_NE(order, first_epoch_order) << "not reshuffled";
        }
    }
}

TEST(Dataset, SameSeedSameBatchesOtherSeedOtherOrder) {
    Dataset a(test_config(48, 2, 11), test::tiny());
    Dataset b(test_config(48, 2, 11), test::tiny());
    Dataset c(test_config(48, 2, 12), test::tiny());
    bool any_difference = false;
    for (int i = 0; i < 3 * a.sequences_in_epoch(); ++i) {
        const PackedBatch x = a.next_train(), y = b.next_train(), z = c.next_train();
        EXPECT_TRUE(same_batch(x, y)) << "batch " << i;
        any_difference = any_difference || !same_batch(x, z);
    }
    EXPECT_TRUE(any_difference) << "seeds 11 and 12 gave the same batches";
}

TEST(Dataset, CursorResumesExactlyAcrossEpochBoundaries) {
    const DataConfig config = test_config(40, 3, 5);
    Dataset probe(config, test::tiny());
    const int64_t per_epoch = probe.sequences_in_epoch();
    // Batches of 3 sequences straddle epoch ends unless per_epoch is a multiple of 3; try several k.
    for (int64_t k : {int64_t(0), int64_t(1), per_epoch / 3, per_epoch / 3 + 1, 2 * per_epoch / 3 + 1}) {
        SCOPED_TRACE("k = " + std::to_string(k));
        Dataset run(config, test::tiny());
        for (int64_t i = 0; i < k; ++i) run.next_train();
        // Through JSON text, as a checkpoint stores it.
        const std::string saved = run.cursor().to_json().dump();
        const DataCursor restored = DataCursor::from_json(Json::parse(saved));
        EXPECT_EQ(restored, run.cursor());

        Dataset resumed(config, test::tiny());
        resumed.seek(restored);
        Dataset straight(config, test::tiny());
        for (int64_t i = 0; i < k; ++i) straight.next_train();
        for (int i = 0; i < per_epoch + 2; ++i) {
            const PackedBatch expected = run.next_train();
            EXPECT_TRUE(same_batch(resumed.next_train(), expected)) << "batch " << k + i << " after seek";
            EXPECT_TRUE(same_batch(straight.next_train(), expected)) << "batch " << k + i;
        }
    }
}

TEST(Dataset, SeekRefusesAnotherDatasetsCursor) {
    Dataset a(test_config(48, 2, 1), test::tiny());
    Dataset other_seed(test_config(48, 2, 2), test::tiny());
    Dataset other_seq_len(test_config(64, 2, 1), test::tiny());
    a.next_train();
    for (Dataset* d : {&other_seed, &other_seq_len}) {
        try {
            d->seek(a.cursor());
            ADD_FAILURE() << "expected data.cursor_mismatch";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), "data.cursor_mismatch");
        }
    }
    // A refused seek leaves the stream where it was.
    EXPECT_TRUE(same_batch(other_seed.next_train(), Dataset(test_config(48, 2, 2), test::tiny()).next_train()));

    DataCursor past_end = a.cursor();
    past_end.position = a.sequences_in_epoch();
    EXPECT_THROW(a.seek(past_end), Error);
    DataCursor wrong_rng = a.cursor();
    wrong_rng.rng_state ^= 1;
    EXPECT_THROW(a.seek(wrong_rng), Error);
    Json tampered = a.cursor().to_json();
    tampered["rng_state"] = "not hex";
    EXPECT_THROW(DataCursor::from_json(tampered), Error);
    tampered = a.cursor().to_json();
    tampered.erase("epoch");
    EXPECT_THROW(DataCursor::from_json(tampered), Error);
}

TEST(Dataset, ResumeWithAnotherBatchSizeContinuesTheSameSequences) {
    Dataset pairs(test_config(48, 2, 1), test::tiny());
    pairs.next_train();
    pairs.next_train();  // 4 sequences read
    Dataset singles(test_config(48, 1, 1), test::tiny());
    singles.seek(pairs.cursor());
    for (int i = 0; i < 5; ++i) {
        const PackedBatch two = pairs.next_train();
        for (int64_t b = 0; b < 2; ++b) {
            const PackedBatch one = singles.next_train();
            const auto row = std::ptrdiff_t(b * two.seq_len), n = std::ptrdiff_t(two.seq_len);
            EXPECT_TRUE(std::equal(one.tokens.begin(), one.tokens.end(), two.tokens.begin() + row, two.tokens.begin() + row + n));
            EXPECT_TRUE(std::equal(one.targets.begin(), one.targets.end(), two.targets.begin() + row, two.targets.begin() + row + n));
        }
    }
}

TEST(Dataset, HoldoutTakesWholeDocumentsPerDomain) {
    DataConfig config = test_config(40, 2, 9);  // short sequences: the prose and code files are cut into pieces
    config.holdout_fraction = 0.3;
    const Dataset data(config, test::tiny());
    // Documents per domain from the inputs: chat 5 (general, by file stem), math 3 chat + 1 note,
    // biology 2, notes 1, code 3, prose 2.
    std::map<std::string, std::set<int64_t>> train_docs, held_docs;
    for (const Sample& s : data.train_samples()) train_docs[data.domain_names()[size_t(s.domain)]].insert(s.document);
    for (const Sample& s : data.holdout_samples()) held_docs[data.domain_names()[size_t(s.domain)]].insert(s.document);
    const std::map<std::string, size_t> documents = {{"biology", 2}, {"chat", 5}, {"code", 3},
                                                     {"math", 4},    {"notes", 1}, {"prose", 2}};
    EXPECT_EQ(data.domain_names(), (std::vector<std::string>{"biology", "chat", "code", "math", "notes", "prose"}));
    const std::string report = data.report().to_text();
    std::cout << report;
    EXPECT_GT(data.report().chunked_documents, 2) << report;
    EXPECT_TRUE(data.report().dropped.empty()) << report;
    for (const auto& [domain, n] : documents) {
        SCOPED_TRACE(domain + "\n" + report);
        // round(0.3 n), at least 1 when n >= 2, at most n - 1.
        const size_t expected = n < 2 ? 0 : std::clamp<size_t>(size_t(std::llround(0.3 * double(n))), 1, n - 1);
        EXPECT_EQ(held_docs[domain].size(), expected);
        EXPECT_EQ(train_docs[domain].size() + held_docs[domain].size(), n);
        for (int64_t d : held_docs[domain]) EXPECT_EQ(train_docs[domain].count(d), 0u) << "document on both sides";
    }
    // The held-out batches are fixed and hold every held-out sample once.
    const std::vector<PackedBatch> h1 = data.holdout_batches(), h2 = data.holdout_batches();
    ASSERT_EQ(h1.size(), h2.size());
    std::multiset<std::vector<int32_t>> seen;
    for (size_t i = 0; i < h1.size(); ++i) {
        EXPECT_TRUE(same_batch(h1[i], h2[i]));
        test::expect_packing_invariants(h1[i], data.pad_id());
        for (int64_t b = 0; b < h1[i].batch; ++b)
            for (auto& seg : test::segments(h1[i], b)) seen.insert(std::move(seg));
    }
    EXPECT_EQ(seen, token_multiset(data.holdout_samples()));
    EXPECT_EQ(data.report().holdout_batches, int64_t(h1.size()));
}

TEST(Dataset, DomainsComeFromTagFolderStemOrField) {
    moe::test::TempDir dir("train-data");
    test::write_file(dir.file("plain.txt"), "Some words here.");
    test::write_file(dir.file("tagged.txt"), "More words there.");
    DataConfig config;
    config.sources = {DataSourceSpec::parse(dir.file("plain.txt")), DataSourceSpec::parse(dir.file("tagged.txt") + "=poetry"),
                      DataSourceSpec::parse(test::data_path("train_data/code/")),
                      DataSourceSpec::parse(test::data_path("train_data/prose") + "=stories")};
    config.seq_len = 256;
    const Dataset data(config, test::tiny());
    EXPECT_EQ(data.domain_names(), (std::vector<std::string>{"code", "plain", "poetry", "stories"}));
    EXPECT_EQ(DataSourceSpec::parse("a=b=c").path, "a=b");
    EXPECT_EQ(DataSourceSpec::parse("dir/x=y/z").domain, "");  // "y/z" is no domain name: all of it is the path
}

}  // namespace
}  // namespace moe::train
