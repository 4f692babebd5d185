// A real `moe-engine serve --demo` for the client tests, started the way the workbench starts it
// (EngineProcess: --port 0, random token, --exit-with-parent), with the demo model cached in the
// build tree so it is written once per build, not once per test.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <memory>

#include "engine_client.h"
#include "engine_process.h"

namespace moe::ui::test {

// Points MOE_ENGINE_BIN at the freshly built engine and XDG_CACHE_HOME at the build tree's cache.
void prepare_environment();

// What start_demo_engine starts: the CPU backend and the engine MOE_ENGINE_BIN names (prepared here).
EngineProcessOptions demo_options(const QStringList& extra_args = {});

// Starts an engine and waits (event loop, up to 120 s) for ready; nullptr if it did not come up
// (the reason is printed with qWarning and the engine's last log lines).
std::unique_ptr<EngineProcess> start_engine(const EngineProcessOptions& options);
std::unique_ptr<EngineProcess> start_demo_engine(const QStringList& extra_args = {});  // demo_options(extra_args)

QJsonObject chat_body(const QString& user_text, int max_tokens, const QJsonObject& extra = {});

}  // namespace moe::ui::test
