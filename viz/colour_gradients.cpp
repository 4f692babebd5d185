#include "colour_gradients.h"

#include <qcustomplot.h>

#include <initializer_list>

namespace moe::viz {

// Stops spread evenly over [0, 1], interpolated in RGB over 256 levels; NaN cells (no data) are drawn
// in kNoDataColour instead of the gradient's end colour.
static QCPColorGradient evenlySpacedGradient(std::initializer_list<QColor> stops) {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    const double last = double(stops.size() - 1);
    int i = 0;
    for (const QColor& colour : stops) gradient.setColorStopAt(i++ / last, colour);
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setLevelCount(256);
    gradient.setNanHandling(QCPColorGradient::nhNanColor);
    gradient.setNanColor(kNoDataColour);
    return gradient;
}

QCPColorGradient sequentialGradient() {
    // Stops sampled from matplotlib's viridis (CC0), so counts read the same as in the usual tools.
    return evenlySpacedGradient(
        {QColor(68, 1, 84), QColor(59, 82, 139), QColor(33, 145, 140), QColor(94, 201, 98), QColor(253, 231, 37)});
}

QCPColorGradient divergingGradient() {
    return evenlySpacedGradient(
        {QColor(33, 102, 172), QColor(146, 197, 222), QColor(247, 247, 247), QColor(244, 165, 130), QColor(178, 24, 43)});
}

QColor seriesColour(int index) {
    static const QColor kColours[] = {{0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
                                      {230, 159, 0}, {86, 180, 233}, {0, 0, 0}};
    constexpr int n = int(sizeof kColours / sizeof kColours[0]);
    return kColours[((index % n) + n) % n];
}

}  // namespace moe::viz
