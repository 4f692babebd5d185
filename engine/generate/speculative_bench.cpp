#include "generate/speculative_bench.h"

#include <cstdio>

#include "core/error.h"
#include "generate/generator.h"
#include "model/model.h"

namespace moe {
namespace {

struct Timed {
    int64_t tokens = 0;  // decoded after the first (the prefill's) token
    double seconds = 0;
    double rate() const { return seconds > 0 ? double(tokens) / seconds : 0.0; }
    void add(const GenerationResult& r) {
        tokens += int64_t(r.tokens.size()) - 1;
        seconds += r.decode_seconds;
    }
};

GenerationResult generate_fresh(Generator& gen, const std::vector<int32_t>& prompt, const GenerationOptions& o) {
    gen.reset();  // both kinds decode from an empty cache: no prefix reuse between them
    return gen.generate(prompt, o);
}

std::string line(const char* label, int64_t prompt_tokens, double plain, double spec, const SpeculativeStats& s,
                 bool exact, bool greedy) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%-12s %6lld %10.2f %10.2f %7.3fx %9.3f  ", label, (long long)prompt_tokens, plain,
                  spec, plain > 0 ? spec / plain : 0.0, s.mean_accepted_length());
    std::string out = buf;
    for (size_t j = 0; j < s.drafted.size(); ++j) {
        std::snprintf(buf, sizeof(buf), "%s%.3f", j ? " " : "", s.acceptance_rate(j));
        out += buf;
    }
    if (greedy) out += exact ? "  exact" : "  DIFFERS";
    return out;
}

}  // namespace

Json run_speculative_bench(Model& model, const std::vector<BenchPrompt>& prompts, SpeculativeBenchOptions o) {
    if (!model.has_mtp())
        throw Error("generate.no_mtp", "", "bench --speculative drafts with the model's MTP modules, and this model has none");
    if (prompts.empty()) throw_invalid_argument("bench --speculative needs at least one prompt");
    GenerationOptions plain;
    plain.max_new_tokens = o.decode_tokens;
    plain.ignore_eos = true;
    plain.sampling = o.sampling;
    plain.vocabulary = o.vocabulary;
    GenerationOptions spec = plain;
    spec.speculative = SpeculativeOptions{true, o.draft_tokens};
    const bool greedy = o.sampling.greedy || o.sampling.temperature <= 0.0f;
    auto emit = [&o](const std::string& s) {
        if (o.on_line) o.on_line(s);
    };

    Generator gen(model);
    generate_fresh(gen, prompts[0].tokens, plain);  // warm-up, untimed
    const GenerationResult warm = generate_fresh(gen, prompts[0].tokens, spec);
    emit("prompt       tokens  plain t/s   spec t/s  speedup  mean len  acceptance per position");

    Timed plain_total, spec_total;
    SpeculativeStats total;
    bool all_exact = true;
    Json rows = Json::array();
    for (const BenchPrompt& p : prompts) {
        const GenerationResult a = generate_fresh(gen, p.tokens, plain);
        const GenerationResult b = generate_fresh(gen, p.tokens, spec);
        Timed ta, tb;
        ta.add(a);
        tb.add(b);
        plain_total.add(a);
        spec_total.add(b);
        total.add(b.speculation);
        const bool exact = a.tokens == b.tokens;
        all_exact = all_exact && exact;
        emit(line(p.label.c_str(), int64_t(p.tokens.size()), ta.rate(), tb.rate(), b.speculation, exact, greedy));
        Json row = {{"label", p.label},
                    {"prompt_tokens", p.tokens.size()},
                    {"plain_tokens_per_second", ta.rate()},
                    {"speculative_tokens_per_second", tb.rate()},
                    {"speedup", safe_ratio(tb.rate(), ta.rate())},
                    {"speculative", b.speculation.to_json()}};
        row["greedy_exact"] = greedy ? Json(exact) : Json(nullptr);
        rows.push_back(std::move(row));
    }
    emit(line("all", 0, plain_total.rate(), spec_total.rate(), total, all_exact, greedy));
    Json report = {{"draft_tokens", warm.draft_tokens},
                   {"mtp_modules", model.mtp_modules()},
                   {"decode_tokens", o.decode_tokens},
                   {"greedy", greedy},
                   {"plain_tokens_per_second", plain_total.rate()},
                   {"speculative_tokens_per_second", spec_total.rate()},
                   {"speedup", safe_ratio(spec_total.rate(), plain_total.rate())},
                   {"speculative", total.to_json()},
                   {"prompts", std::move(rows)}};
    report["greedy_exact"] = greedy ? Json(all_exact) : Json(nullptr);
    return report;
}

}  // namespace moe
