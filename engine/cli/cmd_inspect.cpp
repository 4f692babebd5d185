// moe-engine inspect DIR : architecture, parameters total and active per token, memory per dtype,
// and the vocabulary mask generations apply (generate/vocabulary.h) when the tokenizer is there.
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "generate/vocabulary.h"
#include "io/checkpoint.h"
#include "io/model_summary.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {
namespace {

// The mask, or why there is none: no tokenizer.json (weights-only checkpoints are fine to inspect),
// or a broken one (its error, naming the file, is reported rather than hiding the rest).
struct VocabularyReport {
    VocabularyMask mask;
    std::string problem;
};

VocabularyReport vocabulary_report(const Checkpoint& ck) {
    VocabularyReport r;
    r.mask.model_vocab = ck.config().vocab_size;
    if (!std::filesystem::exists(std::filesystem::path(ck.dir()) / "tokenizer.json")) {
        r.problem = "no tokenizer.json: the mask is unknown";
        return r;
    }
    try {
        r.mask = vocabulary_mask(ck.config(), *Tokenizer::load(ck.dir()));
    } catch (const Error& e) {
        r.problem = e.what();
    }
    return r;
}

Json vocabulary_to_json(const VocabularyReport& r) {
    Json j = vocabulary_json(r.mask);
    j["note"] = r.problem.empty() ? Json("ids >= the tokenizer's vocabulary are never generated") : Json(r.problem);
    return j;
}

std::string vocabulary_to_text(const VocabularyReport& r) {
    const VocabularyMask& m = r.mask;
    std::string line = "vocabulary    " + std::to_string(m.model_vocab) + " output ids";
    if (!r.problem.empty()) return line + " (" + r.problem + ")\n";
    line += ", " + std::to_string(m.tokenizer_vocab) + " tokens";
    if (m.masked() == 0) return line + "; every output id has a token\n";
    return line + "; ids " + std::to_string(m.sampleable()) + ".." + std::to_string(m.model_vocab - 1) +
           " have no token and are never generated (" + std::to_string(m.masked()) + " masked)\n";
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {{"json", false, "print JSON instead of text"},
                                           {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help") || args.positional().size() != 1) {
        std::fputs(usage_for("inspect", "DIR [--json]", specs).c_str(), args.has("help") ? stdout : stderr);
        return args.has("help") ? 0 : 2;
    }
    auto checkpoint = Checkpoint::open(args.positional()[0]);
    const ModelSummary summary = summarize_checkpoint(*checkpoint);
    const VocabularyReport vocabulary = vocabulary_report(*checkpoint);
    std::string out;
    if (args.has("json")) {
        Json j = summary_to_json(summary);
        j["vocabulary"] = vocabulary_to_json(vocabulary);
        out = j.dump(2) + "\n";
    } else {
        out = summary_to_text(summary) + vocabulary_to_text(vocabulary);
    }
    std::fputs(out.c_str(), stdout);
    return 0;
}

}  // namespace moe::cli
