#include "train/data/corpus_reader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "train/data/text_chunks.h"

namespace moe::train {
namespace {

// Room left in a FIM-domain piece for the three FIM tokens, the end-of-text token and the extra
// tokens that cutting the text at two places can cost when it is tokenized again.
constexpr int64_t kFimReserve = 16;

const char* const kNoChatTemplate = "data.no_chat_template";

// Editors on Windows start UTF-8 files with a byte order mark; it is not part of the text.
void strip_utf8_bom(std::string& s) {
    if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.erase(0, 3);
}

bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

std::string origin(const std::string& file, int64_t line) { return file + ":" + std::to_string(line); }

// 1-based line of the first invalid UTF-8 byte, and its byte offset.
std::pair<int64_t, size_t> first_invalid_utf8(std::string_view s) {
    int64_t line = 1;
    for (size_t i = 0; i < s.size();) {
        const tok::Utf8Step step = tok::utf8_step(s.substr(i));
        if (step.kind != tok::Utf8Step::Valid) return {line, i};
        if (s[i] == '\n') ++line;
        i += step.len;
    }
    return {line, s.size()};
}

std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("data.unreadable", path, "cannot open the file for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error("data.unreadable", path, "reading failed");
    return ss.str();
}

Sample text_sample(std::vector<int32_t> tokens) {
    Sample s;
    s.is_target.assign(tokens.size(), 1);
    s.is_target[0] = 0;
    s.tokens = std::move(tokens);
    return s;
}

}  // namespace

CorpusReader::CorpusReader(const DataConfig& config, const Tokenizer& tokenizer)
    : config_(config), tokenizer_(tokenizer), chat_(tokenizer), fim_(FimFormat::detect(tokenizer)),
      malformed_(config.malformed) {
    DataReport& r = corpus_.report;
    r.fim_rate = config.fim_rate;
    r.fim_format = fim_.name();
    fim_on_ = config.fim_rate > 0.0 && fim_.available();
    if (config.fim_rate <= 0.0) r.fim_note = "fim_rate is 0";
    else if (!fim_.available())
        r.fim_note = "the tokenizer has no FIM tokens (neither DeepSeek's <｜fim▁begin｜> <｜fim▁hole｜> <｜fim▁end｜> "
                     "nor Qwen's <|fim_prefix|> <|fim_suffix|> <|fim_middle|>)";
    for (const DataSourceSpec& s : config.sources) r.sources.push_back({s.path, s.domain, 0, 0});
}

Corpus CorpusReader::read(const std::vector<SourceFile>& files) {
    for (const SourceFile& f : files) {
        SourceReport& src = corpus_.report.sources[f.source];
        ++src.files;
        if (src.domain.empty()) src.domain = f.domain;
        if (f.jsonl) read_jsonl(f);
        else read_text_file(f);
    }
    corpus_.report.malformed = malformed_.lines();
    corpus_.report.malformed_policy = malformed_.policy();
    return std::move(corpus_);
}

void CorpusReader::read_jsonl(const SourceFile& file) {
    std::ifstream in(file.path, std::ios::binary);
    if (!in) throw Error("data.unreadable", file.path, "cannot open the file for reading");
    std::string line;
    for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no == 1) strip_utf8_bom(line);
        if (is_blank(line)) continue;  // not data (a trailing newline, spacing between records)
        try {
            read_jsonl_line(line, file, line_no);
        } catch (const Error& e) {
            if (e.code() == kNoChatTemplate) throw;  // a property of the model, not of this line
            malformed_.add({file.path, line_no, e.code(), e.detail()});
        }
    }
    if (in.bad()) throw Error("data.unreadable", file.path, "reading failed");
}

void CorpusReader::read_jsonl_line(const std::string& line, const SourceFile& file, int64_t line_no) {
    const Json j = parse_strict_json(line, file.path, "data");
    if (!j.is_object()) throw Error("data.bad_field", file.path, "a line must be a JSON object");
    const bool chat = j.contains("messages"), text = j.contains("text");
    if (chat && text) throw Error("data.bad_field", file.path, "a line has both \"messages\" and \"text\"");
    if (!chat && !text)
        throw Error("data.bad_field", file.path, "a line needs \"messages\" (a conversation) or \"text\"");
    std::string domain = file.domain;
    if (j.contains("domain")) {
        if (!j["domain"].is_string() || !is_valid_domain_name(j["domain"].get<std::string>()))
            throw Error("data.bad_field", file.path, "\"domain\" must be a name of 1-64 of A-Z a-z 0-9 _ . -");
        domain = j["domain"].get<std::string>();
    }
    if (j.contains("tools") && !j["tools"].is_null())
        throw Error("data.unsupported", file.path, "\"tools\" in training conversations is not supported yet");
    if (chat) return add_chat(j["messages"], file, line_no, domain);
    if (!j["text"].is_string()) throw Error("data.bad_field", file.path, "\"text\" must be a string");
    add_text(j["text"].get<std::string>(), file, line_no, true, domain);
}

