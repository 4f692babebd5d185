#include "heatmap_view_controls.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>

#include "heatmap_widget.h"

namespace moe::ui {

void add_heatmap_view_controls(QHBoxLayout* row, viz::HeatmapWidget* heatmap, QWidget* parent) {
    auto* scale = new QComboBox(parent);
    scale->addItems({QObject::tr("Linear colours"), QObject::tr("Log colours")});
    scale->setToolTip(QObject::tr("Log colours tell rarely used experts apart next to busy ones (unused ones turn grey)"));
    QObject::connect(scale, &QComboBox::currentIndexChanged, heatmap, [heatmap](int index) {
        heatmap->setScale(index == 0 ? viz::HeatmapWidget::Scale::Linear : viz::HeatmapWidget::Scale::Log);
    });
    auto* shares = new QCheckBox(QObject::tr("As % of the layer"), parent);
    shares->setToolTip(QObject::tr("Show each expert's part of its layer's tokens instead of counts (each row adds up to 100%)"));
    QObject::connect(shares, &QCheckBox::toggled, heatmap, &viz::HeatmapWidget::setRowNormalised);
    row->addWidget(scale);
    row->addWidget(shares);
}

}  // namespace moe::ui
