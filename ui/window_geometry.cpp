#include "window_geometry.h"

#include <algorithm>

namespace moe::ui {

QRect defaultWindowGeometry(const QRect& available) {
    if (available.width() <= kFillScreenUpTo.width() || available.height() <= kFillScreenUpTo.height())
        return available;
    QRect frame(QPoint(0, 0), QSize(int(available.width() * kLargeScreenShare), int(available.height() * kLargeScreenShare)));
    frame.moveCenter(available.center());
    return frame;
}

QRect clampedToScreen(const QRect& frame, const QRect& available) {
    QRect out = frame;
    out.setWidth(std::min(frame.width(), available.width()));
    out.setHeight(std::min(frame.height(), available.height()));
    out.moveLeft(std::clamp(out.left(), available.left(), available.right() + 1 - out.width()));
    out.moveTop(std::clamp(out.top(), available.top(), available.bottom() + 1 - out.height()));
    return out;
}

}  // namespace moe::ui
