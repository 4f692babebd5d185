// One real `moe-engine serve --demo` (the embedded untrained DeepSeek-V3-architecture demo model, on
// the CPU) through EngineProcess, and an EngineClient pointed at it. MOE_TEST_ENGINE_MODEL=DIR
// serves that checkpoint instead (e.g. tests/data/models/deepseek-v3-tiny).
#pragma once

#include <QJsonObject>
#include <QString>

#include "engine_client.h"
#include "engine_process.h"

namespace moe::ui::test {

class RoutingEngineFixture {
public:
    // Starts the engine and waits (event loop) until it is ready and lists its model.
    bool start(int token_delay_ms, QString* error);

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
