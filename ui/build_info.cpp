#include "build_info.h"

#include "build_info_values.h"  // generated: MOE_VERSION, MOE_GIT_COMMIT, MOE_BUILD_TYPE

namespace moe::ui {

QString BuildInfo::oneLine() const {
    return QStringLiteral("moe-workbench %1 (commit %2, Qt %3)").arg(version, commit, qt_runtime);
}

BuildInfo buildInfo() {
    return BuildInfo{QStringLiteral(MOE_VERSION), QStringLiteral(MOE_GIT_COMMIT), QString::fromLatin1(qVersion()),
                     QStringLiteral(QT_VERSION_STR), QStringLiteral(MOE_BUILD_TYPE)};
}

}  // namespace moe::ui
