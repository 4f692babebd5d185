#include "specialisation_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSpinBox>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "adaptive_splitter.h"
#include "csv_writer.h"
#include "export_bar.h"
#include "heatmap_widget.h"

namespace moe::ui {

namespace {
constexpr int kSideBySidePx = 900;
}  // namespace

SpecialisationPanel::SpecialisationPanel(const DomainRun* run, QWidget* parent) : QWidget(parent), run_(run) {
    layer_box_ = new QSpinBox(this);
    layer_box_->setPrefix(tr("layer "));
    layer_box_->setRange(0, 0);
    layer_box_->setToolTip(tr("Which layer's experts to compare (each layer has its own experts)"));
    connect(layer_box_, &QSpinBox::valueChanged, this, &SpecialisationPanel::refresh);
    heatmap_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Diverging, this);
    heatmap_->setObjectName(QStringLiteral("routing.specialisation.heatmap"));
    top_list_ = new QTreeWidget(this);
    top_list_->setObjectName(QStringLiteral("routing.specialisation.top"));
    top_list_->setHeaderLabels({tr("domain / expert"), tr("preference"), tr("share of its tokens")});
    top_list_->headerItem()->setToolTip(1, tr("+1: this domain sends its tokens to the expert twice as often as the "
                                             "domains do on average; −1: half as often"));
    top_list_->headerItem()->setToolTip(2, tr("Of the domain's tokens in this layer, the share sent to this expert"));
    top_list_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    note_ = new QLabel(tr("Which experts each kind of text prefers in this layer. Red: the domain sends its tokens "
                          "to the expert more often than the domains do on average (+1 = twice as often); blue: "
                          "less often (−1 = half as often)."),
                       this);
    note_->setWordWrap(true);
    note_->setToolTip(tr("preference = log2(p_domain(e) / p_mean(e)): p_domain(e) is the share of the domain's "
                         "tokens in this layer sent to expert e (+%1 pseudo-counts per expert, so an unused expert "
                         "stays finite), p_mean(e) its mean over the domains.")
                          .arg(kSpecialisationPseudoCount));
    stale_ = new QLabel(this);
    stale_->setObjectName(QStringLiteral("routing.specialisation.stale"));
    stale_->setWordWrap(true);
    stale_->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; padding: 4px;"));
    stale_->hide();
    auto* exports = new ExportBar(this);
    exports->addCsvTarget(tr("scores of this layer"), QStringLiteral("specialisation"),
                          [this](const QString& p, QString* e) { return exportCsv(p, e); });
    exports->addCsvTarget(tr("top experts per domain"), QStringLiteral("top-experts"),
                          [this](const QString& p, QString* e) { return exportTopCsv(p, e); });
    exports->addPngTarget(tr("specialisation heatmap"), QStringLiteral("specialisation"),
                          [this](const QString& p, QString* e) { return exportPng(p, e); });

    auto* controls = new QHBoxLayout;
    controls->addWidget(layer_box_);
    controls->addStretch(1);
    controls->addWidget(exports);
    // The top experts beside the heatmap when there is room, below it in a narrow dock.
    auto* splitter = new AdaptiveSplitter(kSideBySidePx, this);
    splitter->setObjectName(QStringLiteral("routing.specialisation.splitter"));
    splitter->addWidget(heatmap_);
    splitter->addWidget(top_list_);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(stale_);
    layout->addWidget(splitter, 1);
    layout->addWidget(note_);
    connect(run_, &DomainRun::resultsChanged, this, &SpecialisationPanel::refresh);
    connect(run_, &DomainRun::loadedModelChanged, this, &SpecialisationPanel::refreshStale);
    connect(run_, &DomainRun::finished, this, &SpecialisationPanel::refreshStale);
    refresh();
}

QString SpecialisationPanel::staleText() const {
    if (!run_->resultsAreStale()) return {};
    const QString loaded = run_->loadedModel().isEmpty() ? tr("no model is loaded now")
                                                         : tr("the loaded model is now %1").arg(run_->loadedModel());
    return tr("These preferences are from %1; %2. Run the domains again (Per domain) to compare its experts.")
        .arg(run_->resultsModel().isEmpty() ? tr("an earlier model") : run_->resultsModel(), loaded);
}

void SpecialisationPanel::refreshStale() {
    stale_->setText(staleText());
    stale_->setVisible(!stale_->text().isEmpty());
}

void SpecialisationPanel::setLayer(int layer) { layer_box_->setValue(layer); }
int SpecialisationPanel::layer() const { return layer_box_->value(); }

void SpecialisationPanel::refresh() {
    const DomainRoutingResults& results = run_->results();
    // The layer range and a sensible first layer (the first MoE one) come from whatever domain has data.
    for (const LayerExpertCounts& c : results.counts) {
        if (c.moe_layers.isEmpty()) continue;
        if (layer_box_->maximum() != c.layers - 1) {
            const QSignalBlocker block(layer_box_);
            layer_box_->setRange(0, c.layers - 1);
            if (!c.isMoeLayer(layer_box_->value())) layer_box_->setValue(c.moe_layers.first());
        }
        break;
    }
    matrix_ = specialisation(results, layer());
    top_list_->clear();
    if (matrix_.domains.isEmpty()) {
        heatmap_->setData(viz::HeatmapData{});
        const bool some = run_->hasResults();
        const QString why = !some ? tr("Run at least two kinds of text in Per domain to compare which experts each prefers.")
                                  : tr("Layer %1 has no experts (or fewer than two domains reached it): pick another layer.")
                                        .arg(layer());
        heatmap_->setEmptyMessage(why);
        auto* item = new QTreeWidgetItem(top_list_, {why});
        item->setFirstColumnSpanned(true);
        return;
    }
    heatmap_->setEmptyMessage(QString());
    heatmap_->setData(matrix_.toHeatmap());
    for (int d = 0; d < matrix_.domains.size(); ++d) {
        auto* domain = new QTreeWidgetItem(top_list_, {matrix_.domains[d]});
        for (const ExpertPreference& p : topExperts(matrix_, d, kTopExperts))
            new QTreeWidgetItem(domain, {tr("expert %1").arg(p.expert), QString::number(p.score, 'f', 2),
                                         QStringLiteral("%1%").arg(p.share * 100, 0, 'f', 2)});
        domain->setExpanded(true);
    }
}

bool SpecialisationPanel::exportCsv(const QString& path, QString* error) { return heatmap_->saveCsv(path, error); }
bool SpecialisationPanel::exportPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }

bool SpecialisationPanel::exportTopCsv(const QString& path, QString* error) const {
    viz::CsvTable table;
    table.header = {QStringLiteral("layer"), QStringLiteral("domain"), QStringLiteral("rank"), QStringLiteral("expert"),
                    QStringLiteral("score_log2"), QStringLiteral("share")};
    for (int d = 0; d < matrix_.domains.size(); ++d) {
        int rank = 1;
        for (const ExpertPreference& p : topExperts(matrix_, d, kTopExperts))
            table.rows << QStringList{QString::number(matrix_.layer), matrix_.domains[d], QString::number(rank++),
                                      QString::number(p.expert), QString::number(p.score, 'g', 6),
                                      QString::number(p.share, 'g', 6)};
    }
    return viz::writeCsv(path, table, error);
}

}  // namespace moe::ui
