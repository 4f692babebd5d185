#include "token_explorer_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

#include "csv_writer.h"
#include "export_bar.h"
#include "heatmap_widget.h"

namespace moe::ui {

namespace {

// A token piece made readable in a label: quotes around it, spaces as ␣, newlines and tabs escaped
// (a token is often just whitespace, and that must be visible).
QString visiblePiece(const QString& text) {
    QString shown = text;
    shown.replace(QLatin1Char('\n'), QStringLiteral("\\n")).replace(QLatin1Char('\t'), QStringLiteral("\\t"));
    shown.replace(QLatin1Char(' '), QChar(0x2423));
    return QStringLiteral("“%1”").arg(shown);
}

}  // namespace

TokenExplorerPanel::TokenExplorerPanel(EngineClient* client, QWidget* parent) : QWidget(parent) {
    heading_ = new QLabel(tr("Click a token in a chat reply (the reply's Tokens view) to see where it was routed."), this);
    heading_->setObjectName(QStringLiteral("routing.tokens.heading"));
    heading_->setWordWrap(true);
    heading_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    prev_ = new QPushButton(tr("◀ Previous"), this);
    next_ = new QPushButton(tr("Next ▶"), this);
    prev_->setEnabled(false);
    next_->setEnabled(false);
    connect(prev_, &QPushButton::clicked, this, &TokenExplorerPanel::showPrevious);
    connect(next_, &QPushButton::clicked, this, &TokenExplorerPanel::showNext);
    table_ = new QTableWidget(this);
    table_->setObjectName(QStringLiteral("routing.tokens.table"));
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    heatmap_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, this);
    heatmap_->setObjectName(QStringLiteral("routing.tokens.heatmap"));
    auto* exports = new ExportBar(this);
    exports->addCsvTarget(tr("this token's experts"), QStringLiteral("token-routing"),
                          [this](const QString& p, QString* e) { return exportCsv(p, e); });
    exports->addPngTarget(tr("this token's weight heatmap"), QStringLiteral("token-routing"),
                          [this](const QString& p, QString* e) { return exportPng(p, e); });

    auto* controls = new QHBoxLayout;
    controls->addWidget(prev_);
    controls->addWidget(next_);
    controls->addStretch(1);
    controls->addWidget(exports);
    auto* splitter = new QSplitter(this);
    splitter->addWidget(table_);
    splitter->addWidget(heatmap_);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({450, 550});  // room for top-8 columns of "e123 · 0.456"
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading_);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);
    if (client) {
        connect(client, &EngineClient::modelsChanged, this, [this](const QJsonArray& models) {
            if (!models.isEmpty()) n_experts_ = models.first().toObject().value(QStringLiteral("n_routed_experts")).toInt();
        });
    }
}

QString TokenExplorerPanel::heading() const { return heading_->text(); }

void TokenExplorerPanel::showToken(const RoutedExperts& routing, const QVector<CompletionToken>& tokens,
                                   int token_index, int prompt_tokens) {
    routing_ = routing;
    tokens_ = tokens;
    prompt_tokens_ = prompt_tokens;
    token_index_ = std::clamp(token_index, 0, std::max<int>(int(tokens.size()) - 1, 0));
    render();
}

void TokenExplorerPanel::showPrevious() {
    if (token_index_ <= 0) return;
    --token_index_;
    render();
}

void TokenExplorerPanel::showNext() {
    if (token_index_ + 1 >= tokens_.size()) return;
    ++token_index_;
    render();
}

void TokenExplorerPanel::render() {
    prev_->setEnabled(token_index_ > 0);
    next_->setEnabled(token_index_ + 1 < tokens_.size());
    const int candidate = prompt_tokens_ + token_index_ - routing_.start_len;
    row_ = candidate >= 0 && candidate < routing_.tokens ? candidate : -1;
    const CompletionToken token = tokens_.value(token_index_);
    QString text = tr("Token %1 of %2: %3 (id %4) · position %5 of the sequence (after %6 prompt tokens)")
                       .arg(token_index_ + 1)
                       .arg(tokens_.size())
                       .arg(visiblePiece(token.text))
                       .arg(token.id)
                       .arg(prompt_tokens_ + token_index_)
                       .arg(prompt_tokens_);
    if (row_ < 0) {
        text += token_index_ + 1 == tokens_.size()
                    ? tr(" — the last sampled token is never run through the model, so it has no routing.")
                    : tr(" — outside the routing the server returned (rows %1–%2).")
                          .arg(routing_.start_len)
                          .arg(routing_.start_len + routing_.tokens - 1);
    } else if (routing_.weights.isEmpty()) {
        text += tr(" — this server sent expert ids without weights.");
    }
    heading_->setText(text);
    fillTable();
    fillHeatmap();
}

