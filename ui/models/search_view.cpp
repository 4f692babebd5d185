#include "models/search_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "error_notice.h"
#include "models/table_setup.h"

namespace moe::ui::models {

namespace {

enum Column { kId, kArchitecture, kDownloads, kLikes, kGated, kColumns };
constexpr int kQueryMinWidthPx = 180;

// gated is false, true, "auto" or "manual" on the hub.
QString gated_badge(const QJsonValue& gated) {
    if (gated.isString()) return QStringLiteral("gated (%1)").arg(gated.toString());
    return gated.toBool() ? QStringLiteral("gated") : QString();
}

QTableWidgetItem* number_item(qint64 value) {
    auto* item = new QTableWidgetItem;
    item->setData(Qt::DisplayRole, value);  // numeric, so sorting by downloads sorts by number
    return item;
}

}  // namespace

SearchView::SearchView(QWidget* parent) : QWidget(parent) {
    query_ = new QLineEdit(this);
    query_->setPlaceholderText(QStringLiteral("Search models, e.g. deepseek"));
    architecture_ = new QComboBox(this);
    architecture_->addItem(QStringLiteral("any architecture"), QString());
    for (const char* arch : {"deepseek_v3", "deepseek_v2", "qwen2"}) architecture_->addItem(QLatin1String(arch), QLatin1String(arch));
    search_button_ = new QPushButton(QStringLiteral("Search"), this);
    open_button_ = new QPushButton(QStringLiteral("Open"), this);
    open_button_->setEnabled(false);
    busy_ = make_busy_indicator(this);
    error_ = make_error_notice(this);

    results_ = make_read_only_table({QStringLiteral("Repository"), QStringLiteral("Architecture"), QStringLiteral("Downloads"),
                                     QStringLiteral("Likes"), QStringLiteral("Access")},
                                    kId, this);
    results_->setSelectionBehavior(QAbstractItemView::SelectRows);
    results_->setSelectionMode(QAbstractItemView::SingleSelection);
    // Every column but the repository fits its content (setting all sections resets kId's Stretch).
    results_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    results_->horizontalHeader()->setSectionResizeMode(kId, QHeaderView::Stretch);

    // The query is what the user types into: it keeps a usable width; the filter gives way first.
    query_->setMinimumWidth(kQueryMinWidthPx);
    query_->setObjectName(QStringLiteral("modelsSearchQuery"));
    architecture_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    architecture_->setMinimumContentsLength(8);
    architecture_->setToolTip(tr("Show only models of this architecture"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(query_, 3);
    bar->addWidget(architecture_, 1);
    bar->addWidget(search_button_);
    bar->addWidget(busy_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(error_);
    layout->addWidget(results_, 1);
    layout->addWidget(open_button_, 0, Qt::AlignRight);

    connect(search_button_, &QPushButton::clicked, this, &SearchView::startSearch);
    connect(query_, &QLineEdit::returnPressed, this, &SearchView::startSearch);
    connect(open_button_, &QPushButton::clicked, this, &SearchView::openSelected);
    connect(results_, &QTableWidget::itemSelectionChanged, this,
            [this] { open_button_->setEnabled(!results_->selectedItems().isEmpty()); });
    connect(results_, &QTableWidget::itemDoubleClicked, this, [this] { openSelected(); });
}

void SearchView::search(const QString& query, const QString& architecture) {
    query_->setText(query);
    architecture_->setCurrentIndex(std::max(0, architecture_->findData(architecture)));
    startSearch();
}

bool SearchView::isBusy() const { return request_.isRunning(); }
int SearchView::resultCount() const { return results_->rowCount(); }
QString SearchView::resultId(int row) const {
    const QTableWidgetItem* item = results_->item(row, kId);
    return item ? item->text() : QString();
}
QString SearchView::errorText() const { return error_->fullText(); }

void SearchView::startSearch() {
    QStringList args{QStringLiteral("hub"), QStringLiteral("search"), query_->text().trimmed(), QStringLiteral("--json")};
    if (const QString arch = architecture_->currentData().toString(); !arch.isEmpty()) args << QStringLiteral("--arch") << arch;
    error_->clear();
    busy_->setVisible(true);
    // A newer search replaces the running one (its child is stopped).
    request_.start(runner_, args, this, [this](const QJsonObject& answer) { showResults(answer); },
                 [this](int exit_code, bool crashed, const QString& stderr_tail) { onFinished(exit_code, crashed, stderr_tail); });
}

void SearchView::showResults(const QJsonObject& object) {
    const QJsonArray models = object.value(QStringLiteral("models")).toArray();
    results_->setSortingEnabled(false);
    results_->setRowCount(0);
    for (const QJsonValue& value : models) {
        const QJsonObject m = value.toObject();
        const int row = results_->rowCount();
        results_->insertRow(row);
        results_->setItem(row, kId, new QTableWidgetItem(m.value(QStringLiteral("id")).toString()));
        const QJsonValue arch = m.value(QStringLiteral("architecture"));
        results_->setItem(row, kArchitecture, new QTableWidgetItem(arch.isString() ? arch.toString() : QStringLiteral("?")));
        results_->setItem(row, kDownloads, number_item(m.value(QStringLiteral("downloads")).toInteger()));
        results_->setItem(row, kLikes, number_item(m.value(QStringLiteral("likes")).toInteger()));
        auto* gated = new QTableWidgetItem(gated_badge(m.value(QStringLiteral("gated"))));
        if (!gated->text().isEmpty()) {
            gated->setForeground(QColor(0xef, 0x8f, 0x00));
            gated->setToolTip(QStringLiteral("Accept the model's terms on the hub and set a token to download it"));
        }
        results_->setItem(row, kGated, gated);
    }
    results_->setSortingEnabled(true);
}

void SearchView::onFinished(int exit_code, bool crashed, const QString& stderr_tail) {
    busy_->setVisible(false);
    const bool ok = request_.succeeded(exit_code, crashed);
    if (!ok) {
        const QString message = request_.failureReason(
            stderr_tail, QStringLiteral("moe-engine hub search exited with code %1 and no results").arg(exit_code));
        error_->showError(message, tr("Search"));
    } else if (results_->rowCount() == 0) {
        error_->showNotice(tr("No models match \"%1\". Try a shorter name, or \"any architecture\".").arg(query_->text()));
    }
    emit searchFinished(ok);
}

void SearchView::openSelected() {
    const QList<QTableWidgetItem*> selected = results_->selectedItems();
    if (selected.isEmpty()) return;
    emit repositoryActivated(resultId(selected.first()->row()));
}

}  // namespace moe::ui::models
