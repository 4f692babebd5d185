// Where Help › Documentation points: an installed copy ($MOE_DOCS_DIR, or share/doc/moe-workbench
// next to the binary), else the checkout the app was built from. Empty when none is found.
#pragma once

#include <QUrl>

namespace moe::ui {

QUrl documentationUrl();  // a file:// URL of README.md

}  // namespace moe::ui
