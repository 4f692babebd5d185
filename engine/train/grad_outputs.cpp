#include "train/grad_outputs.h"

#include "core/staging_dir.h"

namespace moe::train {

Json losses_json(const StepResult& r) {
    Json per_layer = Json::object();
    for (const auto& [layer, v] : r.l_bal_per_layer) per_layer[std::to_string(layer)] = v;
    return Json{{"ce", r.ce},
                {"ce_mtp", r.ce_mtp},
                {"l_mtp", r.l_mtp},
                {"l_bal", r.l_bal},
                {"l_bal_per_layer", per_layer},
                {"total", r.total},
                {"grad_norm", r.grad_norm},
                {"tokens", Json{{"ce", r.ce_tokens}, {"mtp", r.mtp_tokens}}}};
}

Json bias_update_json(const StepResult& r) {
    Json layers = Json::object();
    for (const auto& [layer, b] : r.balance) {
        Json j{{"load", b.load}, {"maxvio", b.maxvio}};
        if (!b.bias_before.empty()) {
            j["bias_before"] = b.bias_before;
            j["bias_after"] = b.bias_after;
        }
        layers[std::to_string(layer)] = j;
    }
    return Json{{"layers", layers}};
}

namespace {
const Tensor& field_of(const Parameter& p, ParamField f) {
    switch (f) {
        case ParamField::Grad: return p.grad;
        case ParamField::Value: return p.value;
        case ParamField::ExpAvg: return p.exp_avg;
        case ParamField::ExpAvgSq: return p.exp_avg_sq;
    }
    return p.value;
}
}  // namespace

std::map<std::string, TensorToWrite> parameter_tensors(const ParameterStore& params, ParamField field,
                                                        const std::string& suffix) {
    Backend& be = params.backend();
    std::map<std::string, TensorToWrite> out;
    for (const Parameter* p : params.parameters()) {
        const Tensor& t = field_of(*p, field);
        if (t.empty()) continue;
        const std::vector<float> v = be.download(t);
        const int64_t cols = p->cols();
        auto put = [&](const std::string& name, int64_t row0, int64_t rows) {
            const bool vector = rows == 1 && !p->weight.storage() && p->slices.empty();
            std::vector<float> part(v.begin() + row0 * cols, v.begin() + (row0 + rows) * cols);
            out[name + suffix] = f32_tensor(std::move(part), vector ? std::vector<int64_t>{cols}
                                                                     : std::vector<int64_t>{rows, cols});
        };
        if (!p->slices.empty()) {
            for (const Parameter::Slice& s : p->slices) put(s.name, s.row0, s.rows);
            continue;
        }
        const std::string name = p->is_lora ? p->name + ".weight" : p->name;
        put(name, 0, p->rows());
        for (const std::string& alias : p->aliases) put(alias, 0, p->rows());
    }
    return out;
}

void write_grad_outputs(const std::string& out_dir, const StepResult& r, const ParameterStore& params,
                        bool with_adamw) {
    StagingDir dir(out_dir);
    write_file_atomic(dir.file("losses.json"), losses_json(r).dump(2) + "\n");
    write_file_atomic(dir.file("bias_update.json"), bias_update_json(r).dump(2) + "\n");
    write_safetensors(dir.file("grads.safetensors"), parameter_tensors(params, ParamField::Grad));
    if (with_adamw) {
        write_safetensors(dir.file("params_after.safetensors"), parameter_tensors(params, ParamField::Value));
        std::map<std::string, TensorToWrite> state = parameter_tensors(params, ParamField::ExpAvg, ".exp_avg");
        state.merge(parameter_tensors(params, ParamField::ExpAvgSq, ".exp_avg_sq"));
        write_safetensors(dir.file("optimizer_state.safetensors"), std::move(state));
    }
    dir.commit();
}

}  // namespace moe::train
