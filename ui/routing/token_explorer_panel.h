// The token routing explorer: for one completion token of a chat reply, its experts and their
// weights in every MoE layer (a layer × rank table and a small layer × expert heatmap of the
// weights), its text and position, and prev/next to walk the reply. The main window connects the
// chat's tokenClicked signal to showToken(). It names the model that wrote the reply and says so
// when another model is loaded now (staleText()). Table and heatmap sit side by side when the dock
// is wide, stacked when it is narrow (the heatmap then gets the whole width).
#pragma once

#include <QJsonArray>
#include <QVector>
#include <QWidget>

#include "engine_client.h"

class QLabel;
class QPushButton;
class QTableWidget;

namespace moe::viz {
class HeatmapWidget;
}

namespace moe::ui {

class TokenExplorerPanel : public QWidget {
    Q_OBJECT
public:
    // Table cells carry the expert id and weight in these roles (for tests and copy).
    static constexpr int kExpertRole = Qt::UserRole;
    static constexpr int kWeightRole = Qt::UserRole + 1;

    explicit TokenExplorerPanel(EngineClient* client = nullptr, QWidget* parent = nullptr);

    int tokenIndex() const { return token_index_; }
    // The routing row of the shown token (prompt_tokens + token_index - start_len), -1 if it has none.
    int routingRow() const { return row_; }
    QString heading() const;
    QString staleText() const;  // "" while the shown reply's model is the loaded one
    QTableWidget* table() const { return table_; }
    viz::HeatmapWidget* heatmap() const { return heatmap_; }

    bool exportCsv(const QString& path, QString* error) const;  // layer, rank, expert, weight
    bool exportPng(const QString& path, QString* error);

public slots:
    // model: the model that wrote the reply ("" = not known).
    void showToken(const moe::ui::RoutedExperts& routing, const QVector<moe::ui::CompletionToken>& tokens,
                   int token_index, int prompt_tokens, const QString& model = {});
    void onModels(const QJsonArray& models);
    void showPrevious();
    void showNext();

private:
    void render();
    void fillTable();
    void fillHeatmap();
    void refreshStale();
    QVector<int> routedLayers() const;  // MoE layers of the shown row (ids >= 0)

    RoutedExperts routing_;
    QVector<CompletionToken> tokens_;
    int token_index_ = -1;
    int prompt_tokens_ = 0;
    int row_ = -1;
    QVector<int> shown_layers_;  // the table's rows: MoE layers of the shown token
    int n_experts_ = 0;  // from /v1/models when known; else the largest id seen + 1
    QString reply_model_;   // the model that wrote the shown reply
    QString loaded_model_;  // the model the engine serves now

    QLabel* heading_ = nullptr;
    QLabel* stale_ = nullptr;
    QPushButton* prev_ = nullptr;
    QPushButton* next_ = nullptr;
    QTableWidget* table_ = nullptr;
    viz::HeatmapWidget* heatmap_ = nullptr;
};

}  // namespace moe::ui
