#include "models/library_view.h"

#include <QDesktopServices>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

#include "error_notice.h"
#include "format.h"
#include "models/table_setup.h"

namespace moe::ui::models {

namespace {
enum Column { kRepo, kArchitecture, kSize, kComplete, kSource, kActions, kColumns };
constexpr int kPathRole = Qt::UserRole + 1;
}  // namespace

LibraryView::LibraryView(QWidget* parent) : QWidget(parent) {
    folders_label_ = new QLabel(this);
    folders_label_->setWordWrap(true);
    rescan_ = new QPushButton(QStringLiteral("Rescan"), this);
    add_folder_ = new QPushButton(QStringLiteral("Add folder…"), this);
    busy_ = make_busy_indicator(this);
    error_ = make_error_notice(this);
    table_ = make_read_only_table({QStringLiteral("Model"), QStringLiteral("Architecture"), QStringLiteral("Size"),
                                   QStringLiteral("Complete"), QStringLiteral("Source"), QString()},
                                  kRepo, this);

    auto* bar = new QHBoxLayout;
    bar->addWidget(folders_label_, 1);
    bar->addWidget(busy_);
    bar->addWidget(add_folder_);
    bar->addWidget(rescan_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(error_);
    layout->addWidget(table_, 1);

    connect(rescan_, &QPushButton::clicked, this, &LibraryView::rescan);
    connect(add_folder_, &QPushButton::clicked, this, &LibraryView::chooseFolder);
    setFolders({});
}

void LibraryView::setFolders(const QStringList& folders) {
    folders_ = folders;
    folders_label_->setText(folders_.isEmpty() ? QStringLiteral("Hub cache only (add folders that hold checkpoints)")
                                               : QStringLiteral("Hub cache and: %1").arg(folders_.join(QStringLiteral(", "))));
}

void LibraryView::chooseFolder() {
    const QString folder = QFileDialog::getExistingDirectory(this, QStringLiteral("Folder with model checkpoints"));
    if (folder.isEmpty() || folders_.contains(folder)) return;
    setFolders(folders_ + QStringList{folder});
    emit folderAdded(folder);
    rescan();
}

void LibraryView::rescan() {
    QStringList args{QStringLiteral("hub"), QStringLiteral("scan"), QStringLiteral("--json")};
    if (!runner_.cache_dir.isEmpty()) args << QStringLiteral("--cache-dir") << runner_.cache_dir;
    for (const QString& folder : folders_) args << QStringLiteral("--dir") << folder;
    error_->clear();
    busy_->setVisible(true);
    request_.start(runner_, args, this, [this](const QJsonObject& answer) { showModels(answer); },
                 [this](int exit_code, bool crashed, const QString& stderr_tail) { onFinished(exit_code, crashed, stderr_tail); });
}

void LibraryView::showModels(const QJsonObject& object) {
    table_->setRowCount(0);
    for (const QJsonValue& value : object.value(QStringLiteral("models")).toArray()) {
        const QJsonObject m = value.toObject();
        const QString path = m.value(QStringLiteral("path")).toString();
        const QJsonValue repo = m.value(QStringLiteral("repo"));
        const QJsonValue arch = m.value(QStringLiteral("architecture"));
        const bool complete = m.value(QStringLiteral("complete")).toBool();
        const int row = table_->rowCount();
        table_->insertRow(row);
        QString name = repo.isString() ? repo.toString() : path;
        if (const QJsonValue rev = m.value(QStringLiteral("revision")); rev.isString()) name += QStringLiteral(" @ ") + rev.toString().left(10);
        auto* name_item = new QTableWidgetItem(name);
        name_item->setData(kPathRole, path);
        name_item->setToolTip(path);
        table_->setItem(row, kRepo, name_item);
        table_->setItem(row, kArchitecture, new QTableWidgetItem(arch.isString() ? arch.toString() : QStringLiteral("?")));
        table_->setItem(row, kSize, new QTableWidgetItem(format_bytes(m.value(QStringLiteral("size_bytes")).toInteger())));
        auto* complete_item = new QTableWidgetItem(complete ? QStringLiteral("yes") : QStringLiteral("no"));
        if (!complete) complete_item->setToolTip(QStringLiteral("files are missing or still downloading"));
        table_->setItem(row, kComplete, complete_item);
        table_->setItem(row, kSource, new QTableWidgetItem(m.value(QStringLiteral("source")).toString()));
        addRowButtons(row, path, complete);
    }
}

void LibraryView::addRowButtons(int row, const QString& path, bool complete) {
    auto* actions = new QWidget(table_);
    auto* buttons = new QHBoxLayout(actions);
    buttons->setContentsMargins(0, 0, 0, 0);
    auto* load_button = new QPushButton(QStringLiteral("Load"), actions);
    load_button->setObjectName(QStringLiteral("Load"));
    load_button->setEnabled(complete);
    auto* show_button = new QPushButton(QStringLiteral("Show in folder"), actions);
    buttons->addWidget(load_button);
    buttons->addWidget(show_button);
    connect(load_button, &QPushButton::clicked, this, [this, path] { emit loadRequested(path); });
    connect(show_button, &QPushButton::clicked, this, [path] { QDesktopServices::openUrl(QUrl::fromLocalFile(path)); });
    table_->setCellWidget(row, kActions, actions);
}

void LibraryView::onFinished(int exit_code, bool crashed, const QString& stderr_tail) {
    busy_->setVisible(false);
    const bool ok = request_.succeeded(exit_code, crashed);
    if (!ok) {
        const QString message =
            request_.failureReason(stderr_tail, QStringLiteral("moe-engine hub scan exited with code %1").arg(exit_code));
        error_->showError(message, tr("Looking for models on disk"));
    }
    table_->resizeColumnToContents(kActions);
    emit scanFinished(ok);
}

int LibraryView::modelCount() const { return table_->rowCount(); }
QString LibraryView::modelPath(int row) const { return table_->item(row, kRepo)->data(kPathRole).toString(); }
QString LibraryView::modelRepo(int row) const { return table_->item(row, kRepo)->text(); }
bool LibraryView::isComplete(int row) const { return table_->item(row, kComplete)->text() == QLatin1String("yes"); }
QString LibraryView::errorText() const { return error_->fullText(); }
bool LibraryView::isBusy() const { return request_.isRunning(); }

void LibraryView::load(int row) {
    auto* actions = table_->cellWidget(row, kActions);
    if (auto* button = actions ? actions->findChild<QPushButton*>(QStringLiteral("Load")) : nullptr) button->click();
}

}  // namespace moe::ui::models
