#include "routing_docks.h"

#include "bias_panel.h"
#include "domain_panel.h"
#include "live_heatmap_panel.h"
#include "specialisation_panel.h"

namespace moe::ui {

namespace {

QDockWidget* dock(const QString& object_name, const QString& title, QWidget* panel, QWidget* parent) {
    auto* d = new QDockWidget(title, parent);
    d->setObjectName(object_name);  // QMainWindow::saveState needs it to remember the layout
    panel->setObjectName(object_name + QStringLiteral(".panel"));
    panel->setParent(d);
    d->setWidget(panel);
    return d;
}

}  // namespace

QList<QDockWidget*> createRoutingDocks(EngineClient* client, QWidget* parent, TokenExplorerPanel** explorer) {
    auto* live = new LiveHeatmapPanel(client);
    auto* domains = new DomainPanel(client);
    auto* special = new SpecialisationPanel(domains->run());
    auto* bias = new BiasPanel(client);
    auto* tokens = new TokenExplorerPanel(client);
    if (explorer) *explorer = tokens;
    return {
        // Short titles: the docks share one row of tabs in a narrow column.
        dock(QStringLiteral("routing.live"), QObject::tr("Expert load"), live, parent),
        dock(QStringLiteral("routing.domains"), QObject::tr("Per domain"), domains, parent),
        dock(QStringLiteral("routing.specialisation"), QObject::tr("Specialisation"), special, parent),
        dock(QStringLiteral("routing.bias"), QObject::tr("Routing bias"), bias, parent),
        dock(QStringLiteral("routing.tokens"), QObject::tr("Token routing"), tokens, parent),
    };
}

}  // namespace moe::ui
