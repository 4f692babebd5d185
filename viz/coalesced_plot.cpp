#include "coalesced_plot.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QResizeEvent>
#include <qcustomplot.h>

#include <algorithm>

namespace moe::viz {

CoalescedPlot::CoalescedPlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    grid_ = new QGridLayout(this);
    grid_->setContentsMargins(0, 0, 0, 0);
    grid_->setSpacing(0);
    grid_->addWidget(plot_, 0, 0);
    frame_timer_.setSingleShot(true);
    frame_timer_.setInterval(kFrameIntervalMs);
    connect(&frame_timer_, &QTimer::timeout, this, &CoalescedPlot::onFrame);
    connect(plot_, &QCustomPlot::afterReplot, this, [this] { ++replot_count_; });
    // Ticks are made before a replot lays the axes out at a new size (QCustomPlot's update order), so
    // after a resize they would be spaced for the old size: one more replot spaces them for this one.
    connect(plot_, &QCustomPlot::afterLayout, this, [this] {
        const QSize size = plot_->axisRect()->rect().size();
        if (size == laid_out_size_) return;
        laid_out_size_ = size;
        plot_->replot(QCustomPlot::rpQueuedReplot);
    });
    empty_label_ = new QLabel(plot_);
    empty_label_->setObjectName(QStringLiteral("plotEmptyMessage"));
    empty_label_->setWordWrap(true);
    empty_label_->setAlignment(Qt::AlignCenter);
    empty_label_->setStyleSheet(QStringLiteral(
        "QLabel { background: palette(window); color: palette(window-text); border: 1px solid palette(mid);"
        " border-radius: 4px; padding: 12px; }"));
    empty_label_->hide();
    plot_->installEventFilter(this);
}

void CoalescedPlot::setEmptyMessage(const QString& message) {
    if (message == empty_message_) return;
    empty_message_ = message;
    empty_label_->setText(message);
    empty_label_->setVisible(!message.isEmpty());
    placeEmptyLabel();
    markDirty();
}

bool CoalescedPlot::isShowingEmptyMessage() const { return !empty_message_.isEmpty() && !empty_label_->isHidden(); }

void CoalescedPlot::placeEmptyLabel() {
    if (empty_message_.isEmpty()) return;
    const QRect area = plot_->rect();
    const int width = std::min(area.width() - 20, 460);
    empty_label_->setFixedWidth(std::max(width, 120));
    empty_label_->adjustSize();
    empty_label_->move(area.center() - QPoint(empty_label_->width() / 2, empty_label_->height() / 2));
    empty_label_->raise();
}

void CoalescedPlot::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    placeEmptyLabel();
    markDirty();
}

bool CoalescedPlot::eventFilter(QObject* watched, QEvent* event) {
    if (watched == plot_ && event->type() == QEvent::Resize) placeEmptyLabel();
    return QWidget::eventFilter(watched, event);
}

CoalescedPlot::~CoalescedPlot() = default;

void CoalescedPlot::markDirty() {
    dirty_ = true;
    if (!frame_timer_.isActive()) frame_timer_.start();
}

void CoalescedPlot::onFrame() {
    if (!dirty_) return;
    dirty_ = false;
    applyData();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CoalescedPlot::flush() {
    frame_timer_.stop();
    if (!dirty_) return;
    dirty_ = false;
    applyData();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool CoalescedPlot::savePng(const QString& path, int width, int height, QString* error) {
    flush();
    const int w = width > 0 ? width : std::max(plot_->width(), 800);
    const int h = height > 0 ? height : std::max(plot_->height(), 500);
    const QFileInfo info(path);
    if (!info.absoluteDir().exists()) {
        if (error) *error = QStringLiteral("cannot write PNG file %1: folder %2 does not exist")
                                .arg(path, info.absolutePath());
        return false;
    }
    // savePng lays the plot out at the export size and draws it there, independent of the screen.
    beginExport();
    const bool written = plot_->savePng(path, w, h);
    endExport();
    if (!written) {
        if (error) *error = QStringLiteral("cannot write PNG file %1: rendering or writing failed").arg(path);
        return false;
    }
    return true;
}

}  // namespace moe::viz
