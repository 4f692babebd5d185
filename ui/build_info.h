// What this build is: version (CMake project version), the git commit it was built from (with
// "-modified" when the work tree had uncommitted changes), and the Qt it runs on. The commit is
// written at build time by ui/build_info.cmake, so it is current after every build, not only after
// a configure.
#pragma once

#include <QString>

namespace moe::ui {

struct BuildInfo {
    QString version;     // "0.1.0"
    QString commit;      // "1a2b3c4d5e6f" or "1a2b3c4d5e6f-modified"; "unknown" outside a git checkout
    QString qt_runtime;  // qVersion()
    QString qt_built;    // QT_VERSION_STR
    QString build_type;  // CMAKE_BUILD_TYPE

    QString oneLine() const;  // "moe-workbench 0.1.0 (commit 1a2b3c4d5e6f, Qt 6.4.2)"
};

BuildInfo buildInfo();

}  // namespace moe::ui
