#include "models/repo_view.h"

#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "error_notice.h"
#include "models/engine_command.h"
#include "models/estimate_view.h"
#include "format.h"
#include "models/table_setup.h"

namespace moe::ui::models {

namespace {

enum Column { kPath, kKind, kSize, kSha, kColumns };
constexpr int kSizeRole = Qt::UserRole + 1;

// Why a file can't be chosen ("" when it can): the engine fetches only what it can load safely.
QString refusal_reason(const QString& kind) {
    if (kind == QLatin1String("pickle"))
        return QStringLiteral("pickle file (.bin/.pt): loading pickle can run arbitrary code, so the engine never downloads or loads it");
    if (kind == QLatin1String("other"))
        return QStringLiteral("not part of a checkpoint: only safetensors, JSON and tokenizer files are downloaded");
    return {};
}

}  // namespace

QString glob_escape(const QString& path) {
    QString out;
    for (const QChar c : path) {
        if (c == QLatin1Char('*') || c == QLatin1Char('?') || c == QLatin1Char('[')) out += QLatin1Char('[') + QString(c) + QLatin1Char(']');
        else out += c;
    }
    return out;
}

RepositoryView::RepositoryView(QWidget* parent) : QWidget(parent) {
    title_ = new QLabel(QStringLiteral("Open a repository from the search results"), this);
    title_->setStyleSheet(QStringLiteral("font-weight: bold;"));
    revision_ = new QLineEdit(QStringLiteral("main"), this);
    revision_->setToolTip(QStringLiteral("Branch, tag or commit; downloads are pinned to the commit it resolves to"));
    revision_->setMaximumWidth(200);
    reload_ = new QPushButton(QStringLiteral("Reload"), this);
    resolved_ = new QLabel(this);
    resolved_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    busy_ = make_busy_indicator(this);
    error_ = make_error_notice(this);
    files_ = make_read_only_table({QStringLiteral("File"), QStringLiteral("Kind"), QStringLiteral("Size"), QStringLiteral("SHA-256")},
                                  kPath, this);
    summary_ = new QLabel(this);
    estimate_ = new EstimateView(this);
    download_ = new QPushButton(QStringLiteral("Download"), this);
    download_->setEnabled(false);

    auto* header = new QHBoxLayout;
    header->addWidget(title_, 1);
    header->addWidget(new QLabel(QStringLiteral("Revision"), this));
    header->addWidget(revision_);
    header->addWidget(reload_);
    header->addWidget(busy_);
    auto* footer = new QHBoxLayout;
    footer->addWidget(summary_, 1);
    footer->addWidget(download_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(resolved_);
    layout->addWidget(error_);
    layout->addWidget(files_, 1);
    layout->addLayout(footer);
    layout->addWidget(estimate_);

    connect(reload_, &QPushButton::clicked, this, &RepositoryView::reload);
    connect(revision_, &QLineEdit::returnPressed, this, &RepositoryView::reload);
    connect(files_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (item->column() == kPath) updateSelectionSummary();
    });
    connect(download_, &QPushButton::clicked, this,
            [this] { emit downloadRequested(repo_, resolved_revision_, includePatterns()); });
}

void RepositoryView::open(const QString& repo, const QString& revision) {
    repo_ = repo;
    revision_->setText(revision.isEmpty() ? QStringLiteral("main") : revision);
    reload();
}

void RepositoryView::reload() {
    if (repo_.isEmpty()) return;
    title_->setText(repo_);
    resolved_->clear();
    resolved_revision_.clear();
    files_->setRowCount(0);
    estimate_->setEstimate(std::nullopt);
    download_->setEnabled(false);
    error_->clear();
    busy_->setVisible(true);
    const QStringList args{QStringLiteral("hub"), QStringLiteral("files"), repo_,
                           QStringLiteral("--revision"), revision_->text().trimmed(),
                           QStringLiteral("--ctx"), QString::number(estimate_->context()), QStringLiteral("--json")};
    request_.start(runner_, args, this, [this](const QJsonObject& answer) { showFiles(answer); },
                 [this](int exit_code, bool crashed, const QString& stderr_tail) { onFinished(exit_code, crashed, stderr_tail); });
}

void RepositoryView::showFiles(const QJsonObject& object) {
    resolved_revision_ = object.value(QStringLiteral("revision")).toString();
    resolved_->setText(QStringLiteral("%1 → commit %2").arg(object.value(QStringLiteral("revision_requested")).toString(), resolved_revision_));
    default_selection_.clear();
    const QSignalBlocker block(files_);
    for (const QJsonValue& value : object.value(QStringLiteral("files")).toArray()) addFileRow(value.toObject());
    // A gated repository lists its files but not their content: config_error says why (shown inline).
    const QString config_error = engine_error_message(QJsonObject{{QStringLiteral("error"), object.value(QStringLiteral("config_error"))}});
    if (!config_error.isEmpty()) error_->showError(config_error, tr("Reading the model's config.json"));
    const QJsonValue estimate = object.value(QStringLiteral("estimate"));
    QString why;
    std::optional<MemoryEstimate> parsed;
    if (estimate.isObject()) parsed = MemoryEstimate::fromJson(estimate.toObject(), &why);
    else if (!config_error.isEmpty()) why = QStringLiteral("no estimate without config.json");
    else why = QStringLiteral("no estimate: the repository has no config.json of a supported architecture");
    estimate_->setEstimate(parsed, why);
    updateSelectionSummary();
}

void RepositoryView::addFileRow(const QJsonObject& f) {
    const QString path = f.value(QStringLiteral("path")).toString();
    const QString kind = f.value(QStringLiteral("kind")).toString();
    const qint64 size = f.value(QStringLiteral("size")).toInteger();
    const QString sha = f.value(QStringLiteral("sha256")).toString();
    const QString refusal = refusal_reason(kind);
    const bool selected = refusal.isEmpty() && f.value(QStringLiteral("selected")).toBool();
    if (selected) default_selection_ << path;

    const int row = files_->rowCount();
    files_->insertRow(row);
    auto* name = new QTableWidgetItem(path);
    name->setData(kSizeRole, size);
    name->setFlags(refusal.isEmpty() ? (Qt::ItemIsEnabled | Qt::ItemIsUserCheckable) : Qt::ItemFlags{});
    name->setCheckState(selected ? Qt::Checked : Qt::Unchecked);
    name->setToolTip(refusal.isEmpty() ? path : refusal);
    files_->setItem(row, kPath, name);
    auto* kind_item = new QTableWidgetItem(kind);
    if (!refusal.isEmpty()) {
        kind_item->setToolTip(refusal);
        // Red for what is refused as unsafe, grey for what is merely not needed.
        kind_item->setForeground(kind == QLatin1String("pickle") ? QColor(0xc6, 0x28, 0x28) : QColor(0x75, 0x75, 0x75));
    }
    files_->setItem(row, kKind, kind_item);
    files_->setItem(row, kSize, new QTableWidgetItem(format_bytes(size)));
    auto* sha_item = new QTableWidgetItem(sha.isEmpty() ? QStringLiteral("–") : sha.left(12));
    sha_item->setToolTip(sha.isEmpty() ? QStringLiteral("a small non-LFS file: checked against its git blob id") : sha);
    files_->setItem(row, kSha, sha_item);
}

void RepositoryView::onFinished(int exit_code, bool crashed, const QString& stderr_tail) {
    busy_->setVisible(false);
    const bool ok = request_.succeeded(exit_code, crashed);
    if (!ok) {
        const QString message =
            request_.failureReason(stderr_tail, QStringLiteral("moe-engine hub files exited with code %1").arg(exit_code));
        error_->showError(message, tr("Listing the files of %1").arg(repo_));
    }
    updateSelectionSummary();
    emit filesLoaded(ok);
}

void RepositoryView::updateSelectionSummary() {
    int chosen = 0, pickle = 0, weights = 0;
    for (int row = 0; row < fileCount(); ++row) {
        chosen += isFileSelected(row);
        const QString kind = files_->item(row, kKind)->text();
        pickle += kind == QLatin1String("pickle");
        weights += kind == QLatin1String("safetensors");
    }
    summary_->setText(QStringLiteral("%1 of %2 files selected, %3 to download")
                          .arg(chosen).arg(fileCount()).arg(format_bytes(selectedBytes())));
    if (request_.answered() && weights == 0 && pickle > 0)
        error_->showNotice(tr("%1 has only pickle weights (.bin/.pt). The engine refuses them because loading pickle can "
                              "run arbitrary code; look for a .safetensors version of this model.").arg(repo_));
    download_->setEnabled(canDownload());
}

bool RepositoryView::canDownload() const {
    if (!request_.answered() || resolved_revision_.isEmpty()) return false;
    for (int row = 0; row < fileCount(); ++row)
        if (isFileSelected(row) && files_->item(row, kKind)->text() == QLatin1String("safetensors")) return true;
    return false;
}

int RepositoryView::fileCount() const { return files_->rowCount(); }
QString RepositoryView::filePath(int row) const { return files_->item(row, kPath)->text(); }
bool RepositoryView::isFileSelectable(int row) const { return files_->item(row, kPath)->flags() & Qt::ItemIsUserCheckable; }
bool RepositoryView::isFileSelected(int row) const { return files_->item(row, kPath)->checkState() == Qt::Checked; }
QString RepositoryView::errorText() const { return error_->fullText(); }

void RepositoryView::setFileSelected(int row, bool selected) {
    if (isFileSelectable(row)) files_->item(row, kPath)->setCheckState(selected ? Qt::Checked : Qt::Unchecked);
}

qint64 RepositoryView::selectedBytes() const {
    qint64 total = 0;
    for (int row = 0; row < fileCount(); ++row)
        if (isFileSelected(row)) total += files_->item(row, kPath)->data(kSizeRole).toLongLong();
    return total;
}

QStringList RepositoryView::includePatterns() const {
    QStringList chosen;
    for (int row = 0; row < fileCount(); ++row)
        if (isFileSelected(row)) chosen << filePath(row);
    if (chosen == default_selection_) return {};
    for (QString& path : chosen) path = glob_escape(path);
    return chosen;
}

}  // namespace moe::ui::models
