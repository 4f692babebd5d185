#include "demo_engine.h"

#include <QDir>
#include <QJsonArray>
#include <QSignalSpy>

namespace moe::ui::test {

void prepare_environment() {
    qputenv("MOE_ENGINE_BIN", MOE_ENGINE_BIN);
    const QString cache = QStringLiteral(MOE_BINARY_DIR) + QStringLiteral("/tests/ui_client-cache");
    QDir().mkpath(cache);
    qputenv("XDG_CACHE_HOME", cache.toUtf8());
}

std::unique_ptr<EngineProcess> start_demo_engine(const QStringList& extra_args) {
    prepare_environment();
    auto engine = std::make_unique<EngineProcess>();
    EngineProcessOptions o;
    o.backend = QStringLiteral("cpu");
    o.extra_args = extra_args;
    engine->setOptions(o);
    QSignalSpy ready(engine.get(), &EngineProcess::ready);
    QSignalSpy gave_up(engine.get(), &EngineProcess::gaveUp);
    engine->start();
    if (!ready.wait(120'000) && ready.isEmpty()) {
        qWarning("the engine did not become ready: %s\n%s",
                 gave_up.isEmpty() ? "timeout" : qPrintable(gave_up.first().first().toString()),
                 qPrintable(engine->recentLog().join('\n')));
        return nullptr;
    }
    return engine;
}

QJsonObject chat_body(const QString& user_text, int max_tokens, const QJsonObject& extra) {
    QJsonObject body{{"messages", QJsonArray{QJsonObject{{"role", "user"}, {"content", user_text}}}},
                     {"max_tokens", max_tokens}};
    for (auto it = extra.begin(); it != extra.end(); ++it) body.insert(it.key(), it.value());
    return body;
}

}  // namespace moe::ui::test
