#include "adaptive_splitter.h"

#include <QResizeEvent>

#include <algorithm>

namespace moe::ui {

AdaptiveSplitter::AdaptiveSplitter(int breakpoint_px, QWidget* parent)
    : QSplitter(Qt::Horizontal, parent), breakpoint_(breakpoint_px) {
    setChildrenCollapsible(false);
}

QSize AdaptiveSplitter::minimumSizeHint() const {
    int width = 0, height = 0, shown = 0;
    for (int i = 0; i < count(); ++i) {
        const QWidget* pane = widget(i);
        if (pane->isHidden()) continue;
        const QSize min = pane->minimumSizeHint().expandedTo(pane->minimumSize());
        width = std::max(width, min.width());
        height += min.height();
        ++shown;
    }
    height += std::max(0, shown - 1) * handleWidth();
    const QMargins m = contentsMargins();
    return QSize(width + m.left() + m.right(), height + m.top() + m.bottom());
}

void AdaptiveSplitter::resizeEvent(QResizeEvent* event) {
    const Qt::Orientation wanted = event->size().width() >= breakpoint_ ? Qt::Horizontal : Qt::Vertical;
    if (wanted != orientation()) setOrientation(wanted);
    QSplitter::resizeEvent(event);
}

}  // namespace moe::ui
