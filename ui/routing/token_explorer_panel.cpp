#include "token_explorer_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

#include "csv_writer.h"
#include "export_bar.h"
#include "adaptive_splitter.h"
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

constexpr int kSideBySidePx = 950;

}  // namespace

TokenExplorerPanel::TokenExplorerPanel(EngineClient* client, QWidget* parent) : QWidget(parent) {
    heading_ = new QLabel(tr("Press Tokens on a chat reply and click any token: this shows the experts it was sent to "
                             "in every layer, and how much each one counted."),
                          this);
    heading_->setObjectName(QStringLiteral("routing.tokens.heading"));
    heading_->setWordWrap(true);
    heading_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    stale_ = new QLabel(this);
    stale_->setObjectName(QStringLiteral("routing.tokens.stale"));
    stale_->setWordWrap(true);
    stale_->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; padding: 4px;"));
    stale_->hide();
    prev_ = new QPushButton(tr("◀ Previous token"), this);
    next_ = new QPushButton(tr("Next token ▶"), this);
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
    heatmap_->setEmptyMessage(tr("No token chosen yet: press Tokens on a chat reply, then click a token."));
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
    // Side by side only when both get a useful width (top-8 columns of "e123 · 0.456" need ~450 px).
    auto* splitter = new AdaptiveSplitter(kSideBySidePx, this);
    splitter->setObjectName(QStringLiteral("routing.tokens.splitter"));
    splitter->addWidget(table_);
    splitter->addWidget(heatmap_);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading_);
    layout->addWidget(stale_);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);
    if (client) connect(client, &EngineClient::modelsChanged, this, &TokenExplorerPanel::onModels);
}

void TokenExplorerPanel::onModels(const QJsonArray& models) {
    const QJsonObject m = models.isEmpty() ? QJsonObject() : models.first().toObject();
    loaded_model_ = m.value(QStringLiteral("id")).toString();
    // The expert count of the reply's own model stays (a reply shown now came from it).
    if (!m.isEmpty() && (reply_model_.isEmpty() || reply_model_ == loaded_model_))
        n_experts_ = m.value(QStringLiteral("n_routed_experts")).toInt();
    refreshStale();
}

QString TokenExplorerPanel::staleText() const {
    if (token_index_ < 0 || reply_model_.isEmpty() || reply_model_ == loaded_model_) return {};
    return tr("This reply was written by %1; the loaded model is now %2. The experts shown are %1's.")
        .arg(reply_model_, loaded_model_.isEmpty() ? tr("none") : loaded_model_);
}

void TokenExplorerPanel::refreshStale() {
    stale_->setText(staleText());
    stale_->setVisible(!stale_->text().isEmpty());
}

QString TokenExplorerPanel::heading() const { return heading_->text(); }

void TokenExplorerPanel::showToken(const RoutedExperts& routing, const QVector<CompletionToken>& tokens,
                                   int token_index, int prompt_tokens, const QString& model) {
    reply_model_ = model;
    routing_ = routing;
    tokens_ = tokens;
    prompt_tokens_ = prompt_tokens;
    token_index_ = std::clamp(token_index, 0, std::max<int>(int(tokens.size()) - 1, 0));
    render();
    refreshStale();
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
    QString text = tr("Token %1 of %2 of the reply: %3 (token id %4), read by the model as token %5 of the "
                      "conversation (after %6 tokens of prompt)")
                       .arg(token_index_ + 1)
                       .arg(tokens_.size())
                       .arg(visiblePiece(token.text))
                       .arg(token.id)
                       .arg(prompt_tokens_ + token_index_ + 1)
                       .arg(prompt_tokens_);
    if (!reply_model_.isEmpty()) text += tr(" · written by %1").arg(reply_model_);
    if (row_ < 0) {
        text += token_index_ + 1 == tokens_.size()
                    ? tr(" — the reply's last token was never fed back into the model, so it has no experts.")
                    : tr(" — outside the routing the server returned (rows %1–%2).")
                          .arg(routing_.start_len)
                          .arg(routing_.start_len + routing_.tokens - 1);
    } else if (routing_.weights.isEmpty()) {
        text += tr(" — this server sent which experts, but not how much each counted (without weights).");
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
    for (int k = 0; k < routing_.top_k; ++k) columns << tr("choice %1").arg(k + 1);
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
            item->setToolTip(weighted ? tr("layer %1: expert %2, weight %3 (how much its output counts for this token)")
                                            .arg(l).arg(expert).arg(weight, 0, 'f', 4)
                                      : tr("layer %1: expert %2").arg(l).arg(expert));
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
    heatmap_->setEmptyMessage(row_ < 0 ? tr("This token has no experts to show (see the line above).") : QString());
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
