#include "train/data/dataset.h"

#include <algorithm>
#include <numeric>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "train/data/corpus_reader.h"
#include "train/data/data_rng.h"
#include "train/data/holdout.h"
#include "train/data/source_files.h"

namespace moe::train {
namespace {

// FNV-1a over the bytes of trivially copyable values.
class Fingerprint {
public:
    template <class T>
    void add(const T& v) {
        const auto* p = reinterpret_cast<const unsigned char*>(&v);
        for (size_t i = 0; i < sizeof(T); ++i) h_ = (h_ ^ p[i]) * 0x100000001B3ull;
    }
    template <class T>
    void add_all(const std::vector<T>& v) {
        add(uint64_t(v.size()));
        for (const T& x : v) add(x);
    }
    uint64_t value() const { return h_; }

private:
    uint64_t h_ = 0xCBF29CE484222325ull;
};

int32_t choose_pad_id(const Tokenizer& tokenizer) {
    if (tokenizer.pad_id() >= 0) return tokenizer.pad_id();
    if (tokenizer.eos_id() >= 0) return tokenizer.eos_id();
    return 0;
}

std::vector<int64_t> lengths_of(const std::vector<Sample>& samples) {
    std::vector<int64_t> n(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) n[i] = samples[i].size();
    return n;
}

// Sorts the domain names and renumbers samples and documents to match.
void sort_domains(Corpus& c) {
    std::vector<std::string> sorted = c.domain_names;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int32_t> remap(c.domain_names.size());
    for (size_t i = 0; i < c.domain_names.size(); ++i)
        remap[i] = int32_t(std::find(sorted.begin(), sorted.end(), c.domain_names[i]) - sorted.begin());
    for (Sample& s : c.samples) s.domain = remap[size_t(s.domain)];
    for (int32_t& d : c.document_domain) d = remap[size_t(d)];
    c.domain_names = std::move(sorted);
}

[[noreturn]] void throw_empty(const DataConfig& config, const DataReport& r) {
    std::string why = "no training sample in " + std::to_string(config.sources.size()) + " source(s)";
    why += ": " + std::to_string(r.malformed.size()) + " malformed line(s), " + std::to_string(r.dropped.size()) +
           " input(s) left out";
    if (!r.malformed.empty()) why += "; first: " + r.malformed.front().text();
    else if (!r.dropped.empty()) why += "; first: " + r.dropped.front().origin + ": " + r.dropped.front().reason;
    throw Error("data.empty", config.sources.front().path, why);
}

}  // namespace

Dataset::Dataset(const DataConfig& config, const Tokenizer& tokenizer) : config_(config) {
    config_.validate();
    pad_id_ = choose_pad_id(tokenizer);
    Corpus corpus = CorpusReader(config_, tokenizer).read(list_source_files(config_.sources));
    if (corpus.samples.empty()) throw_empty(config_, corpus.report);
    sort_domains(corpus);
    domain_names_ = corpus.domain_names;
    report_ = std::move(corpus.report);

    const std::vector<bool> held =
        choose_holdout(corpus.document_domain, domain_names_, config_.holdout_fraction, config_.seed);
    for (Sample& s : corpus.samples) (held[size_t(s.document)] ? holdout_ : train_).push_back(std::move(s));

    // Not the batch size: the cursor counts sequences, so a run may resume with another batch.
    Fingerprint fp;
    fp.add(config_.seq_len);
    fp.add(config_.seed);
    fp.add(uint64_t(train_.size()));
    for (const Sample& s : train_) {
        fp.add_all(s.tokens);
        fp.add_all(s.is_target);
        fp.add(s.domain);
    }
    fingerprint_ = fp.value();

    const std::vector<int64_t> held_lengths = lengths_of(holdout_);
    std::vector<int32_t> held_order(holdout_.size());
    std::iota(held_order.begin(), held_order.end(), 0);
    holdout_plan_ = pack_first_fit(held_lengths, held_order, config_.seq_len);

    start_epoch(0, plan_epoch(0));
    fill_report();
}

Dataset::EpochPlan Dataset::plan_epoch(int64_t epoch) const {
    std::vector<int32_t> order(train_.size());
    std::iota(order.begin(), order.end(), 0);
    DataRng rng(derive_seed(config_.seed, "shuffle", uint64_t(epoch)));
    shuffle_in_place(order, rng);
    const std::vector<int64_t> lengths = lengths_of(train_);
    return {pack_first_fit(lengths, order, config_.seq_len), rng.state()};
}

void Dataset::start_epoch(int64_t epoch, EpochPlan plan) {
    epoch_ = epoch;
    position_ = 0;
    epoch_rng_state_ = plan.rng_state;
    epoch_plan_ = std::move(plan.sequences);
}

PackedBatch Dataset::next_train() {
    PackedBatch out = padding_batch(config_.batch, config_.seq_len, pad_id_);
    std::vector<const Sample*> samples;
    for (int64_t b = 0; b < config_.batch; ++b) {
        samples.clear();
        for (int32_t i : epoch_plan_[size_t(position_)]) samples.push_back(&train_[size_t(i)]);
        write_sequence(out, b, samples);
        if (++position_ == int64_t(epoch_plan_.size())) start_epoch(epoch_ + 1, plan_epoch(epoch_ + 1));
    }
    return out;
}

std::vector<PackedBatch> Dataset::holdout_batches() const {
    std::vector<PackedBatch> out;
    std::vector<const Sample*> samples;
    for (size_t seq = 0; seq < holdout_plan_.size(); ++seq) {
        const int64_t b = int64_t(seq) % config_.batch;
        if (b == 0) out.push_back(padding_batch(config_.batch, config_.seq_len, pad_id_));
        samples.clear();
        for (int32_t i : holdout_plan_[seq]) samples.push_back(&holdout_[size_t(i)]);
        write_sequence(out.back(), b, samples);
    }
    return out;
}

DataCursor Dataset::cursor() const { return {epoch_, position_, epoch_rng_state_, fingerprint_}; }

void Dataset::seek(const DataCursor& c) {
    if (c.fingerprint != fingerprint_)
        throw Error("data.cursor_mismatch", "", "the cursor was saved for other training data or another seq_len or seed");
    if (c.epoch < 0 || c.position < 0) throw Error("data.bad_cursor", "", "negative epoch or position");
    EpochPlan plan = plan_epoch(c.epoch);  // checked before anything changes: a refused seek leaves the stream as it was
    if (plan.rng_state != c.rng_state)
        throw Error("data.cursor_mismatch", "",
                    "the cursor's RNG state differs from the one epoch " + std::to_string(c.epoch) + " draws");
    if (c.position >= int64_t(plan.sequences.size()))
        throw Error("data.bad_cursor", "",
                    "position " + std::to_string(c.position) + " is past the end of epoch " + std::to_string(c.epoch) +
                        " (" + std::to_string(plan.sequences.size()) + " sequences)");
    start_epoch(c.epoch, std::move(plan));
    position_ = c.position;
}

void Dataset::fill_report() {
    DataReport& r = report_;
    r.seq_len = config_.seq_len;
    r.batch = config_.batch;
    r.seed = config_.seed;
    r.holdout_fraction = config_.holdout_fraction;
    r.domains.assign(domain_names_.size(), {});
    for (size_t d = 0; d < domain_names_.size(); ++d) r.domains[d].name = domain_names_[d];
    auto count = [&](const std::vector<Sample>& samples, DomainCounts DomainReport::*side) {
        int64_t last_document = -1;
        for (const Sample& s : samples) {
            DomainReport& d = r.domains[size_t(s.domain)];
            (d.*side).samples += 1;
            (d.*side).tokens += s.size();
            (d.*side).loss_tokens += s.loss_tokens();
            if (s.document != last_document) ++d.documents;  // a document's samples are adjacent
            last_document = s.document;
        }
    };
    count(train_, &DomainReport::train);
    count(holdout_, &DomainReport::holdout);
    r.sequences_per_epoch = int64_t(epoch_plan_.size());  // epoch 0: the report is made before any batch
    r.packing_fill = double(r.train_total().tokens) / double(r.sequences_per_epoch * config_.seq_len);
    r.holdout_batches = (int64_t(holdout_plan_.size()) + config_.batch - 1) / config_.batch;
    warn_about_coarse_holdout();
}

// The split is by whole document (no held-out text leaks into training), so a domain of a few large
// files holds out far more than `holdout` asks: say so where the user looks, not only in the numbers.
void Dataset::warn_about_coarse_holdout() const {
    if (config_.holdout_fraction <= 0.0) return;
    for (const DomainReport& d : report_.domains) {
        const double all = double(d.train.tokens + d.holdout.tokens);
        const double share = all > 0 ? double(d.holdout.tokens) / all : 0.0;
        if (share > 2.0 * config_.holdout_fraction + 0.05)
            spdlog::warn("data: domain '{}' holds out {:.0f}% of its tokens, not {:.0f}%: the held-out split takes whole "
                         "documents (at least one per domain) and it has {} documents — split large files to hold out less",
                         d.name, 100.0 * share, 100.0 * config_.holdout_fraction, d.documents);
    }
}

}  // namespace moe::train
