// Routing telemetry: which experts every token of a forward went to, cumulative per-expert load,
// and the routing biases, as plain data (no Qt, no backend types).
//
// The model records one ForwardRouting per forward (main model or MTP). Observers registered with
// add_observer() are called synchronously at the end of each forward, on the forward's thread; a
// server copies what it streams. snapshot() may be called from any thread.
//
// Speculative decoding verifies k drafted tokens in one main forward and keeps only the accepted
// prefix, so that forward is *held*: hold_next_forward() before it, then commit_held(rows) records
// its first `rows` tokens as the forward (load counted, observers called) and drops the rest. The
// load counters and observers therefore only ever see tokens that stay in the sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace moe {

// One MoE layer's routing for the T tokens of one forward.
struct LayerRouting {
    int64_t top_k = 0;
    std::vector<int32_t> expert_ids;  // [T, top_k], selection order
    std::vector<float> weights;       // [T, top_k], final weights (normalised, scaled)
    int64_t tokens() const { return top_k > 0 ? int64_t(expert_ids.size()) / top_k : 0; }
};

struct ForwardRouting {
    int64_t start_pos = 0;                   // position of the first token
    int64_t tokens = 0;                      // T
    bool mtp = false;                        // recorded by the MTP draft layer
    int64_t sequence = 0;                    // the model's sequence (batched decoding: Model::decode_batch)
    std::map<int64_t, LayerRouting> layers;  // keyed by the model's layer index
};

struct RoutingSnapshot {
    ForwardRouting last_forward;
    std::map<int64_t, std::vector<uint64_t>> expert_load;  // layer -> [n_experts] cumulative hits
    std::map<int64_t, std::vector<float>> bias;            // layer -> e_score_correction_bias (when present)
    uint64_t forwards = 0;                                 // forwards recorded since the last reset_load()
};

class RoutingTrace {
public:
    using Observer = std::function<void(const ForwardRouting&, const RoutingTrace&)>;

    // Declares an MoE layer (its expert count and routing bias, empty when it has none).
    void add_layer(int64_t layer, int64_t n_experts, std::vector<float> bias = {});
    std::vector<int64_t> layers() const;

    // Off: the model skips copying routing results back (they cost a device sync on a GPU).
    void set_enabled(bool on);
    bool enabled() const;

    // Called by the model around each forward.
    void begin_forward(int64_t start_pos, int64_t tokens, bool mtp, int64_t sequence = 0);
    // ids, weights: [tokens, top_k] of the current forward.
    void record(int64_t layer, int64_t top_k, std::vector<int32_t> ids, std::vector<float> weights);
    void end_forward();

    // The next main (non-MTP) forward is held at end_forward(): not counted, not observed.
    void hold_next_forward();
    // Records the first `rows` tokens of the held forward (0 <= rows <= its tokens) as a forward;
    // the other rows are dropped. Throws when nothing is held.
    void commit_held(int64_t rows);
    // Drops a held forward (or a pending hold) without recording anything.
    void discard_held();
    bool holding() const;

    ForwardRouting last_forward() const;
    std::vector<uint64_t> expert_load(int64_t layer) const;
    std::vector<float> bias(int64_t layer) const;
    RoutingSnapshot snapshot() const;
    void reset_load();

    int add_observer(Observer observer);  // returns an id for remove_observer
    void remove_observer(int id);

private:
    // Counts `f`'s load, makes it the last forward and calls the observers. Takes the lock itself.
    void publish(ForwardRouting f);

    mutable std::mutex mutex_;
    bool enabled_ = true;
    std::map<int64_t, std::vector<uint64_t>> load_;
    std::map<int64_t, std::vector<float>> bias_;
    ForwardRouting current_;
    ForwardRouting last_;
    bool hold_next_ = false;
    std::optional<ForwardRouting> held_;
    uint64_t forwards_ = 0;
    std::map<int, Observer> observers_;
    int next_observer_id_ = 1;
};

}  // namespace moe
