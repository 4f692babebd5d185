// Reads every source file into samples: chat JSONL lines through ChatRenderer, text (plain files
// and JSONL {"text"} lines) through chunk_document, FIM where configured. Malformed lines go to the
// MalformedLog; valid input that yields no sample goes to DataReport::dropped. Blank JSONL lines
// are not data and a leading UTF-8 byte order mark is not text: both are passed over. Used by Dataset.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "train/data/chat_sample.h"
#include "train/data/data_config.h"
#include "train/data/data_report.h"
#include "train/data/fim.h"
#include "train/data/malformed.h"
#include "train/data/sample.h"
#include "train/data/source_files.h"

namespace moe {
class Tokenizer;
}

namespace moe::train {

struct Corpus {
    std::vector<Sample> samples;           // reading order; domain indexes domain_names
    std::vector<std::string> domain_names;  // in order of first appearance
    std::vector<int32_t> document_domain;   // [documents]
    DataReport report;                      // sources, chat, cuts, FIM, malformed, dropped filled in
};

class CorpusReader {
public:
    CorpusReader(const DataConfig& config, const Tokenizer& tokenizer);

    // Throws moe::Error for what stops the whole run: data.unreadable, data.no_chat_template, and
    // any malformed line under MalformedPolicy::Stop.
    Corpus read(const std::vector<SourceFile>& files);

private:
    void read_jsonl(const SourceFile& file);
    void read_jsonl_line(const std::string& line, const SourceFile& file, int64_t line_no);
    void read_text_file(const SourceFile& file);
    void add_chat(const Json& messages, const SourceFile& file, int64_t line_no, const std::string& domain);
    void add_text(std::string_view text, const SourceFile& file, int64_t line_no, bool jsonl, const std::string& domain);
    // The PSM form of a text piece, or an empty vector when it cannot be made or does not fit.
    std::vector<int32_t> fim_form(const std::vector<int32_t>& piece, DataRng& rng) const;
    void add_document(std::vector<Sample> samples, const std::string& domain, size_t source);
    int32_t intern_domain(const std::string& name);
    bool is_fim_domain(const std::string& domain) const;

    const DataConfig& config_;
    const Tokenizer& tokenizer_;
    ChatRenderer chat_;
    FimFormat fim_;
    bool fim_on_ = false;
    MalformedLog malformed_;
    Corpus corpus_;
};

}  // namespace moe::train
