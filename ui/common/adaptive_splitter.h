// A QSplitter that puts its panes side by side when it is at least `breakpoint_px` wide and stacks
// them when narrower, so a two-pane view (search | repository, table | heatmap) stays usable in a
// narrow dock instead of squeezing both panes to slivers. Each change of orientation shares the length
// out again: panes with stretch factor 0 get their size hint, the others the rest by stretch.
#pragma once

#include <QSplitter>

namespace moe::ui {

class AdaptiveSplitter : public QSplitter {
    Q_OBJECT
public:
    explicit AdaptiveSplitter(int breakpoint_px, QWidget* parent = nullptr);
    int breakpoint() const { return breakpoint_; }
    // Width: the widest pane's, whatever the orientation (a side-by-side minimum, the widths added
    // up, would keep it from ever getting narrow enough to stack). Height: the panes' heights added
    // up when stacked, the tallest pane's side by side (in a scroll area, a stacked height while
    // side by side leaves a gap under the panes).
    QSize minimumSizeHint() const override;

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void distribute(int length);

    int breakpoint_;
};

}  // namespace moe::ui
