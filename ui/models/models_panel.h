// ModelsPanel: getting a model — hub search, a repository's files and memory estimate, the download
// queue, and the local library with "Load". Every hub operation runs moe-engine as a child process
// (hub search / hub files / hub scan / download), so the panel never blocks and a failing download
// never takes the app down. Hub settings (endpoint, token, cache dir, library folders) persist in
// QSettings under "models/".
#pragma once

#include <QWidget>

#include "models/hub_settings.h"

class QLineEdit;
class QTabWidget;

namespace moe::ui {

namespace models {
class DownloadQueue;
class DownloadsView;
class LibraryView;
class RepositoryView;
class SearchView;
}  // namespace models

class ModelsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelsPanel(QWidget* parent = nullptr);
    ~ModelsPanel() override;

    void setEngineProgram(const QString& path);  // the moe-engine binary
    // Empty values mean: from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE/HF_HOME), else defaults.
    void setHubSettings(const QString& endpoint, const QString& token, const QString& cache_dir);
    void addLibraryFolder(const QString& folder);
    models::HubSettings hubSettings() const { return settings_; }

    models::SearchView* searchView() const { return search_; }
    models::RepositoryView* repositoryView() const { return repository_; }
    models::DownloadQueue* downloadQueue() const { return queue_; }
    models::DownloadsView* downloadsView() const { return downloads_; }
    models::LibraryView* libraryView() const { return library_; }

signals:
    void loadRequested(const QString& checkpoint_dir);

private:
    QWidget* buildSettingsBox();
    void applySettingsFields();
    void applyRunner();
    void persist();

    QString program_;
    models::HubSettings settings_;
    QLineEdit* endpoint_;
    QLineEdit* token_;
    QLineEdit* cache_dir_;
    QTabWidget* tabs_;
    models::SearchView* search_;
    models::RepositoryView* repository_;
    models::DownloadQueue* queue_;
    models::DownloadsView* downloads_;
    models::LibraryView* library_;
};

}  // namespace moe::ui
