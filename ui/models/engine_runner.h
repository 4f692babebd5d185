// EngineRunner: how the panel's views start `moe-engine` children — the program and the hub
// environment in one place, so every view runs the engine the same way.
#pragma once

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace moe::ui::models {

class EngineCommand;

struct EngineRunner {
    QString program;                  // the moe-engine binary
    QProcessEnvironment environment;  // HubSettings::environment()
    QString cache_dir;                // passed as --cache-dir to download / scan when set

    // A new, not yet started child (owned by parent).
    EngineCommand* create(const QStringList& arguments, QObject* parent) const;
};

}  // namespace moe::ui::models
