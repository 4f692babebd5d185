#include "train/parameters.h"

#include "core/error.h"

namespace moe::train {

Parameter& ParameterStore::add(const std::string& name, Tensor master) {
    if (by_name_.count(name)) throw_invalid_argument("parameter " + name + " registered twice");
    if (master.dtype() != DType::F32) throw_invalid_argument("parameter " + name + ": masters are F32");
    auto p = std::make_unique<Parameter>();
    p->name = name;
    p->grad = backend_.alloc(master.rows(), master.cols());
    p->value = std::move(master);
    Parameter& ref = *p;
    by_name_[name] = &ref;
    params_.push_back(std::move(p));
    return ref;
}

Parameter& ParameterStore::add_matrix(const std::string& name, Tensor master) {
    Parameter& p = add(name, std::move(master));
    p.weight = backend_.weight_from_tensor(p.value);
    by_storage_[p.weight.storage()] = &p;
    return p;
}

Parameter& ParameterStore::add_vector(const std::string& name, Tensor master) {
    Parameter& p = add(name, std::move(master));
    by_storage_[p.value.storage()] = &p;
    return p;
}

ExpertSet ParameterStore::add_experts(const std::string& prefix, Tensor gate, Tensor up, Tensor down, int64_t E) {
    const int64_t inter = gate.rows() / E, hidden = down.rows() / E;
    ExpertStack stack;
    stack.set = backend_.expert_set_from_tensors(gate, up, down, E);
    stack.gate = &add(prefix + "gate", std::move(gate));
    stack.up = &add(prefix + "up", std::move(up));
    stack.down = &add(prefix + "down", std::move(down));
    for (int64_t e = 0; e < E; ++e) {
        const std::string p = prefix + std::to_string(e);
        stack.gate->slices.push_back({p + ".gate_proj.weight", e * inter, inter});
        stack.up->slices.push_back({p + ".up_proj.weight", e * inter, inter});
        stack.down->slices.push_back({p + ".down_proj.weight", e * hidden, hidden});
    }
    stack.grads = std::make_unique<ExpertGrads>(ExpertGrads{stack.gate->grad, stack.up->grad, stack.down->grad});
    ExpertSet set = stack.set;
    experts_[set.storage.get()] = std::move(stack);
    return set;
}

void ParameterStore::add_lora(const std::string& base_name, const Weight& base, Tensor a, Tensor b, float scale,
                              float dropout, uint64_t seed) {
    Parameter& pa = add_matrix(base_name + ".lora_A", std::move(a));
    Parameter& pb = add_matrix(base_name + ".lora_B", std::move(b));
    pa.is_lora = pb.is_lora = true;
    auto slot = std::make_unique<LoraSlot>();
    slot->weights = LoraWeights{pa.value, pb.value, scale, dropout, seed};
    slot->a_weight = pa.weight;
    slot->b_weight = pb.weight;
    slot->grads = LoraGrads{pa.grad, pb.grad};
    lora_base_seed_[base.storage()] = seed;
    lora_[base.storage()] = std::move(slot);
}

void ParameterStore::add_expert_lora(const std::string& prefix, const ExpertSet& base, const ExpertLora& adapters) {
    auto slot = std::make_unique<ExpertLoraSlot>();
    slot->weights = adapters;
    const std::pair<const LoraWeights*, LoraGrads*> projs[] = {{&adapters.gate, &slot->grads.gate},
                                                               {&adapters.up, &slot->grads.up},
                                                               {&adapters.down, &slot->grads.down}};
    const char* names[] = {"gate", "up", "down"};
    for (int i = 0; i < 3; ++i) {
        Parameter& pa = add(prefix + names[i] + ".lora_A", projs[i].first->a);
        Parameter& pb = add(prefix + names[i] + ".lora_B", projs[i].first->b);
        pa.is_lora = pb.is_lora = true;
        *projs[i].second = LoraGrads{pa.grad, pb.grad};
    }
    lora_base_seed_[&slot->weights.gate] = adapters.gate.seed;
    lora_base_seed_[&slot->weights.up] = adapters.up.seed;
    lora_base_seed_[&slot->weights.down] = adapters.down.seed;
    expert_lora_[base.storage.get()] = std::move(slot);
}

void ParameterStore::add_alias(const std::string& name, const std::string& alias) {
    Parameter* p = find(name);
    if (!p) throw_invalid_argument("alias " + alias + " of unknown parameter " + name);
    p->aliases.push_back(alias);
}

Tensor* ParameterStore::grad_of(const Weight& w) const {
    auto it = by_storage_.find(w.storage());
    return it == by_storage_.end() ? nullptr : &it->second->grad;
}

Tensor* ParameterStore::grad_of(const Tensor& vector_master) const {
    auto it = by_storage_.find(vector_master.storage());
    return it == by_storage_.end() ? nullptr : &it->second->grad;
}

ExpertGrads* ParameterStore::grad_of(const ExpertSet& set) const {
    auto it = experts_.find(set.storage.get());
    return it == experts_.end() ? nullptr : it->second.grads.get();
}

const LoraSlot* ParameterStore::lora_of(const Weight& w) const {
    auto it = lora_.find(w.storage());
    return it == lora_.end() ? nullptr : it->second.get();
}

const ExpertLoraSlot* ParameterStore::lora_of(const ExpertSet& set) const {
    auto it = expert_lora_.find(set.storage.get());
    return it == expert_lora_.end() ? nullptr : it->second.get();
}

std::vector<Parameter*> ParameterStore::parameters() {
    std::vector<Parameter*> out;
    for (auto& p : params_) out.push_back(p.get());
    return out;
}

std::vector<const Parameter*> ParameterStore::parameters() const {
    std::vector<const Parameter*> out;
    for (const auto& p : params_) out.push_back(p.get());
    return out;
}

Parameter* ParameterStore::find(const std::string& name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

void ParameterStore::set_dropout_key(uint64_t key) {
    auto mix = [key](uint64_t base) { return (base ^ (key * 0x9E3779B97F4A7C15ull)) + 0x632BE59BD9B4E019ull * (key + 1); };
    for (auto& [storage, slot] : lora_) slot->weights.seed = mix(lora_base_seed_[storage]);
    for (auto& [storage, slot] : expert_lora_) {
        slot->weights.gate.seed = mix(lora_base_seed_[&slot->weights.gate]);
        slot->weights.up.seed = mix(lora_base_seed_[&slot->weights.up]);
        slot->weights.down.seed = mix(lora_base_seed_[&slot->weights.down]);
    }
}

void ParameterStore::zero_grads() {
    std::vector<Tensor*> grads;
    for (auto& p : params_) grads.push_back(&p->grad);
    backend_.zero_many(grads);
}

double ParameterStore::grad_sum_squares() const {
    std::vector<const Tensor*> grads;
    for (const auto& p : params_) grads.push_back(&p->grad);
    return backend_.sum_squares_many(grads);
}

void ParameterStore::refresh_weights() {
    std::vector<WeightRefresh> weights;
    for (auto& p : params_)
        if (!p->weight.empty()) weights.push_back({&p->weight, &p->value});
    backend_.refresh_weights_many(weights);
    for (auto& [key, stack] : experts_)
        backend_.refresh_expert_set(stack.set, stack.gate->value, stack.up->value, stack.down->value);
}

int64_t ParameterStore::trainable_elements() const {
    int64_t n = 0;
    for (const auto& p : params_) n += p->numel();
    return n;
}

}  // namespace moe::train
