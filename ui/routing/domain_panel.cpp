#include "domain_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "adaptive_splitter.h"
#include "csv_writer.h"
#include "error_notice.h"
#include "heatmap_view_controls.h"
#include "export_bar.h"
#include "heatmap_widget.h"

namespace moe::ui {

namespace {
constexpr int kSideBySidePx = 760;
}  // namespace

DomainPanel::DomainPanel(EngineClient* client, QWidget* parent)
    : QWidget(parent), client_(client), run_(new DomainRun(client, this)) {
    domains_ = builtinDomains();
    for (const DomainCorpus& d : domains_) checked_ << d.name;
    buildUi();
    rebuildDomainList();
    connect(run_, &DomainRun::progress, this, &DomainPanel::onProgress);
    connect(run_, &DomainRun::finished, this, &DomainPanel::onFinished);
    connect(run_, &DomainRun::resultsChanged, this, &DomainPanel::refreshHeatmap);
    connect(run_, &DomainRun::failed, this, [this](const QString& detail) { error_->showError(detail, tr("Routing the domains")); });
    connect(run_, &DomainRun::loadedModelChanged, this, &DomainPanel::refreshStale);
    connect(client_, &EngineClient::modelsChanged, this, &DomainPanel::onModels);
    refreshHeatmap();
}

void DomainPanel::buildUi() {
    // The domain list beside the heatmap when there is room, above it in a narrow dock.
    auto* splitter = new AdaptiveSplitter(kSideBySidePx, this);
    splitter->setObjectName(QStringLiteral("routing.domains.splitter"));
    splitter->addWidget(buildDomainColumn());
    splitter->addWidget(buildHeatmapColumn());
    splitter->setStretchFactor(0, 1);  // a third for the list, two for the heatmap, either way
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
}

QWidget* DomainPanel::buildDomainColumn() {
    domain_list_ = new QListWidget(this);
    domain_list_->setObjectName(QStringLiteral("routing.domains.list"));
    connect(domain_list_, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        setDomainChecked(item->data(Qt::UserRole).toString(), item->checkState() == Qt::Checked);
    });
    auto* add_button = new QPushButton(tr("Add file…"), this);
    connect(add_button, &QPushButton::clicked, this, &DomainPanel::onAddFileClicked);
    chunk_box_ = new QSpinBox(this);
    chunk_box_->setRange(8, 2048);
    chunk_box_->setValue(DomainRun::kDefaultTokensPerChunk);
    chunk_box_->setPrefix(tr("pieces of "));
    chunk_box_->setSuffix(tr(" tokens"));
    chunk_box_->setToolTip(tr("The texts go to the model in pieces of about this many tokens, one request each, cut "
                              "between words. The counts always use the tokens the model really read."));
    run_button_ = new QPushButton(tr("Run"), this);
    cancel_button_ = new QPushButton(tr("Cancel"), this);
    cancel_button_->setEnabled(false);
    connect(run_button_, &QPushButton::clicked, this, &DomainPanel::startRun);
    connect(cancel_button_, &QPushButton::clicked, run_, &DomainRun::cancel);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    status_ = new QLabel(tr("Check the kinds of text to compare and press Run: each text goes through the model, "
                            "and the experts every token was sent to are counted."), this);
    status_->setObjectName(QStringLiteral("routing.domains.status"));
    status_->setWordWrap(true);
    error_ = new ErrorNotice(this);
    error_->setObjectName(QStringLiteral("routing.domains.error"));

    auto* column = new QWidget(this);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("Kinds of text (domains)"), column));
    layout->addWidget(domain_list_, 1);
    layout->addWidget(add_button);
    layout->addWidget(chunk_box_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_button_);
    buttons->addWidget(cancel_button_);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);
    layout->addWidget(error_);
    return column;
}

