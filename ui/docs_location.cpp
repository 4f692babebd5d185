#include "docs_location.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace moe::ui {

QUrl documentationUrl() {
    QStringList roots;
    if (const QString env = qEnvironmentVariable("MOE_DOCS_DIR"); !env.isEmpty()) roots << env;
    roots << QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../share/doc/moe-workbench"));
#ifdef MOE_SOURCE_DOCS_DIR
    roots << QStringLiteral(MOE_SOURCE_DOCS_DIR);
#endif
    for (const QString& root : roots) {
        const QFileInfo readme(QDir(root).filePath(QStringLiteral("README.md")));
        if (readme.isFile()) return QUrl::fromLocalFile(readme.canonicalFilePath());
    }
    return {};
}

}  // namespace moe::ui
