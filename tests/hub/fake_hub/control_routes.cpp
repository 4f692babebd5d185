// /_control/...: what a test uses to steer the fake hub (faults, request log, reset).
#include "fake_hub/fake_hub.h"

using nlohmann::json;

namespace moe::fakehub {

void add_control_routes(httplib::Server& svr, Hub& hub) {
    svr.Post("/_control/faults", [&hub](const httplib::Request& req, httplib::Response& res) {
        try {
            const json spec = json::parse(req.body);  // a named object: the loop must not iterate a temporary
            for (const auto& f : spec.at("faults")) hub.faults.add(f);
            res.set_content("{\"ok\":true}", "application/json");
        } catch (const std::exception& e) {
            error(res, 400, "", std::string("bad fault spec: ") + e.what());
        }
    });
    // Also as GET: a POST without a body is refused by httplib (411/400).
    svr.Get("/_control/reset", [&hub](const httplib::Request&, httplib::Response& res) {
        hub.faults.clear();
        res.set_content("{\"ok\":true}", "application/json");
    });
    svr.Post("/_control/reset", [&hub](const httplib::Request&, httplib::Response& res) {
        hub.faults.clear();
        res.set_content("{\"ok\":true}", "application/json");
    });
    svr.Get("/_control/log", [&hub](const httplib::Request&, httplib::Response& res) {
        res.set_content(hub.faults.log().dump(), "application/json");
    });
    svr.Get("/_control/hostile", [](const httplib::Request&, httplib::Response& res) {
        json names = json::array();
        for (const auto& n : hostile_names()) names.push_back(n);
        res.set_content(names.dump(), "application/json");
    });
}

}  // namespace moe::fakehub
