// SearchView: hub search (`moe-engine hub search QUERY [--arch A] --json`) — a query, an
// architecture filter, a busy indicator while the child runs, errors inline, and the results table.
// Activating a row (double click or "Open") asks for that repository's files.
#pragma once

#include <QWidget>

#include "models/engine_runner.h"
#include "models/table_setup.h"

class QComboBox;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace moe::ui {
class ErrorNotice;
}

namespace moe::ui::models {

class SearchView : public QWidget {
    Q_OBJECT
public:
    explicit SearchView(QWidget* parent = nullptr);

    void setRunner(const EngineRunner& runner) { runner_ = runner; }
    void search(const QString& query, const QString& architecture = {});
    bool isBusy() const;
    int resultCount() const;
    QString resultId(int row) const;
    QString errorText() const;  // the plain-words line and its technical detail; "" without an error

signals:
    void repositoryActivated(const QString& repo);
    void searchFinished(bool ok);

private:
    void startSearch();
    void showResults(const QJsonObject& object);
    void onFinished(int exit_code, bool crashed, const QString& stderr_tail);
    void openSelected();

    EngineRunner runner_;
    QLineEdit* query_;
    QComboBox* architecture_;
    QPushButton* search_button_;
    QPushButton* open_button_;
    QProgressBar* busy_;
    ErrorNotice* error_;
    QTableWidget* results_;
    JsonQuery request_;
};

}  // namespace moe::ui::models
