#include "train/data/data_report.h"

#include <cstdio>
#include <sstream>

namespace moe::train {
namespace {

constexpr size_t kTextListLimit = 20;  // to_text lists this many malformed / dropped entries, to_json all

Json counts_json(const DomainCounts& c) {
    return Json{{"samples", c.samples}, {"tokens", c.tokens}, {"loss_tokens", c.loss_tokens}};
}

void add(DomainCounts& sum, const DomainCounts& c) {
    sum.samples += c.samples;
    sum.tokens += c.tokens;
    sum.loss_tokens += c.loss_tokens;
}

std::string row(const std::string& name, int64_t docs, const DomainCounts& t, const DomainCounts& h) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-16s %8lld %10lld %12lld %12lld %10lld %12lld %12lld\n", name.c_str(),
                  (long long)docs, (long long)t.samples, (long long)t.tokens, (long long)t.loss_tokens,
                  (long long)h.samples, (long long)h.tokens, (long long)h.loss_tokens);
    return buf;
}

template <class T, class F>
void list(std::ostringstream& out, const std::vector<T>& items, F&& line) {
    for (size_t i = 0; i < items.size() && i < kTextListLimit; ++i) out << "  " << line(items[i]) << "\n";
    if (items.size() > kTextListLimit) out << "  ... and " << items.size() - kTextListLimit << " more\n";
}

}  // namespace

DomainCounts DataReport::train_total() const {
    DomainCounts sum;
    for (const DomainReport& d : domains) add(sum, d.train);
    return sum;
}

DomainCounts DataReport::holdout_total() const {
    DomainCounts sum;
    for (const DomainReport& d : domains) add(sum, d.holdout);
    return sum;
}

Json DataReport::to_json() const {
    Json j;
    j["seq_len"] = seq_len;
    j["batch"] = batch;
    j["seed"] = seed;
    j["holdout_fraction"] = holdout_fraction;
    j["domains"] = Json::array();
    for (const DomainReport& d : domains)
        j["domains"].push_back({{"name", d.name}, {"documents", d.documents}, {"train", counts_json(d.train)},
                                {"holdout", counts_json(d.holdout)}});
    j["totals"] = {{"train", counts_json(train_total())}, {"holdout", counts_json(holdout_total())}};
    j["sources"] = Json::array();
    for (const SourceReport& s : sources)
        j["sources"].push_back({{"path", s.path}, {"domain", s.domain}, {"files", s.files}, {"samples", s.samples}});
    j["chat"] = {{"conversations", conversations}, {"split_conversations", split_conversations}};
    j["truncated"] = {{"samples", truncated_samples}, {"tokens", truncated_tokens}};
    j["chunked_documents"] = chunked_documents;
    j["fim"] = {{"format", fim_format}, {"rate", fim_rate}, {"samples", fim_samples},
                {"not_applied", fim_not_applied}, {"note", fim_note}};
    j["packing"] = {{"sequences_per_epoch", sequences_per_epoch}, {"fill", packing_fill},
                    {"holdout_batches", holdout_batches}};
    j["malformed_policy"] = malformed_policy_name(malformed_policy);
    j["malformed"] = Json::array();
    for (const MalformedLine& m : malformed)
        j["malformed"].push_back(
            {{"file", m.file}, {"line", m.line}, {"code", m.code}, {"reason", m.reason}, {"text", m.text()}});
    j["dropped"] = Json::array();
    for (const DroppedSample& d : dropped) j["dropped"].push_back({{"origin", d.origin}, {"reason", d.reason}});
    return j;
}

std::string DataReport::to_text() const {
    std::ostringstream out;
    const DomainCounts train = train_total(), held = holdout_total();
    out << "Data: " << domains.size() << " domain(s), " << train.samples << " training samples, " << held.samples
        << " held out; seq_len " << seq_len << ", batch " << batch << ", seed " << seed << "\n";
    char head[256];
    std::snprintf(head, sizeof head, "%-16s %8s %10s %12s %12s %10s %12s %12s\n", "domain", "docs", "samples",
                  "tokens", "loss tokens", "held-out", "tokens", "loss tokens");
    out << head;
    int64_t docs = 0;
    for (const DomainReport& d : domains) {
        out << row(d.name, d.documents, d.train, d.holdout);
        docs += d.documents;
    }
    out << row("total", docs, train, held);
    out << "Cut: " << truncated_samples << " chat sample(s) truncated to " << seq_len << " tokens ("
        << truncated_tokens << " tokens lost); " << chunked_documents << " text document(s) cut into pieces\n";
    if (conversations > 0)
        out << "Chat: " << conversations << " conversation(s), " << split_conversations
            << " trained as several samples (the template renders earlier turns differently)\n";
    if (fim_format == "none" || fim_rate <= 0.0) {
        out << "FIM: off (" << fim_note << ")\n";
    } else {
        out << "FIM: " << fim_format << " tokens, rate " << fim_rate << ": " << fim_samples << " sample(s)";
        if (fim_not_applied > 0) out << ", " << fim_not_applied << " left plain (the FIM form did not fit seq_len)";
        out << "\n";
    }
    char fill[32];
    std::snprintf(fill, sizeof fill, "%.1f%%", 100.0 * packing_fill);
    out << "Packing: " << sequences_per_epoch << " sequences per epoch, " << fill << " of rows filled; "
        << holdout_batches << " held-out batch(es)\n";
    out << "Malformed lines: " << malformed.size()
        << (malformed_policy == MalformedPolicy::Skip ? " (skipped)" : " (stop)") << "\n";
    list(out, malformed, [](const MalformedLine& m) { return m.text(); });
    if (!dropped.empty()) {
        out << "Left out: " << dropped.size() << "\n";
        list(out, dropped, [](const DroppedSample& d) { return d.origin + ": " + d.reason; });
    }
    return out.str();
}

}  // namespace moe::train
