// The sequences a graph holds for batched decoding (Model::add_sequence and the rest): each one's
// state (its KV caches, cached length, ...) by id, and which one the single-sequence calls act on.
// Sequence 0 always exists; removed ids are reused, so ids stay small.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/model.h"

namespace moe {

template <class State>
class SequenceSet {
public:
    // make(): a new sequence's state, its caches allocated.
    explicit SequenceSet(std::function<std::unique_ptr<State>()> make) : make_(std::move(make)) {
        states_.push_back(make_());
    }

    int64_t add() {
        auto state = make_();  // allocate first: a failed allocation changes nothing
        for (size_t i = 1; i < states_.size(); ++i)
            if (!states_[i]) {
                states_[i] = std::move(state);
                return int64_t(i);
            }
        states_.push_back(std::move(state));
        return int64_t(states_.size()) - 1;
    }

    // The state is handed back so the caller can release what it registered elsewhere (recorded
    // decode steps) before it is destroyed.
    std::unique_ptr<State> remove(int64_t id) {
        check(id);
        if (id == 0) throw Error("model.no_sequence", "", "sequence 0 cannot be removed");
        if (selected_ == id) selected_ = 0;
        return std::move(states_[size_t(id)]);
    }

    void select(int64_t id) {
        check(id);
        selected_ = id;
    }
    int64_t selected() const { return selected_; }
    State& current() { return *states_[size_t(selected_)]; }
    const State& current() const { return *states_[size_t(selected_)]; }
    State& at(int64_t id) {
        check(id);
        return *states_[size_t(id)];
    }

    int64_t live() const {
        int64_t n = 0;
        for (const auto& s : states_) n += s ? 1 : 0;
        return n;
    }
    // The states of a batched step's rows (Model::BatchRow: sequence, token, pos), after checking
    // the whole batch — distinct live sequences, each position within its cached length and the
    // capacity, every token below vocab — so that a refused batch changes nothing.
    template <class Row>
    std::vector<State*> batch(std::span<const Row> rows, int64_t capacity, int64_t vocab) {
        check_batch_rows(rows);
        std::vector<State*> out;
        for (const Row& r : rows) {
            State& s = at(r.sequence);
            check_forward_range(r.pos, 1, s.cached, capacity);
            check_token(r.token, vocab);
            out.push_back(&s);
        }
        return out;
    }

    template <class F>
    void for_each(F&& f) {
        for (auto& s : states_)
            if (s) f(*s);
    }

private:
    void check(int64_t id) const {
        if (id < 0 || id >= int64_t(states_.size()) || !states_[size_t(id)])
            throw Error("model.no_sequence", "", "the model holds no sequence " + std::to_string(id));
    }

    std::function<std::unique_ptr<State>()> make_;
    std::vector<std::unique_ptr<State>> states_;  // null: removed, its id free
    int64_t selected_ = 0;
};

}  // namespace moe
