#include "coalesced_plot.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
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
