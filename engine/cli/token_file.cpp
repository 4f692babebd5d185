#include "cli/token_file.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

#include "core/error.h"
#include "core/strict_json.h"

namespace moe::cli {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) { throw Error("cli.bad_tokens", path, what); }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) bad(path, "cannot open the token file");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// numpy format 1.0/2.0: magic, version, header length, a Python-dict header, C-order data.
std::vector<std::vector<int32_t>> read_npy(const std::string& path, const std::string& bytes) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) bad(path, "not a .npy file (bad magic)");
    const int major = uint8_t(bytes[6]);
    size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
        offset = 10;
    } else {
        if (bytes.size() < 12) bad(path, "truncated .npy header");
        for (int i = 0; i < 4; ++i) header_len |= size_t(uint8_t(bytes[8 + size_t(i)])) << (8 * i);
        offset = 12;
    }
    if (offset + header_len > bytes.size()) bad(path, "truncated .npy header");
    const std::string header = bytes.substr(offset, header_len);
    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([iu])([48])'")))
        bad(path, "the array must hold int32 or int64 token ids (header: " + header + ")");
    const size_t width = m[3] == "4" ? 4 : 8;
    if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) bad(path, "Fortran-order arrays are not supported");
    if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) bad(path, "no shape in the .npy header");
    std::vector<int64_t> shape;
    const std::string dims = m[1];
    const std::regex number("\\d+");
    for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
        shape.push_back(std::stoll(it->str()));
    if (shape.size() == 1) shape.insert(shape.begin(), 1);
    if (shape.size() != 2) bad(path, "token arrays are [B, T] or [T]");
    const size_t n = size_t(shape[0] * shape[1]), data = offset + header_len;
    if (bytes.size() - data < n * width) bad(path, "the file is shorter than its shape says");
    std::vector<std::vector<int32_t>> batch(static_cast<size_t>(shape[0]));
    for (size_t i = 0; i < n; ++i) {
        int64_t v = 0;
        if (width == 4) {
            int32_t x;
            std::memcpy(&x, bytes.data() + data + i * 4, 4);
            v = x;
        } else {
            std::memcpy(&v, bytes.data() + data + i * 8, 8);
        }
        if (v < 0 || v > INT32_MAX) bad(path, "token id " + std::to_string(v) + " is negative or too large");
        batch[i / size_t(shape[1])].push_back(int32_t(v));
    }
    return batch;
}

std::vector<std::vector<int32_t>> read_json(const std::string& path, const std::string& text) {
    const Json j = parse_strict_json(text, path, "tokens");
    if (!j.is_array()) bad(path, "expected a JSON list of token lists");
    std::vector<std::vector<int32_t>> batch;
    for (const Json& row : j) {
        if (!row.is_array()) bad(path, "expected a JSON list of token lists");
        std::vector<int32_t> ids;
        for (const Json& v : row) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
                bad(path, "token ids must be non-negative integers (got " + v.dump() + ")");
            ids.push_back(int32_t(v.get<int64_t>()));
        }
        batch.push_back(std::move(ids));
    }
    return batch;
}

}  // namespace

std::vector<std::vector<int32_t>> read_token_file(const std::string& path) {
    const std::string bytes = slurp(path);
    std::vector<std::vector<int32_t>> batch =
        bytes.compare(0, 6, "\x93NUMPY") == 0 ? read_npy(path, bytes) : read_json(path, bytes);
    if (batch.empty() || batch[0].empty()) bad(path, "the batch is empty");
    for (size_t s = 0; s < batch.size(); ++s)
        if (batch[s].size() != batch[0].size())
            bad(path, "ragged batch: sequence " + std::to_string(s) + " has " + std::to_string(batch[s].size()) +
                          " tokens, sequence 0 has " + std::to_string(batch[0].size()));
    return batch;
}

void check_token_batch(const std::vector<std::vector<int32_t>>& batch, int64_t vocab, int64_t max_len,
                       const std::string& path) {
    for (size_t s = 0; s < batch.size(); ++s) {
        if (int64_t(batch[s].size()) > max_len)
            bad(path, "sequence " + std::to_string(s) + " has " + std::to_string(batch[s].size()) +
                          " tokens, more than the model's context of " + std::to_string(max_len));
        if (batch[s].size() < 2) bad(path, "sequences need at least 2 tokens (one prediction)");
        for (size_t i = 0; i < batch[s].size(); ++i)
            if (batch[s][i] >= vocab)
                bad(path, "token id " + std::to_string(batch[s][i]) + " (sequence " + std::to_string(s) + ", position " +
                              std::to_string(i) + ") is not below the vocabulary size " + std::to_string(vocab));
    }
}

}  // namespace moe::cli
