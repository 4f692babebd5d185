// The method and path pattern of every route the server registers, so that a known path asked with
// another method is answered 405 with an `Allow` header (httplib by itself answers 404).
// Filled while the server is built, read-only once it serves (no locking needed).
#pragma once

#include <regex>
#include <string>
#include <vector>

namespace moe::server {

class RouteTable {
public:
    // pattern: the path as given to httplib (a regular expression matched against the whole path).
    void add(const std::string& method, const std::string& pattern);
    // The methods some route serves `path` with, for an Allow header ("GET, HEAD" or "POST");
    // "" when no route matches the path. GET routes answer HEAD too (httplib serves HEAD from GET).
    std::string allowed_methods(const std::string& path) const;

private:
    struct Route {
        std::string method;
        std::regex pattern;
    };
    std::vector<Route> routes_;
};

}  // namespace moe::server