QWidget* DomainPanel::buildHeatmapColumn() {
    domain_box_ = new QComboBox(this);
    domain_box_->setObjectName(QStringLiteral("routing.domains.shown"));
    domain_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(domain_box_, &QComboBox::currentTextChanged, this, &DomainPanel::refreshHeatmap);
    heatmap_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, this);
    heatmap_->setObjectName(QStringLiteral("routing.domains.heatmap"));
    auto* exports = new ExportBar(this);
    exports->addCsvTarget(tr("this domain"), QStringLiteral("domain-routing"),
                          [this](const QString& p, QString* e) { return exportDomainCsv(p, e); });
    exports->addCsvTarget(tr("all domains (domain, layer, expert, tokens)"), QStringLiteral("domains-routing"),
                          [this](const QString& p, QString* e) { return exportAllDomainsCsv(p, e); });
    exports->addPngTarget(tr("this domain's heatmap"), QStringLiteral("domain-routing"),
                          [this](const QString& p, QString* e) { return exportPng(p, e); });
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setObjectName(QStringLiteral("routing.domains.summary"));
    stale_ = new QLabel(this);
    stale_->setObjectName(QStringLiteral("routing.domains.stale"));
    stale_->setWordWrap(true);
    stale_->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; padding: 4px;"));
    stale_->hide();

    auto* column = new QWidget(this);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Domain:"), column));
    controls->addWidget(domain_box_);
    add_heatmap_view_controls(controls, heatmap_, column);
    controls->addStretch(1);
    controls->addWidget(exports);
    layout->addLayout(controls);
    layout->addWidget(stale_);
    layout->addWidget(heatmap_, 1);
    layout->addWidget(summary_);
    return column;
}

void DomainPanel::rebuildDomainList() {
    const QSignalBlocker block(domain_list_);
    domain_list_->clear();
    for (const DomainCorpus& d : domains_) {
        auto* item = new QListWidgetItem(
            tr("%1  (%2 files, %3 characters)").arg(d.name).arg(d.texts.size()).arg(d.characters()), domain_list_);
        item->setData(Qt::UserRole, d.name);
        item->setToolTip(d.sources.join(QLatin1Char('\n')));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(checked_.contains(d.name) ? Qt::Checked : Qt::Unchecked);
    }
}

bool DomainPanel::addFile(const QString& path, const QString& domain, QString* error) {
    QString text;
    if (!readTextFile(path, &text, error)) return false;
    const QString name = domain.trimmed().isEmpty() ? QFileInfo(path).completeBaseName() : domain.trimmed();
    auto it = std::find_if(domains_.begin(), domains_.end(), [&](const DomainCorpus& d) { return d.name == name; });
    if (it == domains_.end()) {
        domains_ << DomainCorpus{name, {path}, {text}};
    } else {
        it->sources << path;
        it->texts << text;
    }
    if (!checked_.contains(name)) checked_ << name;
    rebuildDomainList();
    return true;
}

void DomainPanel::onAddFileClicked() {
    const QStringList paths = QFileDialog::getOpenFileNames(this, tr("Add text files as domains"), QString(),
                                                            tr("Text files (*.txt *.md *.py *.cpp *.h *.json);;All files (*)"));
    for (const QString& path : paths) {
        QStringList choices{tr("%1 (new domain)").arg(QFileInfo(path).completeBaseName())};
        for (const DomainCorpus& d : domains_) choices << d.name;
        bool ok = false;
        const QString choice = QInputDialog::getItem(this, tr("Domain for %1").arg(QFileInfo(path).fileName()),
                                                     tr("Add the file to domain (or type a new name):"), choices, 0,
                                                     true, &ok);
        if (!ok) continue;
        QString error;
        const QString domain = choice == choices[0] ? QString() : choice;
        if (!addFile(path, domain, &error)) QMessageBox::warning(this, tr("Cannot add file"), error);
    }
}

void DomainPanel::setDomainChecked(const QString& domain, bool checked) {
    checked_.removeAll(domain);
    if (checked) checked_ << domain;
    for (int i = 0; i < domain_list_->count(); ++i) {
        QListWidgetItem* item = domain_list_->item(i);
        if (item->data(Qt::UserRole).toString() != domain) continue;
        const QSignalBlocker block(domain_list_);
        item->setCheckState(checked ? Qt::Checked : Qt::Unchecked);
    }
}

QStringList DomainPanel::checkedDomains() const {
    QStringList names;
    for (const DomainCorpus& d : domains_)
        if (checked_.contains(d.name)) names << d.name;
    return names;
}

void DomainPanel::setTokensPerChunk(int tokens) { chunk_box_->setValue(tokens); }

bool DomainPanel::startRun() {
    QVector<DomainCorpus> chosen;
    for (const DomainCorpus& d : domains_)
        if (checked_.contains(d.name)) chosen << d;
    if (chosen.isEmpty()) {
        status_->setText(tr("Check at least one domain to run."));
        return false;
    }
    client_->refreshModels();  // learns n_routed_experts, so experts never hit still get a column
    error_->clear();
    run_button_->setEnabled(false);
    cancel_button_->setEnabled(true);
    domain_box_->clear();
    for (const DomainCorpus& d : chosen) domain_box_->addItem(d.name);
    run_->start(chosen, chunk_box_->value(), n_experts_);
    return true;
}

