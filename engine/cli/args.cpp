#include "cli/args.h"

#include <charconv>
#include <cstdint>

#include "core/error.h"

namespace moe::cli {
namespace {
[[noreturn]] void bad(const std::string& why) { throw Error("cli.bad_argument", "", why); }

const OptionSpec* find_spec(const std::vector<OptionSpec>& specs, const std::string& name) {
    for (const auto& s : specs)
        if (s.name == name) return &s;
    return nullptr;
}
}  // namespace

Args::Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const OptionSpec* spec = find_spec(specs, name);
        if (!spec) bad("unknown option --" + name);
        if (!spec->takes_value) {
            if (inline_value) bad("option --" + name + " takes no value");
            flags_.insert(name);
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= argv.size()) bad("option --" + name + " needs a value");
            inline_value = argv[++i];
        }
        values_[name] = *inline_value;  // the last one wins for single-valued options
        all_values_[name].push_back(*inline_value);
    }
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    auto it = all_values_.find(name);
    return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

bool Args::has(const std::string& name) const { return flags_.count(name) || values_.count(name); }

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Args::require(const std::string& name) const {
    auto v = get(name);
    if (!v) bad("missing required option --" + name);
    return *v;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    int64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size()) bad("--" + name + " expects an integer, got '" + *v + "'");
    return out;
}

double Args::get_double(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        double d = std::stod(*v, &used);
        if (used != v->size()) throw std::invalid_argument("trailing");
        return d;
    } catch (const std::exception&) {
        bad("--" + name + " expects a number, got '" + *v + "'");
    }
}

std::vector<int32_t> parse_token_list(const std::string& text) {
    std::vector<int32_t> ids;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find(',', pos);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(pos, end - pos);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        int32_t v = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0)
            bad("--tokens expects comma-separated non-negative integers, got '" + item + "'");
        ids.push_back(v);
        pos = end + 1;
    }
    if (ids.empty()) bad("--tokens is empty");
    return ids;
}

std::string usage_for(const std::string& command, const std::string& synopsis, const std::vector<OptionSpec>& specs) {
    std::string s = "usage: moe-engine " + command + " " + synopsis + "\n";
    for (const auto& o : specs) {
        std::string left = "  --" + o.name + (o.takes_value ? " V" : "");
        if (left.size() < 24) left.resize(24, ' ');
        s += left + " " + o.help + "\n";
    }
    return s;
}

}  // namespace moe::cli
