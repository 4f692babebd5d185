// Ticks for an axis that counts things (experts, layers, token positions): only whole numbers, never
// "2.5", at a step of 1, 2 or 5 × 10^k chosen from the axis's pixel length so labels never crowd.
// Sub-ticks are off (they would sit between two experts).
#pragma once

#include <qcustomplot.h>

namespace moe::viz {

class IndexTicker : public QCPAxisTicker {
public:
    // axis: the axis this ticker serves (its pixel length picks the step); min_spacing_px: the least
    // distance between two labelled ticks.
    IndexTicker(QCPAxis* axis, int min_spacing_px);

    // The step for `count` indices over `pixels` pixels with labels at least min_spacing_px apart.
    static int stepFor(double pixels, double count, int min_spacing_px);

protected:
    double getTickStep(const QCPRange& range) override;
    int getSubTickCount(double tick_step) override;
    QString getTickLabel(double tick, const QLocale& locale, QChar format_char, int precision) override;

private:
    QCPAxis* axis_;
    int min_spacing_px_;
};

}  // namespace moe::viz