void DomainPanel::onModels(const QJsonArray& models) {
    if (models.isEmpty()) return;
    n_experts_ = models.first().toObject().value(QStringLiteral("n_routed_experts")).toInt();
}

void DomainPanel::onProgress(qint64 done, qint64 total, const QString& domain) {
    progress_->setRange(0, 1000);
    progress_->setValue(total > 0 ? int(done * 1000 / total) : 0);
    if (domain.isEmpty()) return;
    status_->setText(tr("Sending “%1” through the model: piece %2, %3% of all the text done")
                         .arg(domain)
                         .arg(run_->chunksDone() + 1)
                         .arg(total > 0 ? done * 100 / total : 0));
}

void DomainPanel::onFinished(bool completed, const QString& message) {
    run_button_->setEnabled(true);
    cancel_button_->setEnabled(false);
    status_->setText(message);
    if (completed) progress_->setValue(progress_->maximum());
    refreshHeatmap();
    refreshStale();
}

void DomainPanel::showDomain(const QString& domain) { domain_box_->setCurrentText(domain); }
QString DomainPanel::shownDomain() const { return domain_box_->currentText(); }
QString DomainPanel::status() const { return status_->text(); }

void DomainPanel::refreshHeatmap() {
    const LayerExpertCounts* counts = run_->results().find(shownDomain());
    if (!counts || counts->layers == 0) {
        heatmap_->setEmptyMessage(run_->isRunning()
                                      ? tr("Waiting for the first piece of “%1”…").arg(shownDomain())
                                      : tr("Press Run: the checked kinds of text go through the model, and one heatmap "
                                           "per kind shows here which experts its tokens were sent to."));
        summary_->clear();
        return;
    }
    heatmap_->setEmptyMessage(QString());
    LayerExpertCounts shown = *counts;
    shown.ensureExperts(n_experts_);
    heatmap_->setData(shown.toHeatmap(tr("tokens sent to the expert")));
    // The invariant, checked on what arrived: every expert layer counted each token top_k times.
    QStringList broken;
    for (int l : shown.moe_layers)
        if (shown.layerSum(l) != shown.layer_tokens[l] * shown.top_k) broken << QString::number(l);
    const QString check = broken.isEmpty()
                              ? tr("every layer counted each token %1 times, as it should").arg(shown.top_k)
                              : tr("layers %1 did not count each token %2 times: the server's routing is incomplete")
                                    .arg(broken.join(QStringLiteral(", ")))
                                    .arg(shown.top_k);
    summary_->setText(tr("“%1” through %2: %L3 tokens, each sent to %4 experts in each of %5 expert layers · %6")
                          .arg(shownDomain(), run_->resultsModel().isEmpty() ? tr("the model") : run_->resultsModel())
                          .arg(shown.tokens)
                          .arg(shown.top_k)
                          .arg(shown.moe_layers.size())
                          .arg(check));
}

void DomainPanel::refreshStale() {
    stale_->setText(staleText());
    stale_->setVisible(!stale_->text().isEmpty());
}

QString DomainPanel::staleText() const {
    if (!run_->resultsAreStale()) return {};
    const QString loaded = run_->loadedModel().isEmpty() ? tr("no model is loaded now")
                                                         : tr("the loaded model is now %1").arg(run_->loadedModel());
    return tr("These results are from %1; %2. Press Run to route the domains through it.")
        .arg(run_->resultsModel().isEmpty() ? tr("an earlier model") : run_->resultsModel(), loaded);
}

QString DomainPanel::summary() const { return summary_->text(); }
QString DomainPanel::errorText() const { return error_->fullText(); }

bool DomainPanel::exportDomainCsv(const QString& path, QString* error) { return heatmap_->saveCsv(path, error); }
bool DomainPanel::exportPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }

bool DomainPanel::exportAllDomainsCsv(const QString& path, QString* error) const {
    viz::CsvTable table;
    table.header = {QStringLiteral("domain"), QStringLiteral("layer"), QStringLiteral("expert"), QStringLiteral("hits"),
                    QStringLiteral("layer_tokens")};
    const DomainRoutingResults& results = run_->results();
    for (int d = 0; d < results.domains.size(); ++d) {
        const LayerExpertCounts& c = results.counts[d];
        for (int l : c.moe_layers)
            for (int e = 0; e < c.n_experts; ++e)
                table.rows << QStringList{results.domains[d], QString::number(l), QString::number(e),
                                          QString::number(c.at(l, e)), QString::number(c.layer_tokens[l])};
    }
    return viz::writeCsv(path, table, error);
}

}  // namespace moe::ui
