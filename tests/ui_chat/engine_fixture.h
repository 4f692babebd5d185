// A real `moe-engine serve --demo` (the embedded untrained demo model, on the CPU) started through
// EngineProcess, and an EngineClient pointed at it. MOE_TEST_ENGINE_MODEL=DIR serves that
// checkpoint instead (for a build whose engine has no --demo yet).
#pragma once

#include <QObject>
#include <QString>

#include "engine_client.h"
#include "engine_process.h"

namespace moe::ui::test {

// The engine process options the chat tests use: the built moe-engine, the demo model, a small
// context, and a per-token delay so a reply lasts long enough to stop or kill mid-way.
EngineProcessOptions engineOptions(int token_delay_ms);

class EngineFixture {
public:
    EngineFixture();
    ~EngineFixture();
    // Starts the engine and waits (event loop) until it is ready and its model is listed.
    bool start(int token_delay_ms, QString* error);

    EngineProcess& process() { return process_; }
    EngineClient& client() { return client_; }
    QJsonObject model() const { return model_; }

private:
    EngineProcess process_;
    EngineClient client_;
    QJsonObject model_;
};

}  // namespace moe::ui::test
