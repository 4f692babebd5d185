// The routing views as dock widgets for the main window:
//   routing.live            "Expert load": live layer × expert load heatmap (telemetry, or finished requests)
//   routing.domains         "Per domain": runs over bundled and user corpora, one heatmap per domain
//   routing.specialisation  "Specialisation": which experts prefer which domain (log2 share / mean share) per layer
//   routing.bias            "Routing bias": e_score_correction_bias per layer and expert
//   routing.tokens          "Token routing": the token explorer (TokenExplorerPanel, objectName "routing.tokens.panel")
// Where they sit by default is ui/dock_layout.cpp's table.
// Each dock's widget is its panel; the main window adds the docks and connects the chat's
// tokenClicked to TokenExplorerPanel::showToken (the panel is returned through explorer, or found
// with findChild<TokenExplorerPanel*>("routing.tokens.panel")).
#pragma once

#include <QDockWidget>
#include <QList>

#include "token_explorer_panel.h"

namespace moe::ui {

class EngineClient;

QList<QDockWidget*> createRoutingDocks(EngineClient* client, QWidget* parent,
                                       TokenExplorerPanel** explorer = nullptr);

}  // namespace moe::ui
