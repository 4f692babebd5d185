// LibraryView: the models on this machine — the hub cache and the user's folders, as
// `moe-engine hub scan [--cache-dir D] [--dir F]... --json` finds them — with "Load" (complete
// checkpoints only; emits loadRequested with the checkpoint directory) and "Show in folder".
#pragma once

#include <QJsonObject>
#include <QStringList>
#include <QWidget>

#include "models/engine_runner.h"
#include "models/table_setup.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace moe::ui {
class ErrorNotice;
}

namespace moe::ui::models {

class LibraryView : public QWidget {
    Q_OBJECT
public:
    explicit LibraryView(QWidget* parent = nullptr);

    void setRunner(const EngineRunner& runner) { runner_ = runner; }
    void setFolders(const QStringList& folders);
    QStringList folders() const { return folders_; }
    void rescan();

    int modelCount() const;
    QString modelPath(int row) const;
    QString modelRepo(int row) const;
    bool isComplete(int row) const;
    void load(int row);  // what the row's Load button does
    QString errorText() const;
    bool isBusy() const;

signals:
    void loadRequested(const QString& checkpoint_dir);
    void folderAdded(const QString& folder);
    void scanFinished(bool ok);

private:
    void showModels(const QJsonObject& object);
    void onFinished(int exit_code, bool crashed, const QString& stderr_tail);
    void chooseFolder();
    void addRowButtons(int row, const QString& path, bool complete);

    EngineRunner runner_;
    QStringList folders_;
    QLabel* folders_label_;
    QPushButton* rescan_;
    QPushButton* add_folder_;
    QProgressBar* busy_;
    ErrorNotice* error_;
    QTableWidget* table_;
    JsonQuery request_;
};

}  // namespace moe::ui::models
