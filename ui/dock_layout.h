// The window's default arrangement, in one place. Every dock (keyed by objectName) belongs to a
// group — a side of the window whose docks share one set of tabs — in a fixed tab order, and one
// dock per group is in front. A newcomer starts with the chat on the left and the live expert-load
// heatmap beside it. A new dock gets one line in kDockSlots (dock_layout.cpp); a dock without a line
// joins the analysis tabs at the end.
#pragma once

#include <QList>
#include <QSize>
#include <QString>

class QDockWidget;
class QMainWindow;

namespace moe::ui {

enum class DockGroup {
    Conversation,  // left: chat, models, fine-tune
    Analysis,      // right: the routing views
    Log,           // below on tall screens; else a tab behind the conversation group
};

struct DockSlot {
    const char* object_name;
    DockGroup group;
    bool in_front;  // the tab shown first in its group
};

// The table itself (tests read it: every dock of the window must have a slot or land in Analysis).
const QList<DockSlot>& defaultDockSlots();

// Below this available screen height the log goes into the conversation tabs instead of a strip
// under everything (it would take a sixth of a 768-pixel-high laptop screen).
inline constexpr int kLogBelowMinScreenHeightPx = 1000;
inline constexpr int kLogHeightPx = 150;
// The conversation group's share of the window's width (the rest is the analysis group: at 1366 px
// that still leaves 64 experts more than 6 px each).
inline constexpr double kConversationWidthShare = 0.57;

// Puts every dock of `docks` where the table says (docked, shown, tabbed in order, the front tab
// raised) and sizes the groups for the window's current size. `screen` is the available size of
// the window's screen. Call with the window shown (dock sizes need a laid-out window).
void applyDefaultDockLayout(QMainWindow* window, const QList<QDockWidget*>& docks, const QSize& screen);

// The dock tab bars show whole titles and scroll when they do not fit, instead of eliding each
// title to a few letters. Tab bars are made as docks are tabified: call after every change.
void polishDockTabBars(QMainWindow* window);

}  // namespace moe::ui
