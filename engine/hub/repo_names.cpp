#include "hub/repo_names.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

#include "core/error.h"

namespace moe::hub {
namespace {

constexpr size_t kMaxSegment = 255;
constexpr size_t kMaxPath = 1024;

bool valid_utf8(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        if (n == 2 && c < 0xc2) return false;  // overlong
        i += n;
    }
    return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        const size_t pos = s.find(sep, start);
        parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
        if (pos == std::string::npos) return parts;
        start = pos + 1;
    }
}

// Windows device names are files nowhere and everything everywhere ("CON", "nul.txt", "COM1.json").
bool windows_reserved(const std::string& segment) {
    std::string stem = segment.substr(0, segment.find('.'));
    std::transform(stem.begin(), stem.end(), stem.begin(), [](unsigned char c) { return std::tolower(c); });
    static const std::array<const char*, 4> plain = {"con", "prn", "aux", "nul"};
    for (const char* r : plain)
        if (stem == r) return true;
    return stem.size() == 4 && (stem.rfind("com", 0) == 0 || stem.rfind("lpt", 0) == 0) && std::isdigit((unsigned char)stem[3]);
}

std::string segment_problem(const std::string& seg) {
    if (seg.empty()) return "empty path segment";
    if (seg == "." || seg == "..") return "'.' or '..' segment";
    if (seg.size() > kMaxSegment) return "path segment longer than 255 bytes";
    if (seg.back() == '.' || seg.back() == ' ') return "segment ends with '.' or space (Windows would rename it)";
    if (windows_reserved(seg)) return "Windows reserved device name";
    return "";
}

bool name_char_ok(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

}  // namespace

std::string escape_for_message(const std::string& s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    if (s.size() > 200) out += "...";
    return out;
}

void validate_repo_id(const std::string& repo) {
    const auto parts = split(repo, '/');
    auto bad = [&](const std::string& why) {
        throw Error("hub.bad_repo_id", "", "repository id '" + escape_for_message(repo) + "' is not valid: " + why +
                                               " (expected 'org/name')");
    };
    if (parts.size() > 2) bad("it can have at most one '/'");  // "name" alone: the hub's legacy root models
    for (const auto& p : parts) {
        if (p.empty() || p.size() > 96) bad("each part must be 1..96 characters");
        if (!std::all_of(p.begin(), p.end(), name_char_ok)) bad("only letters, digits, '-', '_' and '.' are allowed");
        if (p.find("--") != std::string::npos || p.find("..") != std::string::npos) bad("'--' and '..' are not allowed");
        if (p.front() == '-' || p.front() == '.' || p.back() == '-' || p.back() == '.')
            bad("a part cannot start or end with '-' or '.'");
    }
}

std::string filename_problem(const std::string& path) {
    if (path.empty()) return "empty file name";
    if (path.size() > kMaxPath) return "path longer than 1024 bytes";
    for (unsigned char c : path) {
        if (c == 0) return "NUL byte in name";
        if (c < 0x20 || c == 0x7f) return "control character in name";
        if (c == '\\') return "backslash in name (a Windows path separator)";
        if (c == ':') return "':' in name (Windows drive or stream)";
    }
    if (!valid_utf8(path)) return "name is not valid UTF-8";
    if (path.front() == '/') return "absolute path";
    for (const auto& seg : split(path, '/')) {
        if (auto why = segment_problem(seg); !why.empty()) return why;
    }
    return "";
}

void validate_repo_filename(const std::string& repo, const std::string& path) {
    if (auto why = filename_problem(path); !why.empty())
        throw Error("hub.bad_filename", repo, "refusing file name '" + escape_for_message(path) + "' from the listing: " + why);
}

bool is_commit_sha(const std::string& s) {
    return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void validate_revision(const std::string& revision) {
    std::string why = filename_problem(revision);
    if (why.empty() && revision.find(' ') != std::string::npos) why = "space in revision";
    if (!why.empty())
        throw Error("hub.bad_revision", "", "revision '" + escape_for_message(revision) + "' is not valid: " + why);
}

FileKind classify_file(const std::string& path) {
    const std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    auto ends_with = [&](const char* suffix) {
        const std::string s = suffix;
        return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".safetensors")) return FileKind::Safetensors;
    if (name == "tokenizer.model" || name == "vocab.txt" || name == "merges.txt" || ends_with(".tiktoken") ||
        (name.rfind("tokenizer", 0) == 0 && (ends_with(".json") || ends_with(".model"))))
        return FileKind::Tokenizer;
    if (ends_with(".json") || ends_with(".jinja")) return FileKind::Json;
    if (ends_with(".bin") || ends_with(".pt") || ends_with(".pth") || ends_with(".ckpt") || ends_with(".pkl") ||
        ends_with(".pickle"))
        return FileKind::Pickle;
    return FileKind::Other;
}

const char* file_kind_name(FileKind k) {
    switch (k) {
        case FileKind::Safetensors: return "safetensors";
        case FileKind::Json: return "json";
        case FileKind::Tokenizer: return "tokenizer";
        case FileKind::Pickle: return "pickle";
        case FileKind::Other: return "other";
    }
    return "other";
}

bool is_downloadable(FileKind k) {
    return k == FileKind::Safetensors || k == FileKind::Json || k == FileKind::Tokenizer;
}

std::string repo_folder_name(const std::string& repo) {
    std::string out = "models--";
    for (char c : repo) {
        if (c == '/') out += "--"; else out += c;
    }
    return out;
}

}  // namespace moe::hub
