#include "main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QShowEvent>
#include <QStatusBar>
#include <QVBoxLayout>

#include "chat_panel.h"
#include "chat_session.h"
#include "connection_dialog.h"
#include "conversation_store.h"
#include "engine_banner.h"
#include "engine_client.h"
#include "engine_connection.h"
#include "engine_log_view.h"
#include "engine_status_bar.h"
#include "models/models_panel.h"
#include "routing_docks.h"

namespace moe::ui {

namespace {
// Bump when the set or meaning of docks changes: restoreState then ignores an older saved layout.
constexpr int kLayoutVersion = 1;
const char* const kGeometryKey = "window/geometry";
const char* const kStateKey = "window/state";
}  // namespace

MainWindow::MainWindow(const QString& conversation_db, QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("MoE Workbench"));
    setDockNestingEnabled(true);
    resize(1440, 900);
    registerEngineClientMetaTypes();
    store_ = std::make_unique<ConversationStore>(conversation_db.isEmpty() ? ConversationStore::defaultPath()
                                                                           : conversation_db);
    client_ = new EngineClient(this);
    connection_ = new EngineConnection(client_, this);
    status_ = new EngineStatusBar(client_, statusBar());

    buildMenus();
    buildBanner();
    chat_ = new ChatPanel(client_, store_.get(), this);
    addPanel(chat_, QStringLiteral("chatDock"), tr("Chat"), Qt::LeftDockWidgetArea);
    log_ = new EngineLogView(this);
    addPanel(log_, QStringLiteral("engineLogDock"), tr("Engine log"), Qt::BottomDockWidgetArea);
    addProjectPanels();
    wireEngineEvents();
}

MainWindow::~MainWindow() = default;

QDockWidget* MainWindow::addPanel(QWidget* panel, const QString& objectName, const QString& title,
                                  Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName);
    dock->setWidget(panel);
    addDock(dock, area);
    return dock;
}

void MainWindow::addDock(QDockWidget* dock, Qt::DockWidgetArea area) {
    Q_ASSERT(!dock->objectName().isEmpty());  // saveState() keys the layout by it
    dock->setParent(this);
    dock->setAllowedAreas(Qt::AllDockWidgetAreas);
    addDockWidget(area, dock);
    // A second panel in the same side area goes into tabs rather than squeezing the first.
    for (QDockWidget* other : std::as_const(docks_))
        if (dockWidgetArea(other) == area && area != Qt::BottomDockWidgetArea) {
            tabifyDockWidget(other, dock);
            other->raise();
            break;
        }
    docks_.insert(dock->objectName(), dock);
    view_menu_->insertAction(view_separator_, dock->toggleViewAction());
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New chat"), QKeySequence::New, this, [this] { chat_->session()->newConversation(); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* connection = menuBar()->addMenu(tr("&Connection"));
    connection_group_ = new QActionGroup(this);
    managed_action_ = connection->addAction(tr("&Local engine (managed)"));
    remote_action_ = connection->addAction(tr("Connect to &server…"));
    for (QAction* a : {managed_action_, remote_action_}) {
        a->setCheckable(true);
        connection_group_->addAction(a);
    }
    managed_action_->setChecked(true);
    connect(managed_action_, &QAction::triggered, this, [this] { useManagedEngine(managed_options_); });
    connect(remote_action_, &QAction::triggered, this, &MainWindow::chooseRemote);
    connection->addSeparator();
    connection->addAction(tr("&Restart local engine"), this, [this] { connection_->restartManaged(); });

    view_menu_ = menuBar()->addMenu(tr("&View"));
    view_separator_ = view_menu_->addSeparator();
    view_menu_->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);
}

void MainWindow::buildBanner() {
    // The banner sits between the menu bar and the docks, outside the saved dock layout.
    auto* top = new QWidget(this);
    auto* layout = new QVBoxLayout(top);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    QMenuBar* menus = menuBar();
    layout->addWidget(menus);
    banner_ = new EngineBanner(top);
    layout->addWidget(banner_);
    setMenuWidget(top);
    connect(banner_, &EngineBanner::restartRequested, this, [this] {
        if (connection_->mode() == EngineConnection::Mode::Managed) connection_->restartManaged();
        else useRemoteEngine(client_->endpoint().base, client_->endpoint().api_key);
    });
}

// ---- panels of the other folders -----------------------------------------------------------
// THE ONE PLACE where the routing docks (ui/routing) and the models panel (ui/models) join the window.
void MainWindow::addProjectPanels() {
    TokenExplorerPanel* explorer = nullptr;
    for (QDockWidget* routing : createRoutingDocks(client_, this, &explorer)) addDock(routing, Qt::RightDockWidgetArea);
    if (explorer) {
        connect(chat_, &ChatPanel::tokenClicked, this,
                [this, explorer](const RoutedExperts& routing, const QVector<CompletionToken>& tokens, int index,
                                 int prompt_tokens) {
                    explorer->showToken(routing, tokens, index, prompt_tokens);
                    if (QDockWidget* d = dock(QStringLiteral("routing.tokens"))) {
                        d->show();
                        d->raise();
                    }
                });
    }
    auto* models = new ModelsPanel(this);
    models->setEngineProgram(EngineProcess::locateEngineBinary());
    addPanel(models, QStringLiteral("modelsDock"), tr("Models"), Qt::LeftDockWidgetArea);
    docks_.value(QStringLiteral("chatDock"))->raise();
    connect(models, &ModelsPanel::loadRequested, this, &MainWindow::loadModel);
    connect(client_, &EngineClient::modelLoaded, client_, &EngineClient::refreshModels);
}

