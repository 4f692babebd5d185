// Per-domain mode: pick domains (the bundled corpora and the user's own files), run them through
// the model chunk by chunk (DomainRun) with progress and cancel, and look at one layer × expert
// heatmap per domain. The specialisation view reads the same results. Results name the model they
// came from; after a model switch a notice says they belong to the previous model (staleText()).
#pragma once

#include <QJsonArray>
#include <QVector>
#include <QWidget>

#include "domain_corpus.h"
#include "domain_run.h"

class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace moe::viz {
class HeatmapWidget;
}

namespace moe::ui {

class ErrorNotice;

class DomainPanel : public QWidget {
    Q_OBJECT
public:
    explicit DomainPanel(EngineClient* client, QWidget* parent = nullptr);

    DomainRun* run() const { return run_; }
    const QVector<DomainCorpus>& domains() const { return domains_; }
    // Adds a user file as its own domain (domain empty or new) or to an existing one.
    bool addFile(const QString& path, const QString& domain, QString* error);
    void setDomainChecked(const QString& domain, bool checked);
    QStringList checkedDomains() const;
    void setTokensPerChunk(int tokens);
    // Runs the checked domains; false (and the status line says why) when none is checked.
    bool startRun();
    void showDomain(const QString& domain);
    QString shownDomain() const;
    QString status() const;
    QString summary() const;
    // "" while the results belong to the loaded model; else the notice shown above the heatmap.
    QString staleText() const;
    QString errorText() const;  // a failed run, in plain words + detail ("" if none)
    viz::HeatmapWidget* heatmap() const { return heatmap_; }

    bool exportDomainCsv(const QString& path, QString* error);
    bool exportAllDomainsCsv(const QString& path, QString* error) const;  // long format: domain,layer,expert,hits
    bool exportPng(const QString& path, QString* error);

private:
    void buildUi();
    QWidget* buildDomainColumn();
    QWidget* buildHeatmapColumn();
    void rebuildDomainList();
    void onAddFileClicked();
    void onProgress(qint64 done, qint64 total, const QString& domain);
    void onFinished(bool completed, const QString& message);
    void refreshHeatmap();
    void refreshStale();
    void onModels(const QJsonArray& models);

    EngineClient* client_;
    DomainRun* run_;
    QVector<DomainCorpus> domains_;
    QStringList checked_;
    int n_experts_ = 0;  // the loaded model's routed experts (from /v1/models), 0 = unknown

    QListWidget* domain_list_ = nullptr;
    QSpinBox* chunk_box_ = nullptr;
    QPushButton* run_button_ = nullptr;
    QPushButton* cancel_button_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    ErrorNotice* error_ = nullptr;
    QLabel* stale_ = nullptr;
    QComboBox* domain_box_ = nullptr;
    QLabel* summary_ = nullptr;
    viz::HeatmapWidget* heatmap_ = nullptr;
};

}  // namespace moe::ui
