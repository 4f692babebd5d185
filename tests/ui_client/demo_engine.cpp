#include "demo_engine.h"

#include <QDir>
#include <QJsonArray>

#include "demo_engine_fixture.h"

namespace moe::ui::test {

void prepare_environment() {
    qputenv("MOE_ENGINE_BIN", MOE_ENGINE_BIN);
    const QString cache = QStringLiteral(MOE_BINARY_DIR) + QStringLiteral("/tests/ui_client-cache");
    QDir().mkpath(cache);
    qputenv("XDG_CACHE_HOME", cache.toUtf8());
}

EngineProcessOptions demo_options(const QStringList& extra_args) {
    prepare_environment();
    EngineProcessOptions o;
    o.backend = QStringLiteral("cpu");
    o.extra_args = extra_args;
    return o;
}

std::unique_ptr<EngineProcess> start_demo_engine(const QStringList& extra_args) {
    return start_engine(demo_options(extra_args));
}

std::unique_ptr<EngineProcess> start_engine(const EngineProcessOptions& options) {
    prepare_environment();
    auto engine = std::make_unique<EngineProcess>();
    engine->setOptions(options);
    if (QString error; !start_and_wait_until_ready(*engine, 120'000, &error)) {
        qWarning("the engine did not become ready: %s", qPrintable(error));
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
