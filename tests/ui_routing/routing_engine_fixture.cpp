#include "routing_engine_fixture.h"

#include <QJsonArray>
#include <QSignalSpy>

namespace moe::ui::test {

namespace {
constexpr int kStartTimeoutMs = 60'000;  // the first start may write the demo model to the cache
}

bool RoutingEngineFixture::start(int token_delay_ms, QString* error) {
    EngineProcessOptions options;
    options.program = QStringLiteral(MOE_ENGINE_BIN);
    options.model_dir = qEnvironmentVariable("MOE_TEST_ENGINE_MODEL");  // "" = --demo
    options.backend = QStringLiteral("cpu");
    options.extra_args = {QStringLiteral("--ctx"), QStringLiteral("1024")};
    if (token_delay_ms > 0) options.extra_args << QStringLiteral("--test-token-delay-ms") << QString::number(token_delay_ms);
    process_.setOptions(options);
    QSignalSpy ready(&process_, &EngineProcess::ready);
    QSignalSpy gave_up(&process_, &EngineProcess::gaveUp);
    process_.start();
    for (int waited = 0; ready.isEmpty() && gave_up.isEmpty() && waited < kStartTimeoutMs; waited += 100) ready.wait(100);
    if (ready.isEmpty()) {
        *error = gave_up.isEmpty() ? QStringLiteral("%1 serve was not ready within %2 s").arg(options.program).arg(kStartTimeoutMs / 1000)
                                   : gave_up.first().first().toString() + QStringLiteral("\n") + process_.recentLog().join('\n');
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
