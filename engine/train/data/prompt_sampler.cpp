#include "train/data/prompt_sampler.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strict_json.h"
#include "tokenizer/tokenizer.h"
#include "train/data/data_rng.h"
#include "train/data/source_files.h"

namespace moe::train {
namespace {

struct Document {
    std::string text;
    bool whole = false;  // a JSONL text or chat message: the prompt starts at its beginning
};

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("data.read_failed", path, "cannot read the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The prompt text of one JSONL line: "text", else the first user message of "messages".
std::string line_prompt(const Json& j) {
    if (j.contains("text") && j["text"].is_string()) return j["text"].get<std::string>();
    if (j.contains("messages") && j["messages"].is_array())
        for (const Json& m : j["messages"])
            if (m.is_object() && m.value("role", "") == "user" && m.contains("content") && m["content"].is_string())
                return m["content"].get<std::string>();
    return {};
}

// Documents per domain, domains in order of first appearance. Malformed JSONL lines are skipped:
// `train` reports them; here they only cannot be prompts.
std::vector<std::pair<std::string, std::vector<Document>>> read_documents(const std::vector<DataSourceSpec>& sources) {
    std::vector<std::pair<std::string, std::vector<Document>>> out;
    std::map<std::string, size_t> index;
    auto add = [&](const std::string& domain, Document d) {
        if (d.text.empty()) return;
        auto [it, fresh] = index.emplace(domain, out.size());
        if (fresh) out.emplace_back(domain, std::vector<Document>{});
        out[it->second].second.push_back(std::move(d));
    };
    for (const SourceFile& f : list_source_files(sources)) {
        const std::string all = read_whole(f.path);
        if (!f.jsonl) {
            add(f.domain, Document{all, false});
            continue;
        }
        std::istringstream lines(all);
        for (std::string line; std::getline(lines, line);) {
            try {
                const Json j = Json::parse(line);
                add(j.is_object() && j.contains("domain") && j["domain"].is_string() ? j["domain"].get<std::string>()
                                                                                       : f.domain,
                    Document{line_prompt(j), true});
            } catch (const std::exception&) {
            }
        }
    }
    return out;
}

// At most `max_tokens` tokens of `text` from `at`, as text that ends on a whole character.
std::string prompt_at(const Tokenizer& tok, const std::string& text, size_t at, int64_t max_tokens) {
    std::vector<int32_t> ids = tok.encode(std::string_view(text).substr(at, size_t(max_tokens) * 24), false);
    if (int64_t(ids.size()) > max_tokens) ids.resize(size_t(max_tokens));
    static const std::string kReplacement = "\xEF\xBF\xBD";  // a UTF-8 character cut between two tokens
    std::string s = tok.decode(ids);
    while (!ids.empty() && s.size() >= 3 && s.compare(s.size() - 3, 3, kReplacement) == 0) {
        ids.pop_back();
        s = tok.decode(ids);
    }
    return s;
}

}  // namespace

std::vector<DomainPrompt> sample_prompts(const std::vector<DataSourceSpec>& sources, const Tokenizer& tokenizer,
                                         const PromptSampling& sampling) {
    std::vector<DomainPrompt> out;
    for (const auto& [domain, docs] : read_documents(sources)) {
        uint64_t total = 0;
        for (const Document& d : docs) total += d.text.size();
        DataRng rng(derive_seed(sampling.seed, "prompts/" + domain, 0));
        std::set<std::pair<size_t, size_t>> taken;  // (document, offset)
        int64_t made = 0;
        for (int64_t attempt = 0; made < sampling.per_domain && attempt < 8 * sampling.per_domain; ++attempt) {
            // A document by its share of the bytes, then a line start in it.
            uint64_t r = rng.below(total);
            size_t doc = 0;
            while (r >= docs[doc].text.size()) r -= docs[doc++].text.size();
            const std::string& text = docs[doc].text;
            size_t at = 0;
            if (!docs[doc].whole && r > 0) {
                at = text.find('\n', size_t(r));
                if (at == std::string::npos) continue;
                at = text.find_first_not_of("\r\n\t ", at);
                if (at == std::string::npos) continue;
            }
            if (!taken.insert({doc, at}).second) continue;
            std::string prompt = prompt_at(tokenizer, text, at, sampling.max_tokens);
            if (tokenizer.encode(prompt, false).size() < 4) continue;  // a blank or one-word line
            out.push_back(DomainPrompt{domain, std::move(prompt)});
            ++made;
        }
    }
    if (out.empty()) {
        std::string where;
        for (const DataSourceSpec& s : sources) where += (where.empty() ? "" : ", ") + s.path;
        throw Error("data.no_prompts", where, "no text to take prompts from");
    }
    return out;
}

}  // namespace moe::train
