// The two colour gradients every heatmap uses. Sequential: dark blue → green → yellow (viridis-like,
// perceptually ordered, readable in grey) for counts and loads. Diverging: blue → white → red,
// centred at 0, for signed scores (specialisation, routing bias). NaN cells ("no data") are grey.
// Curves (time series) take their colours from seriesColour().
#pragma once

#include <QColor>

class QCPColorGradient;

namespace moe::viz {

inline const QColor kNoDataColour(208, 208, 208);

QCPColorGradient sequentialGradient();
QCPColorGradient divergingGradient();

// The colour of the i-th curve of a plot: Okabe and Ito's colour-blind-safe set (yellow left out:
// it vanishes on white), repeating after seven.
QColor seriesColour(int index);

}  // namespace moe::viz
