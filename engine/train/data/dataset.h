// The data side of a fine-tune run: sources -> samples -> held-out split -> packed batches.
//
//   moe::train::DataConfig cfg;
//   cfg.sources = {DataSourceSpec::parse("chats.jsonl"), DataSourceSpec::parse("src/=code")};
//   cfg.seq_len = 4096; cfg.batch = 8; cfg.seed = 1; cfg.holdout_fraction = 0.05; cfg.fim_rate = 0.5;
//   moe::train::Dataset data(cfg, tokenizer);
//   std::fputs(data.report().to_text().c_str(), stderr);
//   PackedBatch b = data.next_train();          // endless, epoch after epoch
//   Json saved = data.cursor().to_json();       // with the checkpoint
//   ... later: data.seek(DataCursor::from_json(saved));  // the same batches as without the stop
//
// Training order: every epoch e shuffles the training samples with derive_seed(seed, "shuffle", e)
// and packs them greedily first-fit into sequences of seq_len; batches take `batch` sequences at a
// time and run on into the next epoch. Everything is a function of the data, the config and the
// seed: two Datasets built alike give identical batches. Tested in tests/train_data/dataset_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/data_config.h"
#include "train/data/data_cursor.h"
#include "train/data/data_report.h"
#include "train/data/packing.h"
#include "train/data/sample.h"

namespace moe {
class Tokenizer;
}

namespace moe::train {

class Dataset {
public:
    // Reads and tokenizes every source (the tokenizer is not kept). Throws moe::Error:
    // data.bad_config, data.missing_source, data.empty_source, data.bad_domain, data.unreadable,
    // data.no_chat_template, data.empty (no training sample at all), and the malformed line's own
    // code (naming file and line) under MalformedPolicy::Stop.
    Dataset(const DataConfig& config, const Tokenizer& tokenizer);

    const DataConfig& config() const { return config_; }
    // Domain names, sorted; Sample::domain and PackedBatch::domain index this.
    const std::vector<std::string>& domain_names() const { return domain_names_; }

    // The next [batch, seq_len] training batch. Endless.
    PackedBatch next_train();
    // The held-out samples packed in a fixed order; the last batch is filled up with padding.
    std::vector<PackedBatch> holdout_batches() const;

    // Where next_train() stands; seek() puts a Dataset built from the same data and config there.
    // The cursor counts packed sequences, so a run may resume with another batch size. seek throws
    // data.cursor_mismatch (other training data, seq_len or seed) or data.bad_cursor, and then
    // leaves the stream where it was.
    DataCursor cursor() const;
    void seek(const DataCursor& cursor);

    DataReport report() const { return report_; }

    const std::vector<Sample>& train_samples() const { return train_; }
    const std::vector<Sample>& holdout_samples() const { return holdout_; }
    // Packed sequences of the cursor's epoch (each epoch packs its own order, so counts differ a little).
    int64_t sequences_in_epoch() const { return int64_t(epoch_plan_.size()); }
    int32_t pad_id() const { return pad_id_; }

private:
    struct EpochPlan {
        std::vector<std::vector<int32_t>> sequences;  // training sample indices per packed sequence
        uint64_t rng_state = 0;                        // the shuffle RNG after drawing the order
    };
    EpochPlan plan_epoch(int64_t epoch) const;  // draws the epoch's order and packs it
    void start_epoch(int64_t epoch, EpochPlan plan);
    void fill_report();
    void warn_about_coarse_holdout() const;

    DataConfig config_;
    std::vector<std::string> domain_names_;
    std::vector<Sample> train_, holdout_;
    std::vector<std::vector<int32_t>> holdout_plan_;  // held-out sample indices per sequence
    int32_t pad_id_ = 0;
    uint64_t fingerprint_ = 0;
    DataReport report_;

    int64_t epoch_ = 0;
    int64_t position_ = 0;
    uint64_t epoch_rng_state_ = 0;
    std::vector<std::vector<int32_t>> epoch_plan_;  // training sample indices per sequence
};

}  // namespace moe::train
