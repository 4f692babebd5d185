#include "colour_gradients.h"

#include <qcustomplot.h>

namespace moe::viz {

static void markNoData(QCPColorGradient& gradient) {
    gradient.setNanHandling(QCPColorGradient::nhNanColor);
    gradient.setNanColor(kNoDataColour);
}

QCPColorGradient sequentialGradient() {
    // Stops sampled from matplotlib's viridis (CC0), so counts read the same as in the usual tools.
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.00, QColor(68, 1, 84));
    gradient.setColorStopAt(0.25, QColor(59, 82, 139));
    gradient.setColorStopAt(0.50, QColor(33, 145, 140));
    gradient.setColorStopAt(0.75, QColor(94, 201, 98));
    gradient.setColorStopAt(1.00, QColor(253, 231, 37));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setLevelCount(256);
    markNoData(gradient);
    return gradient;
}

QCPColorGradient divergingGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(33, 102, 172));
    gradient.setColorStopAt(0.25, QColor(146, 197, 222));
    gradient.setColorStopAt(0.5, QColor(247, 247, 247));
    gradient.setColorStopAt(0.75, QColor(244, 165, 130));
    gradient.setColorStopAt(1.0, QColor(178, 24, 43));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setLevelCount(256);
    markNoData(gradient);
    return gradient;
}

}  // namespace moe::viz
