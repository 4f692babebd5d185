#include "heatmap_view_controls.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>

#include "heatmap_widget.h"

namespace moe::ui {

void add_heatmap_view_controls(QHBoxLayout* row, viz::HeatmapWidget* heatmap, QWidget* parent) {
    auto* scale = new QComboBox(parent);
    scale->addItems({QObject::tr("Linear"), QObject::tr("Log")});
    QObject::connect(scale, &QComboBox::currentIndexChanged, heatmap, [heatmap](int index) {
        heatmap->setScale(index == 0 ? viz::HeatmapWidget::Scale::Linear : viz::HeatmapWidget::Scale::Log);
    });
    auto* shares = new QCheckBox(QObject::tr("Shares per layer"), parent);
    shares->setToolTip(QObject::tr("Each layer's row as the share of its hits (rows sum to 1)"));
    QObject::connect(shares, &QCheckBox::toggled, heatmap, &viz::HeatmapWidget::setRowNormalised);
    row->addWidget(scale);
    row->addWidget(shares);
}

}  // namespace moe::ui
