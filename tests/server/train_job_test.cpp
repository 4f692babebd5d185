// Fine-tune runs through `serve` (server/train_jobs.h): start → history → export, pause / resume /
// cancel of a long run, one run at a time, bad descriptions and unknown runs, the run's metrics on
// the telemetry snapshot, and a run that outlives its server and is reattached by the next one.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "api_client.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;

Json run_description(int steps) {
    return Json{{"model", model_dir("deepseek-v3-tiny")},
                {"method", "lora"},
                {"backend", "cpu"},
                {"data", {{"paths", {data_path("train_data/prose")}}, {"seq_len", 32}}},
                {"lora", {{"rank", 4}}},
                {"schedule", {{"steps", steps}, {"lr", 0.01}}},
                {"intervals", {{"eval", 0}, {"checkpoint", 0}}}};
}

// Polls GET /workbench/v1/train/{id} until `done(state)` or the timeout.
Json wait_for(ApiClient& api, const std::string& id, const std::function<bool(const Json&)>& done, int seconds = 120) {
    Json s;
    for (int i = 0; i < seconds * 20; ++i) {
        s = api.get("/workbench/v1/train/" + id).json;
        if (done(s)) return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "timed out; last status " << s.dump();
    return s;
}

int64_t step_of(const Json& s) { return s["last_step"].is_null() ? 0 : s["last_step"]["step"].get<int64_t>(); }

TEST(TrainJob, RunsReportsHistoryAndExports) {
    TempDir runs("moe-runs");
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--runs-dir", runs.path()}});
    ApiClient api(server.port());
    const Reply started = api.post("/workbench/v1/train", run_description(4));
    ASSERT_EQ(started.status, 202) << started.body;
    const std::string id = started.json["id"];
    const Json s = wait_for(api, id, [](const Json& j) { return j["state"] == "done"; });
    EXPECT_EQ(step_of(s), 4);
    EXPECT_FALSE(s["data_report"].is_null());
    EXPECT_EQ(s["checkpoints"].size(), 1u);
    const Reply h = api.get("/workbench/v1/train/" + id + "/history?since=2");
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(h.json["events"].size(), 2u);
    EXPECT_EQ(h.json["events"][0]["step"], 3);
    const Reply list = api.get("/workbench/v1/train");
    ASSERT_EQ(list.json["data"].size(), 1u);
    EXPECT_EQ(list.json["data"][0]["id"], id);
    const Reply snap = api.get("/workbench/v1/telemetry/snapshot");
    EXPECT_EQ(snap.json["training"]["id"], id);
    EXPECT_EQ(snap.json["training"]["last_step"]["step"], 4);
    const Reply ex = api.post("/workbench/v1/train/" + id + "/export", Json{{"dtype", "f32"}});
    ASSERT_EQ(ex.status, 200) << ex.body;
    EXPECT_TRUE(fs::exists(ex.json["out"].get<std::string>() + "/model.safetensors"));
    // and the server loads it for chat
    const Reply load = api.post("/workbench/v1/models/load", Json{{"model", ex.json["out"]}, {"stream", false}});
    EXPECT_EQ(load.status, 200) << load.body;
}

TEST(TrainJob, PauseResumeCancelAndOneRunAtATime) {
    TempDir runs("moe-runs");
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--runs-dir", runs.path()}});
    ApiClient api(server.port());
    const std::string id = api.post("/workbench/v1/train", run_description(100000)).json["id"];
    wait_for(api, id, [](const Json& j) { return step_of(j) >= 2; });
    EXPECT_EQ(api.post("/workbench/v1/train", run_description(3)).status, 409) << "one run at a time";
    ASSERT_EQ(api.post("/workbench/v1/train/" + id + "/pause", Json::object()).status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const int64_t paused_at = step_of(api.get("/workbench/v1/train/" + id).json);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const Json p = api.get("/workbench/v1/train/" + id).json;
    EXPECT_EQ(p["state"], "paused");
    EXPECT_EQ(step_of(p), paused_at) << "a paused run does not step";
    ASSERT_EQ(api.post("/workbench/v1/train/" + id + "/resume", Json::object()).status, 200);
    wait_for(api, id, [&](const Json& j) { return step_of(j) > paused_at + 1; });
    ASSERT_EQ(api.post("/workbench/v1/train/" + id + "/cancel", Json::object()).status, 200);
    const Json c = wait_for(api, id, [](const Json& j) { return j["state"] == "cancelled"; });
    EXPECT_FALSE(c["checkpoints"].empty()) << "cancel saves a checkpoint";
    EXPECT_EQ(api.post("/workbench/v1/train/" + id + "/pause", Json::object()).status, 409);
}

TEST(TrainJob, BadRequestsGetClearErrors) {
    TempDir runs("moe-runs");
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--runs-dir", runs.path()}});
    ApiClient api(server.port());
    Json bad = run_description(3);
    bad["schedule"]["stepz"] = 5;
    const Reply r = api.post("/workbench/v1/train", bad);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("schedule.stepz"), std::string::npos) << r.body;
    EXPECT_EQ(api.get("/workbench/v1/train/no-such-run").status, 404);
    EXPECT_EQ(api.post("/workbench/v1/train/no-such-run/cancel", Json::object()).status, 404);
    // a run whose data cannot be read fails, and says why
    Json missing = run_description(3);
    missing["data"]["paths"] = {"/nonexistent/data.jsonl"};
    const std::string id = api.post("/workbench/v1/train", missing).json["id"];
    const Json s = wait_for(api, id, [](const Json& j) { return j["state"] == "failed"; });
    EXPECT_NE(s["error"].dump().find("nonexistent"), std::string::npos) << s.dump();
}

// The window closes (and the server with it): the run goes on; the next server finds it.
TEST(TrainJob, RunOutlivesItsServerAndIsReattached) {
    TempDir runs("moe-runs");
    std::string id;
    {
        ServerProcess first({model_dir("deepseek-v3-tiny"), "", {"--runs-dir", runs.path()}});
        ApiClient api(first.port());
        id = api.post("/workbench/v1/train", run_description(100000)).json["id"];
        wait_for(api, id, [](const Json& j) { return step_of(j) >= 1; });
        first.kill_hard();
    }
    ServerProcess second({model_dir("deepseek-v3-tiny"), "", {"--runs-dir", runs.path()}});
    ApiClient api(second.port());
    const int64_t before = step_of(api.get("/workbench/v1/train/" + id).json);
    const Json s = wait_for(api, id, [&](const Json& j) { return j["state"] == "running" && step_of(j) > before; });
    EXPECT_FALSE(s["pid"].is_null());
    ASSERT_EQ(api.post("/workbench/v1/train/" + id + "/cancel", Json::object()).status, 200);
    wait_for(api, id, [](const Json& j) { return j["state"] == "cancelled"; });
}

}  // namespace
}  // namespace moe::test
