#include "index_ticker.h"

#include <algorithm>
#include <cmath>

namespace moe::viz {

IndexTicker::IndexTicker(QCPAxis* axis, int min_spacing_px) : axis_(axis), min_spacing_px_(min_spacing_px) {}

int IndexTicker::stepFor(double pixels, double count, int min_spacing_px) {
    if (pixels <= 0 || count <= 0) return 1;
    const double least = min_spacing_px * count / pixels;  // indices that fit between two labels
    // 1, 2, 5, 10, 20, 50, ...: the smallest of these that leaves enough room.
    for (double decade = 1;; decade *= 10)
        for (int mantissa : {1, 2, 5})
            if (mantissa * decade >= least || mantissa * decade >= 1e9) return int(mantissa * decade);
}

double IndexTicker::getTickStep(const QCPRange& range) {
    const QRect rect = axis_->axisRect()->rect();
    const double pixels = axis_->orientation() == Qt::Horizontal ? rect.width() : rect.height();
    return stepFor(pixels, range.size(), min_spacing_px_);
}

int IndexTicker::getSubTickCount(double) { return 0; }

QString IndexTicker::getTickLabel(double tick, const QLocale&, QChar, int) {
    return QString::number(qint64(std::llround(tick)));
}

}  // namespace moe::viz
