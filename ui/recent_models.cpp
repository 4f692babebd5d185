#include "recent_models.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace moe::ui {

namespace {
const char* const kKey = "models/recent";

void store(const QStringList& dirs) { QSettings().setValue(QLatin1String(kKey), dirs); }

// One spelling per folder, so the same model opened as "x/" and "x" is one entry.
QString normalised(const QString& dir) { return QDir::cleanPath(QFileInfo(dir).absoluteFilePath()); }
}  // namespace

QStringList RecentModels::list() { return QSettings().value(QLatin1String(kKey)).toStringList(); }

void RecentModels::add(const QString& checkpoint_dir) {
    if (checkpoint_dir.isEmpty()) return;
    const QString dir = normalised(checkpoint_dir);
    QStringList dirs = list();
    dirs.removeAll(dir);
    dirs.prepend(dir);
    while (dirs.size() > kMaxEntries) dirs.removeLast();
    store(dirs);
}

void RecentModels::remove(const QString& checkpoint_dir) {
    QStringList dirs = list();
    dirs.removeAll(normalised(checkpoint_dir));
    store(dirs);
}

void RecentModels::clear() { store({}); }

bool RecentModels::looksLikeCheckpoint(const QString& dir) { return QFileInfo(QDir(dir).filePath(QStringLiteral("config.json"))).isFile(); }

QString RecentModels::lastUsable() {
    for (const QString& dir : list())
        if (looksLikeCheckpoint(dir)) return dir;
    return {};
}

}  // namespace moe::ui
