// RepositoryView: one repository as `moe-engine hub files REPO --revision R --ctx N --json` describes
// it — the revision it resolved to (downloads are pinned to that commit), the file table (selectable
// safetensors / JSON / tokenizer files; pickle files shown disabled with the reason), the download
// size of the selection, and the memory estimate box (EstimateView).
#pragma once

#include <QJsonObject>
#include <QStringList>
#include <QWidget>

#include "models/engine_runner.h"
#include "models/table_setup.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace moe::ui {
class ErrorNotice;
}

namespace moe::ui::models {

class EstimateView;

class RepositoryView : public QWidget {
    Q_OBJECT
public:
    explicit RepositoryView(QWidget* parent = nullptr);

    void setRunner(const EngineRunner& runner) { runner_ = runner; }
    void open(const QString& repo, const QString& revision = QStringLiteral("main"));

    QString repository() const { return repo_; }
    QString resolvedRevision() const { return resolved_revision_; }
    int fileCount() const;
    QString filePath(int row) const;
    bool isFileSelectable(int row) const;
    bool isFileSelected(int row) const;
    void setFileSelected(int row, bool selected);
    qint64 selectedBytes() const;
    // --include patterns for the selection; empty when it is the engine's default selection.
    QStringList includePatterns() const;
    QString errorText() const;
    bool canDownload() const;
    EstimateView* estimateView() const { return estimate_; }

signals:
    void filesLoaded(bool ok);
    void downloadRequested(const QString& repo, const QString& revision, const QStringList& includes);

private:
    void reload();
    void showFiles(const QJsonObject& object);
    void addFileRow(const QJsonObject& file);  // one `files[]` entry of hub files --json
    void onFinished(int exit_code, bool crashed, const QString& stderr_tail);
    void updateSelectionSummary();

    EngineRunner runner_;
    QString repo_;
    QString resolved_revision_;
    QLabel* title_;
    QLineEdit* revision_;
    QPushButton* reload_;
    QLabel* resolved_;
    QProgressBar* busy_;
    ErrorNotice* error_;
    QTableWidget* files_;
    QLabel* summary_;
    EstimateView* estimate_;
    QPushButton* download_;
    JsonQuery request_;
    QStringList default_selection_;
};

// "a[1]*.json" -> "a[[]1][*].json": a literal path as an fnmatch pattern.
QString glob_escape(const QString& path);

}  // namespace moe::ui::models
