#include "generate/speculative.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "model/model.h"

namespace moe {

namespace {

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

// history followed by the first n drafts: what the repetition penalty sees at draft n.
std::vector<int32_t> extended(std::span<const int32_t> history, std::span<const int32_t> drafts, size_t n) {
    std::vector<int32_t> out(history.begin(), history.end());
    out.insert(out.end(), drafts.begin(), drafts.begin() + std::ptrdiff_t(n));
    return out;
}

// Holds the verify forward's routing until the step knows how many of its rows stay.
class HeldRouting {
public:
    explicit HeldRouting(RoutingTrace& trace) : trace_(trace) { trace_.hold_next_forward(); }
    ~HeldRouting() {
        if (!committed_) trace_.discard_held();
    }
    HeldRouting(const HeldRouting&) = delete;
    HeldRouting& operator=(const HeldRouting&) = delete;
    void commit(int64_t rows) {
        committed_ = true;
        trace_.commit_held(rows);
    }

private:
    RoutingTrace& trace_;
    bool committed_ = false;
};

struct Verdict {
    int64_t accepted = 0;         // drafts kept
    std::vector<int32_t> tokens;  // the kept drafts, then the target's own token
};

// run = [t_N, d_1 .. d_k] at positions N..N+k.
Verdict verify_greedy(Model& model, int64_t N, std::span<const int32_t> run, TokenPolicy& policy,
                      std::span<const int32_t> history) {
    const auto drafts = run.subspan(1);
    std::vector<int32_t> target;
    if (policy.argmax_only()) {
        target = model.forward_greedy_rows(run, N, policy.vocab_limit());
    } else {  // a repetition penalty reshapes each row by what precedes it
        const Logits logits = model.forward(run, N, LogitRows::All);
        for (int64_t r = 0; r < logits.rows; ++r)
            target.push_back(policy.choose(logits.row(r), extended(history, drafts, size_t(r))));
    }
    Verdict v;
    while (size_t(v.accepted) < drafts.size() && drafts[size_t(v.accepted)] == target[size_t(v.accepted)]) {
        v.tokens.push_back(drafts[size_t(v.accepted)]);
        ++v.accepted;
    }
    v.tokens.push_back(target[size_t(v.accepted)]);
    return v;
}

// A draw from norm(max(0, p - q)): the target's mass the draft under-proposed.
int32_t draw_residual(const std::vector<float>& p, const std::vector<float>& q, Sampler& sampler) {
    std::vector<float> r(p.size());
    double sum = 0.0;
    for (size_t i = 0; i < p.size(); ++i) {
        r[i] = std::max(0.0f, p[i] - q[i]);
        sum += double(r[i]);
    }
    if (sum <= 0.0) return sampler.draw(p);  // p == q up to rounding: a rejection had probability ~0
    for (float& v : r) v = float(double(v) / sum);
    return sampler.draw(r);
}

Verdict verify_sampled(Model& model, int64_t N, std::span<const int32_t> run, const MtpDrafter::Drafts& d,
                       TokenPolicy& policy, std::span<const int32_t> history) {
    const Logits logits = model.forward(run, N, LogitRows::All);
    Sampler& sampler = policy.sampler();
    Verdict v;
    for (size_t r = 0; r < d.tokens.size(); ++r) {
        const std::vector<float> p = policy.distribution(logits.row(int64_t(r)), extended(history, d.tokens, r));
        const int32_t token = d.tokens[r];
        const double p_d = p[size_t(token)], q_d = d.q[r][size_t(token)];  // q_d > 0: the draft came from q
        if (sampler.uniform01() * q_d < p_d) {  // accept with probability min(1, p/q)
            v.tokens.push_back(token);
            ++v.accepted;
            continue;
        }
        v.tokens.push_back(draw_residual(p, d.q[r], sampler));
        return v;
    }
    const int64_t k = int64_t(d.tokens.size());
    v.tokens.push_back(sampler.draw(policy.distribution(logits.row(k), extended(history, d.tokens, size_t(k)))));
    return v;
}

}  // namespace

int64_t effective_draft_tokens(int64_t requested, int64_t modules, bool* clamped) {
    if (clamped) *clamped = requested > modules;
    if (modules <= 0) return 0;
    if (requested <= 0) return modules;
    return std::min(requested, modules);
}

int64_t MtpDrafter::valid_positions(const Model& model, size_t j, std::span<const int32_t> sequence) const {
    if (j >= basis_.size()) return 0;
    const int64_t agree = int64_t(common_prefix(basis_[j], sequence));
    return std::clamp<int64_t>(agree - int64_t(j) - 1, 0, model.mtp_module_cached(int64_t(j)));
}

MtpDrafter::Drafts MtpDrafter::draft(Model& model, std::span<const int32_t> confirmed, int64_t k, TokenPolicy& policy,
                                     std::span<const int32_t> history) {
    const int64_t N = int64_t(confirmed.size()) - 1;
    if (N < 1 || k < 1 || k > model.mtp_modules())
        throw_invalid_argument("draft: " + std::to_string(k) + " drafts after " + std::to_string(N + 1) +
                               " tokens with " + std::to_string(model.mtp_modules()) + " MTP modules");
    basis_.resize(size_t(model.mtp_modules()));
    Drafts out;
    std::vector<int32_t> belief(confirmed.begin(), confirmed.end());  // t_0 .. t_N, then the drafts
    std::vector<int32_t> seen(history.begin(), history.end());
    int64_t previous_start = N - 1;
    for (size_t j = 0; j < size_t(k); ++j) {
        // Module j recomputes from its first position not valid for `belief`, and from wherever
        // module j-1 just rewrote its input (level j) if that is earlier. At least position N-1,
        // whose row drafts.
        int64_t start = std::min(valid_positions(model, j, belief), previous_start);
        start = std::clamp<int64_t>(start, 0, N - 1);
        const auto next_tokens = std::span<const int32_t>(belief).subspan(size_t(start) + j + 1, size_t(N - start));
        const Logits logits = model.mtp_module_forward(int64_t(j), next_tokens, start, LogitRows::Last);
        basis_[j] = belief;
        int32_t token = 0;
        if (policy.greedy()) {
            token = policy.choose(logits.row(0), seen);
        } else {
            out.q.push_back(policy.distribution(logits.row(0), seen));
            token = policy.sampler().draw(out.q.back());
        }
        out.tokens.push_back(token);
        belief.push_back(token);
        seen.push_back(token);
        previous_start = start;
    }
    return out;
}

bool speculative_step(SpeculativeStepContext& c, int32_t last, std::span<const int32_t> history, int64_t k) {
    const int64_t N = c.model.cached_tokens();
    if (int64_t(c.sequence.size()) != N)
        throw_invalid_argument("speculative step: the sequence (" + std::to_string(c.sequence.size()) +
                               " tokens) is not what the cache holds (" + std::to_string(N) + ")");
    std::vector<int32_t> run(c.sequence.begin(), c.sequence.end());
    run.push_back(last);
    const MtpDrafter::Drafts d = c.drafter.draft(c.model, run, k, c.policy, history);
    run.assign(1, last);
    run.insert(run.end(), d.tokens.begin(), d.tokens.end());

    HeldRouting held(c.model.routing_trace());
    const Verdict v = c.policy.greedy() ? verify_greedy(c.model, N, run, c.policy, history)
                                        : verify_sampled(c.model, N, run, d, c.policy, history);
    c.stats.record_step(k, v.accepted);

    // Emitted token i was predicted from run[i]: the rows kept are those of the emitted tokens.
    int64_t emitted = 0;
    bool go = true;
    while (go && size_t(emitted) < v.tokens.size()) {
        const int32_t token = v.tokens[size_t(emitted)];
        go = c.emit(token, emitted < v.accepted);
        ++emitted;
    }
    held.commit(emitted);
    c.model.truncate(N + emitted);
    c.sequence.insert(c.sequence.end(), run.begin(), run.begin() + emitted);
    return go;
}

}  // namespace moe
