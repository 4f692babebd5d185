// Base of every viz widget: a QCustomPlot whose replots are coalesced. Setters only store the latest
// data and mark the widget dirty; a ~30 Hz single-shot timer applies the data and asks for a queued
// replot (rpQueuedReplot), so a burst of updates (telemetry, a per-domain run) costs at most one
// replot per frame and the GUI thread never redraws faster than the eye can follow.
// setEmptyMessage() puts a sentence saying why there is nothing to show in place of the data.
#pragma once

#include <QSize>
#include <QTimer>
#include <QWidget>

class QCustomPlot;
class QGridLayout;
class QLabel;

namespace moe::viz {

class CoalescedPlot : public QWidget {
    Q_OBJECT
public:
    static constexpr int kFrameIntervalMs = 33;  // ~30 Hz

    explicit CoalescedPlot(QWidget* parent = nullptr);
    ~CoalescedPlot() override;

    QCustomPlot* plot() const { return plot_; }
    int replotCount() const { return replot_count_; }  // replots done so far (tests, diagnostics)
    bool isDirty() const { return dirty_; }

    // Applies pending data now (no waiting for the frame timer); export and tests use it.
    void flush();

    // Empty state: a non-empty message hides the data and says, in its place, why there is none
    // and what to do; "" shows the data again.
    void setEmptyMessage(const QString& message);
    QString emptyMessage() const { return empty_message_; }
    bool isShowingEmptyMessage() const;

    // Renders the plot to a PNG file. width/height 0 = the widget's size (at least 800 × 500 so an
    // export from a hidden or tiny dock is still readable). False + *error naming the file on failure.
    bool savePng(const QString& path, int width = 0, int height = 0, QString* error = nullptr);

protected:
    // Subclasses store their data, then call markDirty(); applyData() moves it into the plottables.
    void markDirty();
    virtual void applyData() = 0;
    // An export draws everything (e.g. every column of a heatmap that scrolls on screen): called
    // around the PNG rendering.
    virtual void beginExport() {}
    virtual void endExport() {}
    // The plot sits at (0, 0); subclasses may put scroll bars beside (0, 1) or below (1, 0) it.
    QGridLayout* grid() const { return grid_; }

    void resizeEvent(QResizeEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void onFrame();
    void placeEmptyLabel();

    QCustomPlot* plot_ = nullptr;
    QGridLayout* grid_ = nullptr;
    QTimer frame_timer_;
    bool dirty_ = false;
    QLabel* empty_label_ = nullptr;
    QString empty_message_;
    QSize laid_out_size_;  // the axis rect's size at the last layout
    int replot_count_ = 0;
};

}  // namespace moe::viz
