// A real `moe-engine serve --demo` (the embedded demo model, a tiny DeepSeek-V3 trained by this engine, on
// the CPU) started through EngineProcess the way the workbench starts it, and an EngineClient
// pointed at it. MOE_TEST_ENGINE_MODEL=DIR serves that checkpoint instead (e.g.
// tests/data/models/deepseek-v3-tiny, or for a build whose engine has no --demo).
#pragma once

#include <QJsonObject>
#include <QString>

#include "engine_client.h"
#include "engine_process.h"

namespace moe::ui::test {

// The options the engine tests use: the freshly built moe-engine, the demo model (or
// MOE_TEST_ENGINE_MODEL), the CPU, a small context, and a per-token delay (0 = none) so a reply
// lasts long enough to stop or kill mid-way.
EngineProcessOptions demo_engine_options(int token_delay_ms);

// Starts `engine` and waits (event loop) until it is ready, it gives up, or timeout_ms pass;
// false with the reason (and the engine's last log lines) in *error otherwise.
bool start_and_wait_until_ready(EngineProcess& engine, int timeout_ms, QString* error);

class DemoEngineFixture {
public:
    // Starts the engine and waits (event loop) until it is ready and lists its model.
    bool start(int token_delay_ms, QString* error);
    // The same with other options (another model, more serve flags such as --runs-dir).
    bool start(const EngineProcessOptions& options, QString* error);

    EngineProcess& process() { return process_; }
    EngineClient& client() { return client_; }
    QJsonObject model() const { return model_; }  // the /v1/models entry
    int topK() const { return model_.value(QStringLiteral("num_experts_per_tok")).toInt(); }
    int experts() const { return model_.value(QStringLiteral("n_routed_experts")).toInt(); }

private:
    EngineProcess process_;
    EngineClient client_;
    QJsonObject model_;
};

}  // namespace moe::ui::test
