#include "server/route_table.h"

#include <algorithm>

namespace moe::server {

void RouteTable::add(const std::string& method, const std::string& pattern) {
    routes_.push_back({method, std::regex(pattern)});
}

std::string RouteTable::allowed_methods(const std::string& path) const {
    std::vector<std::string> methods;
    for (const Route& r : routes_) {
        if (!std::regex_match(path, r.pattern)) continue;
        methods.push_back(r.method);
        if (r.method == "GET") methods.push_back("HEAD");
    }
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    std::string allow;
    for (const std::string& m : methods) allow += (allow.empty() ? "" : ", ") + m;
    return allow;
}

}  // namespace moe::server
