#include "demo_engine_fixture.h"

#include <QJsonArray>
#include <QSignalSpy>

namespace moe::ui::test {

namespace {
constexpr int kStartTimeoutMs = 60'000;  // the first start may write the demo model to the cache
constexpr int kModelsTimeoutMs = 10'000;
}  // namespace

EngineProcessOptions demo_engine_options(int token_delay_ms) {
    EngineProcessOptions o;
    o.program = QStringLiteral(MOE_ENGINE_BIN);
    o.model_dir = qEnvironmentVariable("MOE_TEST_ENGINE_MODEL");  // "" = --demo
    o.backend = QStringLiteral("cpu");
    o.extra_args = {QStringLiteral("--ctx"), QStringLiteral("1024")};
    if (token_delay_ms > 0) o.extra_args << QStringLiteral("--test-token-delay-ms") << QString::number(token_delay_ms);
    return o;
}

bool start_and_wait_until_ready(EngineProcess& engine, int timeout_ms, QString* error) {
    QSignalSpy ready(&engine, &EngineProcess::ready);
    QSignalSpy gave_up(&engine, &EngineProcess::gaveUp);
    engine.start();
    for (int waited = 0; ready.isEmpty() && gave_up.isEmpty() && waited < timeout_ms; waited += 100) ready.wait(100);
    if (!ready.isEmpty()) return true;
    const QString program = engine.options().program.isEmpty() ? QStringLiteral("moe-engine") : engine.options().program;
    *error = gave_up.isEmpty() ? QStringLiteral("%1 serve was not ready within %2 s").arg(program).arg(timeout_ms / 1000)
                               : gave_up.first().first().toString();
    *error += QStringLiteral("\n") + engine.recentLog().join('\n');
    return false;
}

bool DemoEngineFixture::start(int token_delay_ms, QString* error) {
    return start(demo_engine_options(token_delay_ms), error);
}

bool DemoEngineFixture::start(const EngineProcessOptions& options, QString* error) {
    process_.setOptions(options);
    if (!start_and_wait_until_ready(process_, kStartTimeoutMs, error)) return false;
    client_.setEndpoint(process_.endpoint());
    QSignalSpy models(&client_, &EngineClient::modelsChanged);
    client_.refreshModels();
    if (!models.wait(kModelsTimeoutMs) || models.first().first().toJsonArray().isEmpty()) {
        *error = QStringLiteral("GET %1/v1/models listed no model").arg(process_.endpoint().base.toString());
        return false;
    }
    model_ = models.first().first().toJsonArray().first().toObject();
    return true;
}

}  // namespace moe::ui::test
