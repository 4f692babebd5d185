#include "train/data/data_config.h"

#include "core/error.h"

namespace moe::train {

const char* malformed_policy_name(MalformedPolicy p) { return p == MalformedPolicy::Skip ? "skip" : "stop"; }

bool is_valid_domain_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

DataSourceSpec DataSourceSpec::parse(std::string_view spec) {
    const size_t eq = spec.rfind('=');
    if (eq != std::string_view::npos && eq > 0 && is_valid_domain_name(spec.substr(eq + 1)))
        return {std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
    return {std::string(spec), ""};
}

void DataConfig::validate() const {
    auto bad = [](const std::string& what) { throw Error("data.bad_config", "", what); };
    if (sources.empty()) bad("no data sources given");
    for (const DataSourceSpec& s : sources) {
        if (s.path.empty()) bad("a data source has an empty path");
        if (!s.domain.empty() && !is_valid_domain_name(s.domain))
            bad("domain '" + s.domain + "' of " + s.path + " is not a valid name (1-64 of A-Z a-z 0-9 _ . -)");
    }
    if (seq_len < 2) bad("seq_len must be at least 2, got " + std::to_string(seq_len));
    if (seq_len > (int64_t(1) << 30)) bad("seq_len " + std::to_string(seq_len) + " is too large");
    if (batch < 1) bad("batch must be at least 1, got " + std::to_string(batch));
    if (!(holdout_fraction >= 0.0 && holdout_fraction < 1.0))
        bad("holdout_fraction must be in [0, 1), got " + std::to_string(holdout_fraction));
    if (!(fim_rate >= 0.0 && fim_rate <= 1.0)) bad("fim_rate must be in [0, 1], got " + std::to_string(fim_rate));
    for (const std::string& d : fim_domains)
        if (!is_valid_domain_name(d)) bad("fim domain '" + d + "' is not a valid name");
}

}  // namespace moe::train
