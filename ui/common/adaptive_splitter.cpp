#include "adaptive_splitter.h"

#include <QResizeEvent>

#include <algorithm>

namespace moe::ui {

AdaptiveSplitter::AdaptiveSplitter(int breakpoint_px, QWidget* parent)
    : QSplitter(Qt::Horizontal, parent), breakpoint_(breakpoint_px) {
    setChildrenCollapsible(false);
}

QSize AdaptiveSplitter::minimumSizeHint() const {
    const bool across = orientation() == Qt::Horizontal;
    int width = 0, height = 0, shown = 0;
    for (int i = 0; i < count(); ++i) {
        const QWidget* pane = widget(i);
        if (pane->isHidden()) continue;
        const QSize min = pane->minimumSizeHint().expandedTo(pane->minimumSize());
        width = std::max(width, min.width());
        height = across ? std::max(height, min.height()) : height + min.height();
        ++shown;
    }
    if (!across) height += std::max(0, shown - 1) * handleWidth();
    const QMargins m = contentsMargins();
    return QSize(width + m.left() + m.right(), height + m.top() + m.bottom());
}

void AdaptiveSplitter::resizeEvent(QResizeEvent* event) {
    const Qt::Orientation wanted = event->size().width() >= breakpoint_ ? Qt::Horizontal : Qt::Vertical;
    if (wanted == orientation()) {
        QSplitter::resizeEvent(event);
        return;
    }
    setOrientation(wanted);
    updateGeometry();  // the minimum height changes with the orientation
    QSplitter::resizeEvent(event);
    distribute(wanted == Qt::Horizontal ? event->size().width() : event->size().height());
}

// The sizes of the other orientation mean nothing here (a table's width is not a good height): a
// pane with stretch 0 gets its size hint, the others share the rest by their stretch factors.
void AdaptiveSplitter::distribute(int length) {
    const bool across = orientation() == Qt::Horizontal;
    QList<int> sizes(count(), 0);
    int fixed = 0, total_stretch = 0;
    for (int i = 0; i < count(); ++i) {
        const QSizePolicy policy = widget(i)->sizePolicy();
        const int stretch = across ? policy.horizontalStretch() : policy.verticalStretch();
        if (stretch > 0) {
            total_stretch += stretch;
            continue;
        }
        const QSize hint = widget(i)->sizeHint();
        sizes[i] = across ? hint.width() : hint.height();
        fixed += sizes[i];
    }
    const int rest = std::max(0, length - fixed - (count() - 1) * handleWidth());
    for (int i = 0; i < count(); ++i) {
        const QSizePolicy policy = widget(i)->sizePolicy();
        const int stretch = across ? policy.horizontalStretch() : policy.verticalStretch();
        if (total_stretch == 0) sizes[i] = length / count();
        else if (stretch > 0) sizes[i] = rest * stretch / total_stretch;
    }
    setSizes(sizes);
}

}  // namespace moe::ui
