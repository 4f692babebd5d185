#include "models/hub_settings.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QSettings>

namespace moe::ui::models {

HubSettings HubSettings::load(QSettings& settings) {
    HubSettings s;
    s.endpoint = settings.value(QStringLiteral("models/endpoint")).toString();
    s.token = settings.value(QStringLiteral("models/token")).toString();
    s.cache_dir = settings.value(QStringLiteral("models/cache_dir")).toString();
    s.folders = settings.value(QStringLiteral("models/folders")).toStringList();
    return s;
}

void HubSettings::save(QSettings& settings) const {
    settings.setValue(QStringLiteral("models/endpoint"), endpoint);
    settings.setValue(QStringLiteral("models/token"), token);
    settings.setValue(QStringLiteral("models/cache_dir"), cache_dir);
    settings.setValue(QStringLiteral("models/folders"), folders);
    settings.sync();
    if (QFile::exists(settings.fileName()))
        QFile::setPermissions(settings.fileName(), QFileDevice::ReadOwner | QFileDevice::WriteOwner);
}

QProcessEnvironment HubSettings::environment(const QProcessEnvironment& base) const {
    QProcessEnvironment env = base;
    if (!endpoint.isEmpty()) env.insert(QStringLiteral("HF_ENDPOINT"), endpoint);
    if (!token.isEmpty()) env.insert(QStringLiteral("HF_TOKEN"), token);
    if (!cache_dir.isEmpty()) env.insert(QStringLiteral("HF_HUB_CACHE"), cache_dir);
    return env;
}

QString HubSettings::cacheRoot(const QProcessEnvironment& base) const {
    const QProcessEnvironment env = environment(base);
    if (const QString hub_cache = env.value(QStringLiteral("HF_HUB_CACHE")); !hub_cache.isEmpty())
        return hub_cache;
    if (const QString hf_home = env.value(QStringLiteral("HF_HOME")); !hf_home.isEmpty())
        return QDir(hf_home).filePath(QStringLiteral("hub"));
    const QString xdg_cache = env.value(QStringLiteral("XDG_CACHE_HOME"));
    const QString cache_home = !xdg_cache.isEmpty() ? xdg_cache : QDir::home().filePath(QStringLiteral(".cache"));
    return QDir(cache_home).filePath(QStringLiteral("huggingface/hub"));
}

bool is_valid_repo_id(const QString& repo) {
    // The hub's own rule: one or two segments of [A-Za-z0-9._-], not starting with '.' or '-'.
    static const QRegularExpression kRepoId(
        QStringLiteral("^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,95})?$"));
    return kRepoId.match(repo).hasMatch() && !repo.contains(QStringLiteral(".."));
}

QString repo_cache_folder(const QString& cache_root, const QString& repo) {
    if (!is_valid_repo_id(repo) || cache_root.isEmpty()) return {};
    QString name = repo;
    name.replace(QLatin1Char('/'), QStringLiteral("--"));
    return QDir(cache_root).filePath(QStringLiteral("models--") + name);
}

}  // namespace moe::ui::models
