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

#include "models/engine_command.h"

namespace moe::ui::models {

namespace {

enum Column { kId, kArchitecture, kDownloads, kLikes, kGated, kColumns };

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
    busy_ = new QProgressBar(this);
    busy_->setRange(0, 0);  // indeterminate: the hub gives no progress for a search
    busy_->setMaximumWidth(120);
    busy_->setVisible(false);
    error_ = new QLabel(this);
    error_->setWordWrap(true);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->setStyleSheet(QStringLiteral("color: #c62828;"));
    error_->setVisible(false);

    results_ = new QTableWidget(0, kColumns, this);
    results_->setHorizontalHeaderLabels({QStringLiteral("Repository"), QStringLiteral("Architecture"),
                                         QStringLiteral("Downloads"), QStringLiteral("Likes"), QStringLiteral("Access")});
    results_->setSelectionBehavior(QAbstractItemView::SelectRows);
    results_->setSelectionMode(QAbstractItemView::SingleSelection);
    results_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    results_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    results_->horizontalHeader()->setSectionResizeMode(kId, QHeaderView::Stretch);
    results_->verticalHeader()->setVisible(false);

    auto* bar = new QHBoxLayout;
    bar->addWidget(query_, 1);
    bar->addWidget(architecture_);
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

bool SearchView::isBusy() const { return process_ && process_->isRunning(); }
int SearchView::resultCount() const { return results_->rowCount(); }
QString SearchView::resultId(int row) const {
    const QTableWidgetItem* item = results_->item(row, kId);
    return item ? item->text() : QString();
}
QString SearchView::errorText() const { return !error_->isHidden() ? error_->text() : QString(); }

void SearchView::startSearch() {
    if (process_) process_->deleteLater();  // a newer search replaces the running one (its child is stopped)
    QStringList args{QStringLiteral("hub"), QStringLiteral("search"), query_->text().trimmed(), QStringLiteral("--json")};
    if (const QString arch = architecture_->currentData().toString(); !arch.isEmpty()) args << QStringLiteral("--arch") << arch;
    got_results_ = false;
    reported_error_.clear();
    error_->setVisible(false);
    busy_->setVisible(true);
    process_ = runner_.create(args, this);
    connect(process_, &EngineCommand::jsonReceived, this, [this](const QJsonObject& object) {
        if (const QString message = engine_error_message(object); !message.isEmpty()) reported_error_ = message;
        else showResults(object);
    });
    connect(process_, &EngineCommand::badLine, this, [this](const QString& message) { reported_error_ = message; });
    connect(process_, &EngineCommand::finished, this, &SearchView::onFinished);
    process_->start();
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
    got_results_ = true;
}

void SearchView::onFinished(int exit_code, bool crashed, const QString& stderr_tail) {
    if (sender() != process_) return;  // a replaced search
    busy_->setVisible(false);
    process_->deleteLater();
    process_ = nullptr;
    const bool ok = exit_code == 0 && !crashed && got_results_ && reported_error_.isEmpty();
    if (!ok) {
        QString message = reported_error_;
        if (message.isEmpty()) message = stderr_tail;
        if (message.isEmpty()) message = QStringLiteral("moe-engine hub search exited with code %1 and no results").arg(exit_code);
        showError(QStringLiteral("Search failed: %1").arg(message));
    } else if (results_->rowCount() == 0) {
        showError(QStringLiteral("No models match \"%1\"").arg(query_->text()));
    }
    emit searchFinished(ok);
}

void SearchView::showError(const QString& message) {
    error_->setText(message);
    error_->setVisible(true);
}

void SearchView::openSelected() {
    const QList<QTableWidgetItem*> selected = results_->selectedItems();
    if (selected.isEmpty()) return;
    emit repositoryActivated(resultId(selected.first()->row()));
}

}  // namespace moe::ui::models
