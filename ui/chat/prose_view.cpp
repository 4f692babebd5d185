#include "prose_view.h"

#include <QAbstractTextDocumentLayout>
#include <QResizeEvent>

namespace moe::ui {

ProseView::ProseView(QWidget* parent) : QTextBrowser(parent) {
    setReadOnly(true);
    setFrameShape(QFrame::NoFrame);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setOpenExternalLinks(true);
    setStyleSheet(QStringLiteral("QTextBrowser { background: transparent; }"));
    document()->setDocumentMargin(2);
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            &ProseView::fitHeight);
}

QSize ProseView::sizeHint() const { return {QTextBrowser::sizeHint().width(), height()}; }
QSize ProseView::minimumSizeHint() const { return {40, height()}; }

void ProseView::resizeEvent(QResizeEvent* event) {
    QTextBrowser::resizeEvent(event);
    if (event->size().width() != event->oldSize().width()) fitHeight();
}

void ProseView::fitHeight() {
    document()->setTextWidth(viewport()->width());
    const int h = int(std::ceil(document()->size().height())) + 2 * frameWidth();
    if (h != height()) setFixedHeight(h);
}

}  // namespace moe::ui