QVector<int> TokenExplorerPanel::routedLayers() const {
    QVector<int> layers;
    if (row_ < 0) return layers;
    for (int l = 0; l < routing_.layers; ++l)
        if (routing_.top_k > 0 && routing_.expert_id(row_, l, 0) >= 0) layers << l;
    return layers;
}

void TokenExplorerPanel::fillTable() {
    const QVector<int> layers = routedLayers();
    shown_layers_ = layers;
    table_->clear();
    table_->setRowCount(int(layers.size()));
    table_->setColumnCount(row_ < 0 ? 0 : routing_.top_k);
    QStringList columns;
    for (int k = 0; k < routing_.top_k; ++k) columns << tr("rank %1").arg(k + 1);
    table_->setHorizontalHeaderLabels(columns);
    QStringList row_labels;
    for (int r = 0; r < layers.size(); ++r) {
        const int l = layers[r];
        row_labels << tr("layer %1").arg(l);
        for (int k = 0; k < routing_.top_k; ++k) {
            const int index = (row_ * routing_.layers + l) * routing_.top_k + k;
            const int expert = routing_.ids[index];
            const bool weighted = routing_.weights.size() == routing_.ids.size();
            const double weight = weighted ? routing_.weights[index] : std::numeric_limits<double>::quiet_NaN();
            auto* item = new QTableWidgetItem(weighted ? tr("e%1 · %2").arg(expert).arg(weight, 0, 'f', 3)
                                                       : tr("e%1").arg(expert));
            item->setData(kExpertRole, expert);
            item->setData(kWeightRole, weight);
            table_->setItem(r, k, item);
        }
    }
    table_->setVerticalHeaderLabels(row_labels);
}

void TokenExplorerPanel::fillHeatmap() {
    int experts = n_experts_;
    for (int32_t id : routing_.ids) experts = std::max(experts, int(id) + 1);
    viz::HeatmapData grid = viz::HeatmapData::filled(routing_.layers, experts, std::numeric_limits<double>::quiet_NaN());
    grid.row_title = QStringLiteral("layer");
    grid.col_title = QStringLiteral("expert");
    const bool weighted = routing_.weights.size() == routing_.ids.size();
    grid.value_title = weighted ? QStringLiteral("routing weight") : QStringLiteral("chosen (1)");
    for (int l = 0; l < routing_.layers; ++l) grid.row_labels << QString::number(l);
    for (int l : routedLayers()) {
        for (int e = 0; e < experts; ++e) grid.at(l, e) = 0.0;
        for (int k = 0; k < routing_.top_k; ++k) {
            const int index = (row_ * routing_.layers + l) * routing_.top_k + k;
            grid.at(l, routing_.ids[index]) = weighted ? routing_.weights[index] : 1.0;
        }
    }
    heatmap_->setData(grid);
}

bool TokenExplorerPanel::exportCsv(const QString& path, QString* error) const {
    viz::CsvTable table;
    table.header = {QStringLiteral("token_index"), QStringLiteral("token_id"), QStringLiteral("token_text"),
                    QStringLiteral("layer"), QStringLiteral("rank"), QStringLiteral("expert"), QStringLiteral("weight")};
    const CompletionToken token = tokens_.value(token_index_);
    for (int r = 0; r < table_->rowCount(); ++r) {
        for (int k = 0; k < table_->columnCount(); ++k) {
            const QTableWidgetItem* item = table_->item(r, k);
            const double weight = item->data(kWeightRole).toDouble();
            table.rows << QStringList{QString::number(token_index_), QString::number(token.id), token.text,
                                      QString::number(shown_layers_.value(r)),
                                      QString::number(k + 1), item->data(kExpertRole).toString(),
                                      std::isnan(weight) ? QString() : QString::number(weight, 'g', 8)};
        }
    }
    return viz::writeCsv(path, table, error);
}

bool TokenExplorerPanel::exportPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }

}  // namespace moe::ui
