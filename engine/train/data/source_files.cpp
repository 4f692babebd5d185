#include "train/data/source_files.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace moe::train {
namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

// "data/code/" and "data/code" both name the folder "code".
std::string folder_name(const fs::path& dir) {
    fs::path p = fs::absolute(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

bool has_jsonl_extension(const fs::path& p) { return p.extension() == ".jsonl"; }

std::string checked_domain(const DataSourceSpec& spec, const std::string& derived) {
    const std::string domain = spec.domain.empty() ? derived : spec.domain;
    if (!is_valid_domain_name(domain))
        throw Error("data.bad_domain", spec.path,
                    "the domain '" + domain + "' taken from the path is not a valid name (1-64 of A-Z a-z 0-9 _ . -); "
                    "give one explicitly as PATH=domain");
    return domain;
}

std::vector<fs::path> files_under(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
    if (ec) throw Error("data.unreadable", dir.string(), "cannot list the folder: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error("data.unreadable", dir.string(), "cannot list the folder: " + ec.message());
        if (is_hidden(it->path())) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

std::vector<SourceFile> list_source_files(const std::vector<DataSourceSpec>& sources) {
    std::vector<SourceFile> out;
    for (size_t i = 0; i < sources.size(); ++i) {
        const DataSourceSpec& spec = sources[i];
        const fs::path path(spec.path);
        std::error_code ec;
        const fs::file_status st = fs::status(path, ec);
        if (ec || !fs::exists(st)) throw Error("data.missing_source", spec.path, "no such file or folder");
        if (fs::is_directory(st)) {
            const std::string domain = checked_domain(spec, folder_name(path));
            const std::vector<fs::path> files = files_under(path);
            if (files.empty()) throw Error("data.empty_source", spec.path, "the folder holds no (non-hidden) files");
            for (const fs::path& f : files) out.push_back({f.string(), domain, has_jsonl_extension(f), i});
        } else if (fs::is_regular_file(st)) {
            out.push_back({spec.path, checked_domain(spec, path.stem().string()), has_jsonl_extension(path), i});
        } else {
            throw Error("data.missing_source", spec.path, "neither a regular file nor a folder");
        }
    }
    return out;
}

}  // namespace moe::train
