#include "demo/demo_model.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "demo/demo_spec.h"
#include "demo/demo_weights.h"
#include "demo/embedded_tokenizer.h"
#include "io/tensor_file_writer.h"

namespace moe::demo {
namespace {

namespace fs = std::filesystem;

std::string config_text() { return demo_config().dump(2) + "\n"; }

void write_text_file(const fs::path& path, std::string_view text) {
    const fs::path tmp = unique_partial_name(path.string());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("demo.write_failed", tmp.string(), std::string("cannot create the file: ") + std::strerror(errno));
        out.write(text.data(), std::streamsize(text.size()));
        if (!out.flush()) throw Error("demo.write_failed", tmp.string(), "cannot write the file");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error("demo.write_failed", path.string(), "cannot rename " + tmp.string() + " to it: " + ec.message());
}

bool file_equals(const fs::path& path, std::string_view expected) {
    std::error_code ec;
    if (fs::file_size(path, ec) != expected.size() || ec) return false;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str() == expected;
}

}  // namespace

void write_demo_model(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("demo.write_failed", dir, "cannot create the directory: " + ec.message());
    const fs::path d(dir);
    write_safetensors((d / "model.safetensors").string(), demo_tensors());
    write_text_file(d / "tokenizer.json", k_tokenizer_json);
    write_text_file(d / "tokenizer_config.json", k_tokenizer_config_json);
    // The config last: a directory with a current config.json is complete.
    write_text_file(d / "config.json", config_text());
}

bool demo_model_is_current(const std::string& dir) {
    const fs::path d(dir);
    std::error_code ec;
    const auto weights_size = fs::file_size(d / "model.safetensors", ec);
    return !ec && int64_t(weights_size) == safetensors_file_size(demo_tensors()) &&
           file_equals(d / "config.json", config_text()) && file_equals(d / "tokenizer.json", k_tokenizer_json) &&
           file_equals(d / "tokenizer_config.json", k_tokenizer_config_json);
}

std::string default_demo_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    fs::path cache;
    if (xdg && *xdg) cache = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home) cache = fs::path(home) / ".cache";
    else throw Error("demo.no_cache_dir", "", "neither XDG_CACHE_HOME nor HOME is set; pass --model DIR instead");
    return (cache / "moe-workbench" / "demo-model").string();
}

std::string ensure_demo_model(const std::string& dir) {
    if (!demo_model_is_current(dir)) {
        std::fprintf(stderr, "demo: writing the untrained demo model to %s\n", dir.c_str());
        write_demo_model(dir);
    }
    return dir;
}

}  // namespace moe::demo
