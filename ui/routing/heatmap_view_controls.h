// The view controls every expert-count heatmap offers (live load, per-domain): the colour scale
// (Linear / Log) and "Shares per layer" (each layer's row normalised to sum to 1).
#pragma once

class QHBoxLayout;
class QWidget;

namespace moe::viz {
class HeatmapWidget;
}

namespace moe::ui {

// Appends the two controls to `row`, wired to `heatmap` (they change only how it is drawn, never the
// counts, so the panel need not hear about them). Both are children of `parent`.
void add_heatmap_view_controls(QHBoxLayout* row, viz::HeatmapWidget* heatmap, QWidget* parent);

}  // namespace moe::ui