void MainWindow::loadModel(const QString& checkpoint_dir) {
    if (connection_->mode() == EngineConnection::Mode::Managed) {
        managed_options_.model_dir = checkpoint_dir;
        connection_->process()->setOptions(managed_options_);  // a restart after a crash loads it again
    }
    const QString backend = managed_options_.backend.isEmpty() ? QStringLiteral("auto") : managed_options_.backend;
    client_->loadModel(checkpoint_dir, backend);
    log_->appendLine(QStringLiteral("[workbench] loading ") + checkpoint_dir);
}

void MainWindow::wireEngineEvents() {
    connect(connection_, &EngineConnection::connecting, this, [this](const QString& what) {
        status_->setConnectionText(what + QStringLiteral("…"));
        log_->appendLine(QStringLiteral("[workbench] ") + what);
    });
    connect(connection_, &EngineConnection::ready, this, [this](const QString& what) {
        status_->setConnectionText(what);
        banner_->showRecovered();
        log_->appendLine(QStringLiteral("[workbench] connected to ") + what);
    });
    connect(connection_, &EngineConnection::engineCrashed, this, [this](const QString& reason, const QString& tail) {
        banner_->showCrash(reason);
        chat_->engineLost(tr("the engine stopped (%1)").arg(reason));
        status_->setConnectionText(tr("engine stopped"));
        log_->appendLine(QStringLiteral("[workbench] the engine stopped: %1\n%2").arg(reason, tail));
    });
    connect(connection_, &EngineConnection::engineRestarting, banner_, &EngineBanner::showRestarting);
    connect(connection_, &EngineConnection::engineGaveUp, this, [this](const QString& reason) {
        banner_->showGaveUp(reason);
        chat_->engineLost(tr("the engine could not be restarted"));
        status_->setConnectionText(tr("no engine"));
        log_->appendLine(QStringLiteral("[workbench] gave up: ") + reason);
    });
    connect(connection_, &EngineConnection::logLine, log_, &EngineLogView::appendLine);
    connect(client_, &EngineClient::requestFailed, this, [this](quint64 id, const QString& message) {
        if (id != 0) return;  // chat requests show their errors inline
        statusBar()->showMessage(message, 8'000);
        log_->appendLine(QStringLiteral("[workbench] ") + message);
    });
}

void MainWindow::useManagedEngine(const EngineProcessOptions& options) {
    managed_options_ = options;
    managed_action_->setChecked(true);
    connection_->useManaged(options);
}

void MainWindow::useRemoteEngine(const QUrl& base, const QString& api_key) {
    remote_action_->setChecked(true);
    last_remote_url_ = base.toString();
    connection_->useRemote(base, api_key);
}

void MainWindow::chooseRemote() {
    ConnectionDialog dialog(this);
    dialog.setUrl(last_remote_url_);
    if (dialog.exec() != QDialog::Accepted) {
        (connection_->mode() == EngineConnection::Mode::Managed ? managed_action_ : remote_action_)->setChecked(true);
        return;
    }
    useRemoteEngine(dialog.baseUrl(), dialog.apiKey());
}

void MainWindow::finishLayout() {
    restoreGeometry(QSettings().value(QLatin1String(kGeometryKey)).toByteArray());
    layout_pending_ = true;
    if (isVisible()) applyLayout();  // else on the first show, when the docks have real sizes
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (layout_pending_) applyLayout();
}

void MainWindow::applyLayout() {
    layout_pending_ = false;
    // The default: chat on the larger left part, routing views on the right, a short log below.
    QList<QDockWidget*> columns = {docks_.value(QStringLiteral("chatDock"))};
    if (QDockWidget* routing = docks_.value(QStringLiteral("routing.live"))) columns.append(routing);
    if (columns.size() == 2) resizeDocks(columns, {width() * 3 / 5, width() * 2 / 5}, Qt::Horizontal);
    resizeDocks({docks_.value(QStringLiteral("engineLogDock"))}, {height() / 6}, Qt::Vertical);
    default_state_ = saveState(kLayoutVersion);
    restoreState(QSettings().value(QLatin1String(kStateKey)).toByteArray(), kLayoutVersion);
}

void MainWindow::resetLayout() {
    if (default_state_.isEmpty()) return;
    for (QDockWidget* dock : std::as_const(docks_)) dock->setFloating(false);
    restoreState(default_state_, kLayoutVersion);
}

void MainWindow::saveLayout() const {
    QSettings settings;
    settings.setValue(QLatin1String(kGeometryKey), saveGeometry());
    settings.setValue(QLatin1String(kStateKey), saveState(kLayoutVersion));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    QMainWindow::closeEvent(event);
}

}  // namespace moe::ui
