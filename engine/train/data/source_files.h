// Expands DataSourceSpecs into the files to read, each with its domain, in a fixed order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "train/data/data_config.h"

namespace moe::train {

struct SourceFile {
    std::string path;
    std::string domain;  // the source's tag, else the folder name / file stem (JSONL lines may override)
    bool jsonl = false;  // ".jsonl": one JSON object per line; anything else is one plain text document
    size_t source = 0;   // index into DataConfig::sources
};

// Folders are walked recursively, files sorted by path, names starting with '.' skipped.
// Throws moe::Error data.missing_source (path does not exist), data.empty_source (a folder
// without files), data.bad_domain (a derived domain name that is not valid: give PATH=domain).
std::vector<SourceFile> list_source_files(const std::vector<DataSourceSpec>& sources);

}  // namespace moe::train
