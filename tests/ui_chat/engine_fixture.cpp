#include "engine_fixture.h"

#include <QJsonArray>
#include <QSignalSpy>

namespace moe::ui::test {

namespace {
constexpr int kStartTimeoutMs = 60'000;  // the demo model is written to the cache on first use
}

EngineProcessOptions engineOptions(int token_delay_ms) {
    EngineProcessOptions o;
    o.program = QStringLiteral(MOE_ENGINE_BIN);
    o.model_dir = qEnvironmentVariable("MOE_TEST_ENGINE_MODEL");  // "" = --demo
    o.backend = QStringLiteral("cpu");
    o.extra_args = {QStringLiteral("--ctx"), QStringLiteral("1024")};
    if (token_delay_ms > 0) o.extra_args << QStringLiteral("--test-token-delay-ms") << QString::number(token_delay_ms);
    return o;
}

EngineFixture::EngineFixture() = default;
EngineFixture::~EngineFixture() = default;

bool EngineFixture::start(int token_delay_ms, QString* error) {
    process_.setOptions(engineOptions(token_delay_ms));
    QSignalSpy ready(&process_, &EngineProcess::ready);
    QSignalSpy gave_up(&process_, &EngineProcess::gaveUp);
    process_.start();
    for (int waited = 0; ready.isEmpty() && gave_up.isEmpty() && waited < kStartTimeoutMs; waited += 100)
        ready.wait(100);
    if (ready.isEmpty()) {
        *error = gave_up.isEmpty() ? QStringLiteral("moe-engine serve was not ready within %1 s").arg(kStartTimeoutMs / 1000)
                                   : gave_up.first().first().toString();
        return false;
    }
    client_.setEndpoint(process_.endpoint());
    QSignalSpy models(&client_, &EngineClient::modelsChanged);
    client_.refreshModels();
    if (!models.wait(10'000) || models.first().first().toJsonArray().isEmpty()) {
        *error = QStringLiteral("GET %1/v1/models listed no model").arg(process_.endpoint().base.toString());
        return false;
    }
    model_ = models.first().first().toJsonArray().first().toObject();
    return true;
}

}  // namespace moe::ui::test
