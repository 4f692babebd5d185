#include "train/data/malformed.h"

#include "core/error.h"

namespace moe::train {

std::string MalformedLine::text() const {
    return file + ":" + std::to_string(line) + ": " + reason + " [" + code + "]";
}

void MalformedLog::add(MalformedLine line) {
    if (policy_ == MalformedPolicy::Stop)
        throw Error(line.code, line.file, "line " + std::to_string(line.line) + ": " + line.reason);
    lines_.push_back(std::move(line));
}

}  // namespace moe::train
