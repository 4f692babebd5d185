#include "train/export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>

#include "core/dtype.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/tensor_file_writer.h"
#include "train/run_config.h"
#include "train/training_run.h"

namespace moe::train {

namespace fs = std::filesystem;

namespace {

using Values = std::vector<float>;
using Source = std::function<Values()>;  // computes one output tensor's f32 values when written

struct OutTensor {
    std::vector<int64_t> shape;
    DType dtype = DType::F32;
    Source values;
};

std::map<std::string, Values> read_f32(const std::string& path, std::map<std::string, std::vector<int64_t>>* shapes) {
    std::map<std::string, Values> out;
    auto f = SafetensorsFile::open(path);
    for (const TensorInfo& t : f->tensors()) {
        if (t.dtype != DType::F32) throw Error("checkpoint.bad_dtype", path, t.name + " is not F32", t.name);
        Values v(static_cast<size_t>(t.numel()));
        std::memcpy(v.data(), t.data, t.nbytes);
        out[t.name] = std::move(v);
        if (shapes) (*shapes)[t.name] = t.shape;
    }
    return out;
}

// The trained state of one checkpoint folder, shared by every tensor's Source.
struct Trained {
    std::map<std::string, Values> params;             // by parameter name
    std::map<std::string, std::vector<int64_t>> shapes;  // parameter name -> [rows, cols] (vectors [1, n])
    std::map<int64_t, std::vector<float>> biases;      // layer -> routing bias
    float lora_scale = 0.0f;
    int64_t lora_rank = 0;
};

// "model.layers.L.mlp.experts.E.gate_proj.weight" -> ("model.layers.L.mlp.experts.", E, "gate")
bool expert_name(const std::string& name, std::string& prefix, int64_t& e, std::string& proj) {
    static const std::regex re(R"(^(.*\.mlp\.experts\.)(\d+)\.(gate|up|down)_proj\.weight$)");
    std::smatch m;
    if (!std::regex_match(name, m, re)) return false;
    prefix = m[1];
    e = std::stoll(m[2]);
    proj = m[3];
    return true;
}

// rows [row0, row0 + n) of a row-major matrix with `cols` columns.
Values rows_of(const Values& v, int64_t cols, int64_t row0, int64_t n) {
    return Values(v.begin() + row0 * cols, v.begin() + (row0 + n) * cols);
}

// W [out, in] += scale · B [out, r] · A [r, in]
void fold_lora(Values& w, int64_t out, int64_t in, const Values& a, const Values& b, int64_t r, float scale) {
    for (int64_t o = 0; o < out; ++o)
        for (int64_t k = 0; k < r; ++k) {
            const float s = scale * b[size_t(o * r + k)];
            if (s == 0.0f) continue;
            for (int64_t i = 0; i < in; ++i) w[size_t(o * in + i)] += s * a[size_t(k * in + i)];
        }
}

// The trained value of checkpoint tensor `name` (shape [out, in]) on top of `base`, or nullopt
// when training did not touch it.
std::optional<Values> trained_value(const Trained& t, const std::string& name, int64_t out, int64_t in,
                                    const std::function<Values()>& base) {
    if (auto it = t.params.find(name); it != t.params.end()) return it->second;
    std::string prefix, proj;
    int64_t e = 0;
    const bool expert = expert_name(name, prefix, e, proj);
    if (expert)
        if (auto it = t.params.find(prefix + proj); it != t.params.end()) return rows_of(it->second, in, e * out, out);
    const std::string module = expert ? prefix + proj : name.substr(0, name.size() - std::string(".weight").size());
    auto a = t.params.find(module + ".lora_A"), b = t.params.find(module + ".lora_B");
    if (a == t.params.end() || b == t.params.end()) return std::nullopt;
    Values w = base();
    const int64_t r = t.lora_rank;
    if (expert)
        fold_lora(w, out, in, rows_of(a->second, in, e * r, r), rows_of(b->second, r, e * out, out), r, t.lora_scale);
    else
        fold_lora(w, out, in, a->second, b->second, r, t.lora_scale);
    return w;
}

DType output_dtype(const std::string& choice, DType base, bool scratch) {
    if (choice == "f32") return DType::F32;
    if (choice == "bf16" || choice == "fp8") return DType::BF16;  // fp8 is applied per tensor below
    if (choice != "auto") throw Error("export.bad_dtype", "", "--dtype must be auto, bf16, f32 or fp8");
    if (scratch) return DType::F32;
    return base == DType::F8_E4M3 ? DType::BF16 : base;
}

bool quantise_fp8(const std::string& name, const std::vector<int64_t>& shape) {
    return shape.size() == 2 && name.size() > 12 && name.compare(name.size() - 12, 12, "_proj.weight") == 0;
}

// values → bytes of `dtype` (F32 / BF16 / F16).
TensorToWrite to_write(DType dtype, std::vector<int64_t> shape, Source src) {
    return TensorToWrite{dtype, std::move(shape), [dtype, src](std::vector<uint8_t>& out) {
                             const Values v = src();
                             for (float x : v) {
                                 if (dtype == DType::F32) {
                                     const auto* p = reinterpret_cast<const uint8_t*>(&x);
                                     out.insert(out.end(), p, p + 4);
                                 } else {
                                     const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(x) : f32_to_f16(x);
                                     out.push_back(uint8_t(h & 0xff));
                                     out.push_back(uint8_t(h >> 8));
                                 }
                             }
                         }};
}

// fp8 e4m3 with one f32 scale per 128×128 block: W ≈ fp8(W / s) · s, s = max|block| / 448.
void add_fp8(std::map<std::string, TensorToWrite>& out, const std::string& name, int64_t rows, int64_t cols,
             Source src) {
    constexpr int64_t B = 128;
    const int64_t br = (rows + B - 1) / B, bc = (cols + B - 1) / B;
    // Quantise once into shared buffers, filled on first use (tensors are written in name order:
    // "<name>" before "<name>_scale_inv").
    auto codes = std::make_shared<std::vector<uint8_t>>();
    auto scale = std::make_shared<Values>();
    auto quantise = [=]() {
        if (!codes->empty()) return;
        const Values w = src();
        scale->assign(size_t(br * bc), 0.0f);
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                float& s = (*scale)[size_t((i / B) * bc + j / B)];
                s = std::max(s, std::abs(w[size_t(i * cols + j)]) / 448.0f);
            }
        for (float& s : *scale)
            if (s == 0.0f) s = 1.0f;
        codes->resize(size_t(rows * cols));
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
                (*codes)[size_t(i * cols + j)] =
                    f32_to_fp8_e4m3(w[size_t(i * cols + j)] / (*scale)[size_t((i / B) * bc + j / B)]);
    };
    out[name] = TensorToWrite{DType::F8_E4M3, {rows, cols}, [=](std::vector<uint8_t>& o) {
                                  quantise();
                                  o.insert(o.end(), codes->begin(), codes->end());
                              }};
    out[name + "_scale_inv"] = TensorToWrite{DType::F32, {br, bc}, [=](std::vector<uint8_t>& o) {
                                                 quantise();
                                                 const auto* p = reinterpret_cast<const uint8_t*>(scale->data());
                                                 o.insert(o.end(), p, p + scale->size() * 4);
                                             }};
}

void copy_tokenizer_files(const std::string& from, const std::string& to) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json",
                          "generation_config.json"}) {
        const fs::path src = fs::path(from) / f;
        if (fs::exists(src)) fs::copy_file(src, fs::path(to) / f, fs::copy_options::overwrite_existing);
    }
}

}  // namespace

