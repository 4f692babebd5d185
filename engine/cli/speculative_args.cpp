#include "cli/speculative_args.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "model/model.h"

namespace moe::cli {

std::vector<OptionSpec> speculative_option_specs() {
    return {{"speculative", false, "decode speculatively, drafting with the model's MTP modules"},
            {"draft", true, "drafts per step with --speculative (default: one per MTP module; more is clamped)"}};
}

SpeculativeOptions speculative_options(const Args& args, const Model& model, const std::string& model_dir) {
    SpeculativeOptions o;
    if (!args.has("speculative")) {
        if (args.has("draft")) throw Error("cli.bad_argument", "", "--draft needs --speculative");
        return o;
    }
    if (!model.has_mtp()) {
        const int64_t configured = model.config().num_nextn_predict_layers;
        throw Error("cli.no_mtp", model_dir,
                    "--speculative drafts with the model's MTP modules, and this checkpoint has none" +
                        std::string(configured > 0 ? " stored (config.json sets num_nextn_predict_layers = " +
                                                         std::to_string(configured) + ", the layers are missing)"
                                                   : " (num_nextn_predict_layers = 0)") +
                        ". Add a drafting head: moe-engine train --model " + model_dir +
                        " --data PATH --method mtp-head --out RUN, then moe-engine export --run RUN --out DIR, "
                        "and run --speculative on DIR");
    }
    o.enabled = true;
    o.draft_tokens = args.get_int("draft", 0);
    if (args.has("draft") && o.draft_tokens < 1) throw Error("cli.bad_argument", "", "--draft must be at least 1");
    bool clamped = false;
    const int64_t k = effective_draft_tokens(o.draft_tokens, model.mtp_modules(), &clamped);
    if (clamped)
        spdlog::warn("--draft {}: the model has {} MTP module(s), so each step drafts {}", o.draft_tokens,
                     model.mtp_modules(), k);
    o.draft_tokens = k;
    return o;
}

std::string speculative_summary(const SpeculativeStats& s, int64_t draft_tokens) {
    std::string accepted, rates;
    char buf[32];
    for (size_t j = 0; j < s.drafted.size(); ++j) {
        accepted += (j ? " " : "") + std::to_string(s.accepted[j]);
        std::snprintf(buf, sizeof(buf), "%s%.3f", j ? " " : "", s.acceptance_rate(j));
        rates += buf;
    }
    std::snprintf(buf, sizeof(buf), "%.3f", s.mean_accepted_length());
    return "[speculative: " + std::to_string(draft_tokens) + " draft(s) per step, " + std::to_string(s.steps) +
           " steps, " + std::to_string(s.drafted_total()) + " drafted, accepted per position " +
           (accepted.empty() ? "-" : accepted) + " (" + (rates.empty() ? "-" : rates) + "), mean accepted length " +
           buf + "]";
}

}  // namespace moe::cli
