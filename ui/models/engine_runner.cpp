#include "models/engine_runner.h"

#include "models/engine_command.h"

namespace moe::ui::models {

EngineCommand* EngineRunner::create(const QStringList& arguments, QObject* parent) const {
    return new EngineCommand(program, arguments, environment, parent);
}

}  // namespace moe::ui::models
