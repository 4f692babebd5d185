// Where the Models panel's child processes find the hub and the cache: endpoint (HF_ENDPOINT),
// token (HF_TOKEN, passed through the environment, never on a command line where `ps` shows it),
// cache dir and the user's extra model folders. Persisted with QSettings under "models/".
#pragma once

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

class QSettings;

namespace moe::ui::models {

struct HubSettings {
    QString endpoint;   // "" = HF_ENDPOINT from the environment, else the public hub
    QString token;      // "" = HF_TOKEN from the environment, else anonymous
    QString cache_dir;  // "" = HF_HUB_CACHE / HF_HOME/hub / ~/.cache/huggingface/hub
    QStringList folders;

    static HubSettings load(QSettings& settings);
    // Also restricts the settings file to its owner (it holds the token).
    void save(QSettings& settings) const;

    // The child's environment: `base` with HF_ENDPOINT / HF_TOKEN / HF_HUB_CACHE overridden where set.
    QProcessEnvironment environment(const QProcessEnvironment& base) const;
    // The hub cache root the child will use with environment(base) (huggingface_hub's rules).
    QString cacheRoot(const QProcessEnvironment& base) const;
};

// "org/name" -> true when it is a plain hub repository id (no "..", no absolute path, no
// backslash) so that it can be turned into a cache folder name safely.
bool is_valid_repo_id(const QString& repo);
// cache_root/models--org--name (huggingface_hub's layout); "" when the id is not valid.
QString repo_cache_folder(const QString& cache_root, const QString& repo);

}  // namespace moe::ui::models
