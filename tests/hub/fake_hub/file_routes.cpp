// File downloads: /{repo}/resolve/{rev}/{path} (small files directly, LFS files by a 302 to the "CDN"
// host) and /cdn/{sha256}/{name}, with Range and the injected body faults.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "fake_hub/fake_hub.h"

using nlohmann::json;

namespace moe::fakehub {
namespace {

// own Range handling stays out of the way (a provider without length is never sliced by httplib).
void send_body(const std::string& content, const httplib::Request& req, httplib::Response& res, BodyFaults f) {
    uint64_t start = 0;
    const uint64_t size = content.size();
    const std::string range = req.get_header_value("Range");
    unsigned long long a = 0;
    if (!range.empty() && !f.ignore_range && std::sscanf(range.c_str(), "bytes=%llu-", &a) == 1) {
        if (a >= size) {
            res.status = 416;
            res.set_header("Content-Range", "bytes */" + std::to_string(size));
            return;
        }
        start = a;
        res.status = 206;
        res.set_header("Content-Range", "bytes " + std::to_string(start) + "-" + std::to_string(size - 1) + "/" + std::to_string(size));
    } else {
        res.status = 200;
    }
    if (f.wrong_range && !range.empty()) {  // a broken proxy: "206" but the body starts at byte 0
        start = 0;
        res.status = 206;
        res.set_header("Content-Range", "bytes 0-" + std::to_string(size - 1) + "/" + std::to_string(size));
    }
    uint64_t end = size;
    if (f.truncate_at >= 0 && uint64_t(f.truncate_at) > start && uint64_t(f.truncate_at) < end) end = uint64_t(f.truncate_at);
    auto data = std::make_shared<std::string>(content.substr(start, end - start));
    if (f.corrupt)  // same size, different bytes: flip one byte in every 4 KiB
        for (size_t i = 0; i < data->size(); i += 4096) (*data)[i] = char((*data)[i] ^ 0x5a);
    res.set_header("Content-Length", std::to_string(data->size()));
    res.set_header("Accept-Ranges", "bytes");
    res.set_content_provider("application/octet-stream", [data, start, f](size_t offset, httplib::DataSink& sink) {
        bool stalled = false;
        while (offset < data->size()) {
            const uint64_t absolute = start + offset;
            if (f.reset_at >= 0 && absolute >= uint64_t(f.reset_at)) return false;  // drop the connection
            if (!stalled && f.stall_at >= 0 && absolute >= uint64_t(f.stall_at)) {
                stalled = true;
                std::this_thread::sleep_for(std::chrono::duration<double>(f.stall_seconds));
                if (!sink.is_writable()) return false;
            }
            size_t chunk = 16384;
            if (f.bps > 0) chunk = std::max<size_t>(1024, std::min<size_t>(chunk, size_t(f.bps / 20)));
            if (f.reset_at >= 0 && uint64_t(f.reset_at) > absolute) chunk = std::min<size_t>(chunk, size_t(uint64_t(f.reset_at) - absolute));
            if (f.stall_at >= 0 && !stalled && uint64_t(f.stall_at) > absolute) chunk = std::min<size_t>(chunk, size_t(uint64_t(f.stall_at) - absolute));
            chunk = std::min(chunk, data->size() - offset);
            if (!sink.write(data->data() + offset, chunk)) return false;
            offset += chunk;
            if (f.bps > 0) std::this_thread::sleep_for(std::chrono::duration<double>(double(chunk) / f.bps));
        }
        sink.done();
        return true;
    });
}

void resolve(Hub& hub, const httplib::Request& req, httplib::Response& res) {
    const FakeRepo* r = find_repo(hub, req, res, true);
    if (!r) return;
    const std::string commit = commit_of(*r, req.matches[3].str(), res);
    if (commit.empty()) return;
    const FakeFile* f = r->file(req.matches[4].str());
    if (!f) return error(res, 404, "EntryNotFound", "Entry not found: " + req.matches[4].str());
    res.set_header("X-Repo-Commit", commit);
    res.set_header("ETag", "\"" + (f->lfs ? f->sha256 : f->git_sha1) + "\"");
    if (f->lfs) {
        res.status = 302;
        res.set_header("X-Linked-Etag", "\"" + f->sha256 + "\"");
        res.set_header("X-Linked-Size", std::to_string(f->content.size()));
        const std::string base = f->path.substr(f->path.rfind('/') == std::string::npos ? 0 : f->path.rfind('/') + 1);
        res.set_header("Location", "http://" + hub.cdn_host + ":" + std::to_string(hub.port) + "/cdn/" + f->sha256 + "/" + base);
        return;
    }
    send_body(f->content, req, res, hub.faults.take_body(req.path, req.has_header("Range")));
}

void cdn(Hub& hub, const httplib::Request& req, httplib::Response& res) {
    for (const auto& r : hub.repos)
        if (const FakeFile* f = r.file_by_sha256(req.matches[1].str()))
            return send_body(f->content, req, res, hub.faults.take_body(req.path, req.has_header("Range")));
    error(res, 404, "", "no such blob");
}


}  // namespace

void add_file_routes(httplib::Server& svr, Hub& hub) {
    svr.Get(R"(/cdn/([0-9a-f]{64})/.*)", logged(hub, cdn));
    svr.Get(R"(/([^/_][^/]*)/([^/]+)/resolve/([^/]+)/(.+))", logged(hub, resolve));
}

}  // namespace moe::fakehub
