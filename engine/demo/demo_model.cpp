#include "demo/demo_model.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/staging_dir.h"
#include "core/strict_json.h"
#include "demo/demo_spec.h"
#include "demo/demo_weights.h"
#include "demo/embedded_files.h"
#include "io/tensor_file_writer.h"

namespace moe::demo {
namespace {

namespace fs = std::filesystem;

std::string untrained_config_text() { return demo_config().dump(2) + "\n"; }

void write_file(const fs::path& path, std::string_view bytes) {
    try {
        write_file_atomic(path.string(), std::string(bytes));
    } catch (const Error& e) {
        throw Error("demo.write_failed", path.string(), e.what());
    }
}

bool file_equals(const fs::path& path, std::string_view expected) {
    std::error_code ec;
    if (fs::file_size(path, ec) != expected.size() || ec) return false;
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buffer(1 << 20);
    size_t at = 0;
    while (in && at < expected.size()) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const size_t got = size_t(in.gcount());
        if (expected.substr(at, got) != std::string_view(buffer.data(), got)) return false;
        at += got;
    }
    return at == expected.size();
}

void make_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("demo.write_failed", dir, "cannot create the directory: " + ec.message());
}

}  // namespace

const char* model_id(DemoKind kind) { return kind == DemoKind::Trained ? kTrainedModelId : kUntrainedModelId; }

void write_demo_model(const std::string& dir, DemoKind kind) {
    make_dir(dir);
    const fs::path d(dir);
    if (kind == DemoKind::Trained) {
        for (const EmbeddedFile& f : trained_model_files()) write_file(d / f.name, f.bytes);  // config.json last
        return;
    }
    write_safetensors((d / "model.safetensors").string(), demo_tensors());
    write_file(d / "tokenizer.json", k_tokenizer_json);
    write_file(d / "tokenizer_config.json", k_tokenizer_config_json);
    write_file(d / "config.json", untrained_config_text());  // last: a folder with config.json is complete
}

bool demo_model_is_current(const std::string& dir, DemoKind kind) {
    const fs::path d(dir);
    if (kind == DemoKind::Trained) {
        for (const EmbeddedFile& f : trained_model_files())
            if (!file_equals(d / f.name, f.bytes)) return false;
        return true;
    }
    std::error_code ec;
    const auto weights_size = fs::file_size(d / "model.safetensors", ec);
    return !ec && int64_t(weights_size) == safetensors_file_size(demo_tensors()) &&
           file_equals(d / "config.json", untrained_config_text()) && file_equals(d / "tokenizer.json", k_tokenizer_json) &&
           file_equals(d / "tokenizer_config.json", k_tokenizer_config_json);
}

std::string default_demo_dir(DemoKind kind) {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    fs::path cache;
    if (xdg && *xdg) cache = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home) cache = fs::path(home) / ".cache";
    else throw Error("demo.no_cache_dir", "", "neither XDG_CACHE_HOME nor HOME is set; pass --model DIR instead");
    return (cache / "moe-workbench" / (kind == DemoKind::Trained ? "demo-model" : "demo-model-untrained")).string();
}

std::string ensure_demo_model(const std::string& dir, DemoKind kind) {
    if (!demo_model_is_current(dir, kind)) {
        std::fprintf(stderr, "demo: writing the %s demo model to %s\n",
                     kind == DemoKind::Trained ? "trained" : "untrained", dir.c_str());
        write_demo_model(dir, kind);
    }
    return dir;
}

std::string ensure_demo_run(const std::string& runs_root, const std::string& model_dir) {
    const fs::path final_dir = fs::path(runs_root) / kTrainingRunId;
    if (fs::exists(final_dir)) return final_dir.string();  // there already (perhaps renamed or annotated by the user)
    make_dir(runs_root);
    StagingDir staging(final_dir.string());
    for (const EmbeddedFile& f : trained_run_files()) {
        if (f.name != "request.json") {
            write_file(staging.file(std::string(f.name)), f.bytes);
            continue;
        }
        // The run as it was described on the GPU machine (from scratch: no `model`), with `out` here
        // and `result` naming this machine's copy of the model it produced.
        Json request = Json::parse(f.bytes);
        request["out"] = final_dir.string();
        request["result"] = model_dir;
        write_file(staging.file("request.json"), request.dump(1) + "\n");
    }
    staging.commit();
    return final_dir.string();
}

}  // namespace moe::demo
