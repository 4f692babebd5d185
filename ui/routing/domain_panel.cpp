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
#include <QSplitter>
#include <QVBoxLayout>

#include "csv_writer.h"
#include "heatmap_view_controls.h"
#include "export_bar.h"
#include "heatmap_widget.h"

namespace moe::ui {

DomainPanel::DomainPanel(EngineClient* client, QWidget* parent)
    : QWidget(parent), client_(client), run_(new DomainRun(client, this)) {
    domains_ = builtinDomains();
    for (const DomainCorpus& d : domains_) checked_ << d.name;
    buildUi();
    rebuildDomainList();
    connect(run_, &DomainRun::progress, this, &DomainPanel::onProgress);
    connect(run_, &DomainRun::finished, this, &DomainPanel::onFinished);
    connect(run_, &DomainRun::resultsChanged, this, &DomainPanel::refreshHeatmap);
    connect(client_, &EngineClient::modelsChanged, this, &DomainPanel::onModels);
}

void DomainPanel::buildUi() {
    auto* splitter = new QSplitter(this);
    splitter->addWidget(buildDomainColumn());
    splitter->addWidget(buildHeatmapColumn());
    splitter->setStretchFactor(1, 1);
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
    chunk_box_->setSuffix(tr(" tokens/chunk"));
    chunk_box_->setToolTip(tr("Chunks are cut at whitespace, sized first by an estimate (~4 characters or 1 CJK "
                              "character per token), then by the server's own token counts; the routing "
                              "counts always use the server's tokens."));
    run_button_ = new QPushButton(tr("Run"), this);
    cancel_button_ = new QPushButton(tr("Cancel"), this);
    cancel_button_->setEnabled(false);
    connect(run_button_, &QPushButton::clicked, this, &DomainPanel::startRun);
    connect(cancel_button_, &QPushButton::clicked, run_, &DomainRun::cancel);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    status_ = new QLabel(tr("Pick domains and press Run: each chunk goes to the model as one "
                            "1-token completion and its routing is counted."), this);
    status_->setWordWrap(true);

    auto* column = new QWidget(this);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("Domains"), column));
    layout->addWidget(domain_list_, 1);
    layout->addWidget(add_button);
    layout->addWidget(chunk_box_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_button_);
    buttons->addWidget(cancel_button_);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);
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
    exports->addCsvTarget(tr("all domains (domain, layer, expert, hits)"), QStringLiteral("domains-routing"),
                          [this](const QString& p, QString* e) { return exportAllDomainsCsv(p, e); });
    exports->addPngTarget(tr("this domain's heatmap"), QStringLiteral("domain-routing"),
                          [this](const QString& p, QString* e) { return exportPng(p, e); });
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setObjectName(QStringLiteral("routing.domains.summary"));

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
    status_->setText(tr("Routing domain %1 · chunk %2 · %3% of the text · %4 server tokens per estimated token")
                         .arg(domain)
                         .arg(run_->chunksDone() + 1)
                         .arg(total > 0 ? done * 100 / total : 0)
                         .arg(run_->tokensPerEstimate(), 0, 'f', 2));
}

void DomainPanel::onFinished(bool completed, const QString& message) {
    run_button_->setEnabled(true);
    cancel_button_->setEnabled(false);
    status_->setText(message);
    if (completed) progress_->setValue(progress_->maximum());
    refreshHeatmap();
}

void DomainPanel::showDomain(const QString& domain) { domain_box_->setCurrentText(domain); }
QString DomainPanel::shownDomain() const { return domain_box_->currentText(); }
QString DomainPanel::status() const { return status_->text(); }

void DomainPanel::refreshHeatmap() {
    const LayerExpertCounts* counts = run_->results().find(shownDomain());
    if (!counts || counts->layers == 0) {
        summary_->setText(run_->isRunning() ? tr("Waiting for the first chunk of this domain…") : QString());
        return;
    }
    LayerExpertCounts shown = *counts;
    shown.ensureExperts(n_experts_);
    heatmap_->setData(shown.toHeatmap(tr("hits")));
    // The invariant, checked on what arrived: every MoE layer's hits = its routed tokens × top_k.
    QStringList broken;
    for (int l : shown.moe_layers)
        if (shown.layerSum(l) != shown.layer_tokens[l] * shown.top_k) broken << QString::number(l);
    const QString check = broken.isEmpty() ? tr("every layer's hits = tokens × top-%1").arg(shown.top_k)
                                           : tr("hits ≠ tokens × top-k in layers %1").arg(broken.join(QStringLiteral(", ")));
    summary_->setText(tr("%1: %2 tokens routed (as the server returned them) · top-%3 · %4 MoE layers · %5")
                          .arg(shownDomain())
                          .arg(shown.tokens)
                          .arg(shown.top_k)
                          .arg(shown.moe_layers.size())
                          .arg(check));
}

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
