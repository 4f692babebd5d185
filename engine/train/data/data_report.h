// The data report shown before a run: what will be trained on, what was cut, and what was left out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "train/data/malformed.h"

namespace moe::train {

struct DomainCounts {
    int64_t samples = 0;      // after chunking / splitting
    int64_t tokens = 0;       // sample tokens (no padding)
    int64_t loss_tokens = 0;  // tokens with loss (the targets)
};

struct DomainReport {
    std::string name;
    int64_t documents = 0;  // conversations / documents before chunking, train and held-out
    DomainCounts train, holdout;
};

// Something valid that does not become a sample, with why (an empty document, a 1-token piece,
// a conversation whose assistant turns all lie beyond seq_len).
struct DroppedSample {
    std::string origin;  // "file:line"
    std::string reason;
};

struct SourceReport {
    std::string path;
    std::string domain;  // the source's default domain
    int64_t files = 0;
    int64_t samples = 0;  // train + held-out
};

struct DataReport {
    int64_t seq_len = 0, batch = 0;
    uint64_t seed = 0;
    double holdout_fraction = 0.0;

    std::vector<DomainReport> domains;  // in domain index order
    std::vector<SourceReport> sources;

    int64_t conversations = 0;        // chat lines read
    int64_t split_conversations = 0;  // conversations trained as several samples (see chat_sample.h)
    int64_t truncated_samples = 0;    // chat samples cut to seq_len
    int64_t truncated_tokens = 0;     // tokens those cuts removed
    int64_t chunked_documents = 0;    // text documents longer than a piece, cut into pieces

    std::string fim_format = "none";  // "deepseek", "qwen", "none"
    std::string fim_note;             // why FIM is off, when it is
    double fim_rate = 0.0;
    int64_t fim_samples = 0;          // pieces rewritten as prefix-suffix-middle
    int64_t fim_not_applied = 0;      // drawn for FIM but left plain (the FIM form did not fit seq_len)

    int64_t sequences_per_epoch = 0;  // packed training sequences (epoch 0)
    double packing_fill = 0.0;        // share of their rows that hold sample tokens
    int64_t holdout_batches = 0;

    MalformedPolicy malformed_policy = MalformedPolicy::Skip;
    std::vector<MalformedLine> malformed;
    std::vector<DroppedSample> dropped;

    DomainCounts train_total() const;
    DomainCounts holdout_total() const;

    Json to_json() const;
    // A short table for a person: one row per domain, totals, then cuts, FIM, packing, malformed lines.
    std::string to_text() const;
};

}  // namespace moe::train
