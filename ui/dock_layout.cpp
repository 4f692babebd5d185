#include "dock_layout.h"

#include <QDockWidget>
#include <QMainWindow>
#include <QMap>
#include <QTabBar>

namespace moe::ui {

const QList<DockSlot>& defaultDockSlots() {
    // Tab order within a group is the order here.
    static const QList<DockSlot> table = {
        {"chatDock", DockGroup::Conversation, true},
        {"modelsDock", DockGroup::Conversation, false},
        {"finetuneDock", DockGroup::Conversation, false},
        {"routing.live", DockGroup::Analysis, true},
        {"routing.tokens", DockGroup::Analysis, false},
        {"routing.domains", DockGroup::Analysis, false},
        {"routing.specialisation", DockGroup::Analysis, false},
        {"routing.bias", DockGroup::Analysis, false},
        {"mtpDock", DockGroup::Analysis, false},
        {"engineLogDock", DockGroup::Log, false},
    };
    return table;
}

namespace {

struct Group {
    QList<QDockWidget*> docks;
    QDockWidget* front = nullptr;
};

Qt::DockWidgetArea areaOf(DockGroup group) {
    switch (group) {
    case DockGroup::Conversation: return Qt::LeftDockWidgetArea;
    case DockGroup::Analysis: return Qt::RightDockWidgetArea;
    case DockGroup::Log: return Qt::BottomDockWidgetArea;
    }
    return Qt::RightDockWidgetArea;
}

QMap<DockGroup, Group> groupDocks(const QList<QDockWidget*>& docks, bool log_below) {
    QMap<DockGroup, Group> groups;
    QList<QDockWidget*> placed;
    for (const DockSlot& slot : defaultDockSlots()) {
        for (QDockWidget* dock : docks) {
            if (dock->objectName() != QLatin1String(slot.object_name)) continue;
            const DockGroup group = slot.group == DockGroup::Log && !log_below ? DockGroup::Conversation : slot.group;
            groups[group].docks << dock;
            if (slot.in_front) groups[group].front = dock;
            placed << dock;
        }
    }
    for (QDockWidget* dock : docks)
        if (!placed.contains(dock)) groups[DockGroup::Analysis].docks << dock;
    return groups;
}

}  // namespace

void applyDefaultDockLayout(QMainWindow* window, const QList<QDockWidget*>& docks, const QSize& screen) {
    const bool log_below = screen.height() >= kLogBelowMinScreenHeightPx;
    const QMap<DockGroup, Group> groups = groupDocks(docks, log_below);
    for (QDockWidget* dock : docks) {
        dock->setFloating(false);
        window->removeDockWidget(dock);
    }
    for (auto it = groups.begin(); it != groups.end(); ++it) {
        const QList<QDockWidget*>& members = it->docks;
        if (members.isEmpty()) continue;
        window->addDockWidget(areaOf(it.key()), members.first());
        members.first()->show();
        for (int i = 1; i < members.size(); ++i) {
            window->tabifyDockWidget(members.first(), members[i]);
            members[i]->show();
        }
        (it->front ? it->front : members.first())->raise();
    }
    const Group left = groups.value(DockGroup::Conversation);
    const Group right = groups.value(DockGroup::Analysis);
    if (!left.docks.isEmpty() && !right.docks.isEmpty()) {
        const int conversation = int(window->width() * kConversationWidthShare);
        window->resizeDocks({left.docks.first(), right.docks.first()}, {conversation, window->width() - conversation},
                            Qt::Horizontal);
    }
    const Group log = groups.value(DockGroup::Log);
    if (!log.docks.isEmpty()) window->resizeDocks({log.docks.first()}, {kLogHeightPx}, Qt::Vertical);
    polishDockTabBars(window);
}

void polishDockTabBars(QMainWindow* window) {
    for (QTabBar* bar : window->findChildren<QTabBar*>(QString(), Qt::FindDirectChildrenOnly)) {
        bar->setElideMode(Qt::ElideNone);
        bar->setUsesScrollButtons(true);
        bar->setExpanding(false);
    }
}

}  // namespace moe::ui