Json export_run(const ExportOptions& o) {
    const RunConfig rc = RunConfig::from_json(load_strict_json_file(o.run_dir + "/run.json", "export"), o.run_dir + "/run.json");
    const std::vector<std::string> all = list_checkpoints(o.run_dir);
    if (all.empty()) throw Error("export.no_checkpoint", o.run_dir, "the run has no checkpoint yet");
    std::string ckpt_dir = all.back();
    if (o.step >= 0) {
        char name[32];
        std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(o.step));
        ckpt_dir = (fs::path(o.run_dir) / "checkpoints" / name).string();
        if (!fs::exists(fs::path(ckpt_dir) / "state.json"))
            throw Error("export.no_checkpoint", ckpt_dir, "no checkpoint of step " + std::to_string(o.step));
    }
    auto trained = std::make_shared<Trained>();
    trained->params = read_f32(ckpt_dir + "/params.safetensors", &trained->shapes);
    const Json state = load_strict_json_file(ckpt_dir + "/state.json", "checkpoint");
    for (const auto& [layer, v] : state["routing_bias"].items()) trained->biases[std::stoll(layer)] = v.get<std::vector<float>>();
    trained->lora_rank = rc.lora.rank;
    trained->lora_scale = rc.method == TrainMethod::Lora ? rc.lora.scale() : 0.0f;

    const bool scratch = rc.model.empty();
    std::shared_ptr<Checkpoint> base;
    if (!scratch) base = Checkpoint::open(rc.model);
    const ModelConfig mc = scratch ? load_model_config(rc.scratch_config) : base->config();
    std::map<std::string, TensorToWrite> out;
    auto put = [&](const std::string& name, std::vector<int64_t> shape, DType base_dtype, Source src) {
        const bool fp8 = o.dtype == "fp8" && quantise_fp8(name, shape);
        if (fp8)
            add_fp8(out, name, shape[0], shape[1], std::move(src));
        else
            out[name] = to_write(output_dtype(o.dtype, base_dtype, scratch), std::move(shape), std::move(src));
    };
    static const std::regex bias_re(R"(^model\.layers\.(\d+)\.mlp\.gate\.e_score_correction_bias$)");
    if (!scratch) {
        // Plain loop variables, not structured bindings: clang 14 (the fuzz build) cannot capture those.
        for (const auto& entry : base->tensors()) {
            const std::string& name = entry.first;
            const auto& info = entry.second;
            if (name.size() > 10 && name.compare(name.size() - 10, 10, "_scale_inv") == 0) continue;
            const std::vector<int64_t> shape = info.shape;
            std::smatch m;
            if (std::regex_match(name, m, bias_re) && trained->biases.count(std::stoll(m[1]))) {
                const std::vector<float> b = trained->biases.at(std::stoll(m[1]));
                out[name] = to_write(DType::F32, shape, [b] { return b; });  // the bias stays f32, as shipped
                continue;
            }
            const int64_t rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
            // Named copies: clang 14 cannot capture structured bindings.
            auto base_values = [base, tensor = name, shape, rows, cols]() {
                return shape.size() == 2 ? base->matrix(tensor, rows, cols).to_f32() : base->vector_f32(tensor, shape);
            };
            // The MTP layers' embed_tokens copy follows a trained main embedding.
            std::string source_name = name;
            static const std::regex copy_re(R"(^model\.layers\.\d+\.embed_tokens\.weight$)");
            if (std::regex_match(name, copy_re) && trained->params.count("model.embed_tokens.weight"))
                source_name = "model.embed_tokens.weight";
            put(name, shape, info.dtype, [trained, source_name, rows, cols, base_values]() {
                auto v = trained_value(*trained, source_name, rows, cols, base_values);
                return v ? *v : base_values();
            });
        }
    }
    // Trained tensors the base does not store (everything for a model from scratch; an MTP module
    // added to a checkpoint that had none): plain parameters, stacked experts as per-expert tensors.
    const int64_t inter = mc.moe_intermediate_size, hidden = mc.hidden_size;
    for (const auto& param : trained->params) {
        const std::string& pname = param.first;
        if (pname.find(".lora_") != std::string::npos) continue;
        const std::string tail = pname.substr(pname.rfind('.') + 1);
        if (pname.find(".mlp.experts.") != std::string::npos && (tail == "gate" || tail == "up" || tail == "down")) {
            const std::string prefix = pname.substr(0, pname.size() - tail.size());
            const int64_t out_w = tail == "down" ? hidden : inter, in_w = tail == "down" ? inter : hidden;
            for (int64_t e = 0; e < mc.n_routed_experts; ++e) {
                const std::string hub = prefix + std::to_string(e) + "." + tail + "_proj.weight";
                if (out.count(hub)) continue;
                put(hub, {out_w, in_w}, DType::F32,
                    [trained, param = pname, in_w, e, out_w] { return rows_of(trained->params.at(param), in_w, e * out_w, out_w); });
            }
            continue;
        }
        if (out.count(pname)) continue;
        const std::vector<int64_t>& rc2 = trained->shapes.at(pname);  // masters are [rows, cols]; vectors [1, n]
        const std::vector<int64_t> shape = rc2[0] == 1 ? std::vector<int64_t>{rc2[1]} : rc2;
        put(pname, shape, DType::F32, [trained, param = pname] { return trained->params.at(param); });
    }
    int64_t mtp_layers = 0;
    for (const auto& bias : trained->biases) {
        const int64_t layer = bias.first;
        const std::vector<float>& b = bias.second;
        const std::string name = "model.layers." + std::to_string(layer) + ".mlp.gate.e_score_correction_bias";
        if (!out.count(name)) out[name] = to_write(DType::F32, {int64_t(b.size())}, [bias = b] { return bias; });
    }
    for (int64_t k = 0;; ++k) {
        const std::string p = "model.layers." + std::to_string(mc.num_hidden_layers + k) + ".";
        if (!out.count(p + "eh_proj.weight") && !out.count(p + "eh_proj.weight_scale_inv")) break;
        mtp_layers = k + 1;
        // The copies DeepSeek-V3 stores for its MTP layers (vLLM and SGLang read them).
        auto shared = [&](const std::string& name) -> Source {
            if (trained->params.count(name)) return [trained, name] { return trained->params.at(name); };
            return [base, name] { return base->matrix(name, base->tensor(name).shape[0], base->tensor(name).shape[1]).to_f32(); };
        };
        if (!o.mtp_copies) continue;
        if (!out.count(p + "embed_tokens.weight"))
            put(p + "embed_tokens.weight", {mc.vocab_size, hidden}, DType::F32, shared("model.embed_tokens.weight"));
        if (!out.count(p + "shared_head.head.weight")) {
            const bool has_head = trained->params.count("lm_head.weight") || (base && base->has("lm_head.weight"));
            put(p + "shared_head.head.weight", {mc.vocab_size, hidden}, DType::F32,
                shared(has_head ? "lm_head.weight" : "model.embed_tokens.weight"));
        }
    }

    // config.json as the base (or scratch) wrote it, with the quantisation block matching the output.
    Json config = load_strict_json_file(scratch ? rc.scratch_config : rc.model + "/config.json", "export");
    config.erase("quantization_config");
    if (o.dtype == "fp8")
        config["quantization_config"] = {{"quant_method", "fp8"},
                                         {"fmt", "e4m3"},
                                         {"activation_scheme", "dynamic"},
                                         {"weight_block_size", {128, 128}}};
    if (mtp_layers > config.value("num_nextn_predict_layers", int64_t(0))) config["num_nextn_predict_layers"] = mtp_layers;
    config["torch_dtype"] = o.dtype == "f32" || (o.dtype == "auto" && scratch) ? "float32" : "bfloat16";

    StagingDir dir(o.out);
    write_safetensors(dir.file("model.safetensors"), out);
    write_file_atomic(dir.file("config.json"), config.dump(2) + "\n");
    copy_tokenizer_files(rc.tokenizer.empty() ? (scratch ? fs::path(rc.scratch_config).parent_path().string() : rc.model)
                                              : rc.tokenizer,
                         dir.path());
    int64_t bytes = 0;
    for (const auto& [name, t] : out) bytes += t.bytes();
    dir.commit();
    return Json{{"out", o.out},
                {"checkpoint", ckpt_dir},
                {"step", state["step"]},
                {"tensors", out.size()},
                {"bytes", bytes},
                {"dtype", o.dtype},
                {"method", method_name(rc.method)}};
}

}  // namespace moe::train