void CorpusReader::read_text_file(const SourceFile& file) {
    std::string text = read_whole_file(file.path);
    strip_utf8_bom(text);
    if (!tok::utf8_is_valid(text)) {
        const auto [line, byte] = first_invalid_utf8(text);
        malformed_.add({file.path, line, "data.invalid_utf8",
                        "invalid UTF-8 at byte " + std::to_string(byte) + " (not a text file?); the file is left out"});
        return;
    }
    try {
        add_text(text, file, 1, false, file.domain);
    } catch (const Error& e) {  // the tokenizer gave up on it (tokenizer.regex_failed)
        malformed_.add({file.path, 1, e.code(), e.detail()});
    }
}

void CorpusReader::add_chat(const Json& messages, const SourceFile& file, int64_t line_no,
                            const std::string& domain) {
    validate_messages(messages);
    if (!chat_.has_template())
        throw Error(kNoChatTemplate, file.path,
                    "line " + std::to_string(line_no) + " is a conversation, but " + chat_.unavailable_reason());
    const std::vector<ChatRender> renders = chat_.render(messages);
    std::vector<Sample> samples;
    for (const ChatRender& r : renders) {
        Sample s = chat_.tokenize(r);
        s.origin = origin(file.path, line_no);
        if (s.size() > config_.seq_len) {
            ++corpus_.report.truncated_samples;
            corpus_.report.truncated_tokens += s.size() - config_.seq_len;
            s.tokens.resize(size_t(config_.seq_len));
            s.is_target.resize(size_t(config_.seq_len));
        }
        if (s.loss_tokens() == 0) {
            corpus_.report.dropped.push_back(
                {s.origin, "no assistant token within the first " + std::to_string(config_.seq_len) + " tokens"});
            continue;
        }
        samples.push_back(std::move(s));
    }
    ++corpus_.report.conversations;
    if (renders.size() > 1) ++corpus_.report.split_conversations;
    add_document(std::move(samples), domain, file.source);
}

void CorpusReader::add_text(std::string_view text, const SourceFile& file, int64_t line_no, bool jsonl,
                            const std::string& domain) {
    if (is_blank(text)) {
        corpus_.report.dropped.push_back({origin(file.path, line_no), "empty document"});
        return;
    }
    const bool fim = is_fim_domain(domain);
    const int64_t piece_tokens =
        fim ? std::max(config_.seq_len - kFimReserve, config_.seq_len / 2) : config_.seq_len;
    const std::vector<TextPiece> pieces = chunk_document(tokenizer_, text, piece_tokens);
    if (pieces.size() > 1) ++corpus_.report.chunked_documents;
    // One FIM stream per document, so the draws do not depend on what else is in the data.
    DataRng rng(derive_seed(config_.seed, "fim", corpus_.document_domain.size()));
    std::vector<Sample> samples;
    for (const TextPiece& piece : pieces) {
        const std::string where = origin(file.path, jsonl ? line_no : line_no + piece.first_line - 1);
        if (piece.tokens.size() < 2) {
            corpus_.report.dropped.push_back({where, "a 1-token piece carries no loss"});
            continue;
        }
        std::vector<int32_t> tokens = piece.tokens;
        if (fim && rng.unit() < config_.fim_rate) {
            std::vector<int32_t> psm = fim_form(piece.tokens, rng);
            if (psm.empty()) {
                ++corpus_.report.fim_not_applied;
            } else {
                ++corpus_.report.fim_samples;
                tokens = std::move(psm);
            }
        }
        Sample s = text_sample(std::move(tokens));
        s.origin = where;
        samples.push_back(std::move(s));
    }
    add_document(std::move(samples), domain, file.source);
}

std::vector<int32_t> CorpusReader::fim_form(const std::vector<int32_t>& piece, DataRng& rng) const {
    const bool has_bos = tokenizer_.bos_id() >= 0 && piece.front() == tokenizer_.bos_id();
    std::string text;
    for (size_t i = has_bos ? 1 : 0; i < piece.size(); ++i) text += tokenizer_.token_bytes(piece[i]);
    if (!tok::utf8_is_valid(text)) return {};  // cut inside a character: no character positions to draw
    const FimSplit split = draw_fim_split(text, rng);
    std::vector<int32_t> out;
    if (has_bos) out.push_back(piece.front());
    const std::vector<int32_t> psm = fim_tokens(tokenizer_, fim_, text, split);
    out.insert(out.end(), psm.begin(), psm.end());
    if (int64_t(out.size()) > config_.seq_len) return {};
    return out;
}

void CorpusReader::add_document(std::vector<Sample> samples, const std::string& domain_name, size_t source) {
    if (samples.empty()) return;
    const int32_t domain = intern_domain(domain_name);
    const int64_t document = int64_t(corpus_.document_domain.size());
    corpus_.document_domain.push_back(domain);
    corpus_.report.sources[source].samples += int64_t(samples.size());
    for (Sample& s : samples) {
        s.domain = domain;
        s.document = document;
        corpus_.samples.push_back(std::move(s));
    }
}

int32_t CorpusReader::intern_domain(const std::string& name) {
    auto it = std::find(corpus_.domain_names.begin(), corpus_.domain_names.end(), name);
    if (it != corpus_.domain_names.end()) return int32_t(it - corpus_.domain_names.begin());
    corpus_.domain_names.push_back(name);
    return int32_t(corpus_.domain_names.size() - 1);
}

bool CorpusReader::is_fim_domain(const std::string& domain) const {
    return fim_on_ &&
           std::find(config_.fim_domains.begin(), config_.fim_domains.end(), domain) != config_.fim_domains.end();
}

}  // namespace moe::train
