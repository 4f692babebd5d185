// The bytes of engine/demo/embedded_files.h, put into .rodata by the assembler's .incbin:
// MOE_RESOURCES_DIR (engine/CMakeLists.txt) is the absolute path of resources/. A 14 MB checkpoint
// as a C++ array literal would take the compiler minutes and gigabytes; .incbin takes nothing.
// MOE_EMBEDDED_SHA256 (also from CMake) changes with any embedded file, so a compiler cache that
// only hashes this source and its flags never hands back an object with stale bytes.
#include "demo/embedded_files.h"

#include <array>

#ifndef MOE_RESOURCES_DIR
#error "MOE_RESOURCES_DIR must name the resources/ folder (engine/CMakeLists.txt sets it)"
#endif
#ifndef MOE_EMBEDDED_SHA256
#error "MOE_EMBEDDED_SHA256 must be set (engine/CMakeLists.txt)"
#endif

// One symbol pair per file: moe_embed_<id>_begin / _end, hidden so that position-independent code
// reaches them without a GOT entry.
#define MOE_EMBED(id, path)                                                   \
    asm(".section .rodata.moe_embed_" #id ",\"a\",@progbits\n"                \
        ".balign 64\n"                                                        \
        ".globl moe_embed_" #id "_begin\n"                                    \
        ".hidden moe_embed_" #id "_begin\n"                                   \
        "moe_embed_" #id "_begin:\n"                                          \
        ".incbin \"" MOE_RESOURCES_DIR "/" path "\"\n"                        \
        ".globl moe_embed_" #id "_end\n"                                      \
        ".hidden moe_embed_" #id "_end\n"                                     \
        "moe_embed_" #id "_end:\n"                                            \
        ".byte 0\n"                                                           \
        ".previous\n");                                                       \
    extern "C" const char moe_embed_##id##_begin[];                           \
    extern "C" const char moe_embed_##id##_end[];                             \
    static std::string_view embedded_##id() {                                 \
        return {moe_embed_##id##_begin, size_t(moe_embed_##id##_end - moe_embed_##id##_begin)}; \
    }

MOE_EMBED(trained_config, "demo-model/config.json")
MOE_EMBED(trained_weights, "demo-model/model.safetensors")
MOE_EMBED(trained_tokenizer, "demo-trained/tokenizer.json")
MOE_EMBED(trained_tokenizer_config, "demo-trained/tokenizer_config.json")
MOE_EMBED(run_request, "demo-model/training/run.json")
MOE_EMBED(run_history, "demo-model/training/history.jsonl")
MOE_EMBED(run_events, "demo-model/training/events.jsonl")
MOE_EMBED(untrained_tokenizer, "demo/tokenizer.json")
MOE_EMBED(untrained_tokenizer_config, "demo/tokenizer_config.json")

namespace moe::demo {

[[maybe_unused]] static constexpr const char* kEmbeddedSha256 = MOE_EMBEDDED_SHA256;

std::span<const EmbeddedFile> trained_model_files() {
    static const std::array<EmbeddedFile, 4> files = {{{"model.safetensors", embedded_trained_weights()},
                                                       {"tokenizer.json", embedded_trained_tokenizer()},
                                                       {"tokenizer_config.json", embedded_trained_tokenizer_config()},
                                                       {"config.json", embedded_trained_config()}}};
    return files;
}

std::span<const EmbeddedFile> trained_run_files() {
    static const std::array<EmbeddedFile, 3> files = {{{"history.jsonl", embedded_run_history()},
                                                       {"events.jsonl", embedded_run_events()},
                                                       {"request.json", embedded_run_request()}}};
    return files;
}

const std::string_view k_tokenizer_json = embedded_untrained_tokenizer();
const std::string_view k_tokenizer_config_json = embedded_untrained_tokenizer_config();

}  // namespace moe::demo
