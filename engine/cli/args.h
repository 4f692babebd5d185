// A small, strict command-line parser for moe-engine subcommands: `--name value`, `--flag`,
// and positional arguments. Unknown options are errors (a typo must not be silently ignored).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace moe::cli {

struct OptionSpec {
    std::string name;      // without the leading "--"
    bool takes_value = true;
    std::string help;
};

class Args {
public:
    // Throws moe::Error("cli.bad_argument") for unknown options or missing values.
    Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);

    bool has(const std::string& name) const;
    std::optional<std::string> get(const std::string& name) const;
    // Every value of a repeatable option, in command-line order.
    std::vector<std::string> get_all(const std::string& name) const;
    std::string require(const std::string& name) const;
    std::string get_or(const std::string& name, const std::string& fallback) const;
    int64_t get_int(const std::string& name, int64_t fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> all_values_;
    std::set<std::string> flags_;
    std::vector<std::string> positional_;
};

// "1,2,3" -> {1, 2, 3}; throws cli.bad_argument on anything else.
std::vector<int32_t> parse_token_list(const std::string& text);

std::string usage_for(const std::string& command, const std::string& synopsis, const std::vector<OptionSpec>& specs);

}  // namespace moe::cli
