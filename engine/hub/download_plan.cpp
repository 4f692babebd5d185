#include "hub/download_plan.h"

#include <fnmatch.h>

#include "core/error.h"

namespace moe::hub {
namespace {

bool passes_globs(const std::string& path, const FileFilter& f) {
    bool in = f.include.empty();
    for (const auto& p : f.include) in = in || glob_match(p, path);
    for (const auto& p : f.exclude)
        if (glob_match(p, path)) return false;
    return in;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& path) {
    return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

bool is_selected(const RepoFile& file, const FileFilter& filter) {
    return is_downloadable(file.kind) && passes_globs(file.path, filter);
}

std::vector<RepoFile> plan_download(const std::string& repo, const std::vector<RepoFile>& files, const FileFilter& filter) {
    bool has_safetensors = false;
    std::string pickles;
    for (const auto& f : files) {
        if (!passes_globs(f.path, filter)) continue;
        if (f.kind == FileKind::Safetensors) has_safetensors = true;
        if (f.kind == FileKind::Pickle) pickles += (pickles.empty() ? "" : ", ") + f.path;
    }
    if (!has_safetensors && !pickles.empty())
        throw Error("hub.pickle_only", repo,
                    "the weights of this repository exist only as pickle files (" + pickles +
                        "), which can run code when loaded; moe-engine loads safetensors only. Look for a "
                        "safetensors version of the model, or convert it in an isolated environment");
    std::vector<RepoFile> plan;
    for (const auto& f : files)
        if (is_selected(f, filter)) plan.push_back(f);
    if (plan.empty())
        throw Error("hub.not_found", repo, "no safetensors, json or tokenizer file of the repository matches the "
                                           "--include/--exclude patterns");
    return plan;
}

}  // namespace moe::hub
