#include "main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDesktopServices>
#include <QDockWidget>
#include <QFileDialog>
#include <QJsonArray>
#include <QLayout>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QSettings>
#include <QShowEvent>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

#include "about_dialog.h"
#include "build_info.h"
#include "chat_panel.h"
#include "chat_session.h"
#include "connection_dialog.h"
#include "conversation_store.h"
#include "dock_layout.h"
#include "docs_location.h"
#include "engine_banner.h"
#include "engine_client.h"
#include "engine_connection.h"
#include "engine_log_view.h"
#include "engine_status_bar.h"
#include "error_notice.h"
#include "finetune_panel.h"
#include "models/models_panel.h"
#include "mtp_panel.h"
#include "recent_models.h"
#include "routing_docks.h"
#include "window_geometry.h"

namespace moe::ui {

namespace {
// Bump when the set or meaning of docks changes: restoreState then ignores an older saved layout
// (2: the default opens on the chat and the live expert load, not on whichever tab came last;
// 3: the Fine-tune dock; 4: the MTP acceptance dock).
constexpr int kLayoutVersion = 4;
const char* const kGeometryKey = "window/geometry";
const char* const kStateKey = "window/state";
const char* const kDemoModelId = "demo-trained";
// The window never asks for more than this; panels shrink (and scroll) below their comfortable size.
constexpr QSize kMinimumWindow{760, 480};
}  // namespace

MainWindow::MainWindow(const QString& conversation_db, QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("MoE Workbench"));
    setDockNestingEnabled(true);
    setDockOptions(dockOptions() | QMainWindow::AnimatedDocks);
    setTabPosition(Qt::AllDockWidgetAreas, QTabWidget::North);  // tabs on top, where they are looked for
    registerEngineClientMetaTypes();
    store_ = std::make_unique<ConversationStore>(conversation_db.isEmpty() ? ConversationStore::defaultPath()
                                                                           : conversation_db);
    client_ = new EngineClient(this);
    connection_ = new EngineConnection(client_, this);
    status_ = new EngineStatusBar(client_, statusBar());

    buildMenus();
    buildBanner();
    chat_ = new ChatPanel(client_, store_.get(), this);
    addPanel(chat_, QStringLiteral("chatDock"), tr("Chat"));
    log_ = new EngineLogView(this);
    addPanel(log_, QStringLiteral("engineLogDock"), tr("Engine log"));
    addProjectPanels();
    wireEngineEvents();
    // A panel that wants more room than the screen has must shrink or scroll, never push the
    // window past the screen's edge (a long error once widened it to 1638 px on a 1440 px screen).
    layout()->setSizeConstraint(QLayout::SetNoConstraint);
    const QRect screen = availableScreen();
    setMinimumSize(kMinimumWindow.boundedTo(screen.size()));
    setGeometry(defaultWindowGeometry(screen));
}

MainWindow::~MainWindow() = default;

QRect MainWindow::availableScreen() const {
    const QScreen* s = screen() ? screen() : QGuiApplication::primaryScreen();
    return s ? s->availableGeometry() : QRect(0, 0, 1366, 768);
}

QDockWidget* MainWindow::addPanel(QWidget* panel, const QString& objectName, const QString& title) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName);
    dock->setWidget(panel);
    addDock(dock);
    return dock;
}

void MainWindow::addDock(QDockWidget* dock) {
    Q_ASSERT(!dock->objectName().isEmpty());  // saveState() keys the layout by it
    dock->setParent(this);
    dock->setAllowedAreas(Qt::AllDockWidgetAreas);
    addDockWidget(Qt::RightDockWidgetArea, dock);  // placed for real by applyDefaultDockLayout
    connect(dock, &QDockWidget::dockLocationChanged, this, [this] { polishDockTabBars(this); });
    docks_.insert(dock->objectName(), dock);
    view_menu_->insertAction(view_separator_, dock->toggleViewAction());
}

// ---- menus ----------------------------------------------------------------------------------

void MainWindow::buildMenus() {
    // Kept: once buildBanner() moves the bar into the top container, menuBar() would make a new one.
    menu_bar_ = menuBar();
    buildFileMenu();

    QMenu* connection = menu_bar_->addMenu(tr("&Connection"));
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

    view_menu_ = menu_bar_->addMenu(tr("&View"));
    view_separator_ = view_menu_->addSeparator();
    view_menu_->addAction(tr("Go to the &message box"), QKeySequence(Qt::CTRL | Qt::Key_L), this, [this] {
        if (QDockWidget* d = dock(QStringLiteral("chatDock"))) {
            d->show();
            d->raise();
        }
        chat_->focusInput();
    });
    view_menu_->addAction(tr("&Reset layout"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this,
                          &MainWindow::resetLayout);
    buildHelpMenu();
}

void MainWindow::buildFileMenu() {
    QMenu* file = menu_bar_->addMenu(tr("&File"));
    file->addAction(tr("&New chat"), QKeySequence::New, this, [this] { chat_->session()->newConversation(); });
    file->addSeparator();
    file->addAction(tr("&Open model folder…"), QKeySequence::Open, this, &MainWindow::chooseModelFolder);
    recent_menu_ = file->addMenu(tr("&Recent models"));
    recent_menu_->setObjectName(QStringLiteral("recentModelsMenu"));
    connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
    rebuildRecentMenu();
    file->addSeparator();
    // Not QKeySequence::Quit: some platform themes give it no keys.
    file->addAction(tr("&Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q), this, &QWidget::close);
}

void MainWindow::rebuildRecentMenu() {
    recent_menu_->clear();
    const QStringList recent = RecentModels::list();
    for (const QString& dir : recent) {
        QAction* a = recent_menu_->addAction(dir, this, [this, dir] { loadModel(dir); });
        a->setEnabled(RecentModels::looksLikeCheckpoint(dir));
        if (!a->isEnabled()) a->setToolTip(tr("This folder no longer holds a checkpoint (no config.json)"));
    }
    if (recent.isEmpty()) recent_menu_->addAction(tr("(none yet: models you open appear here)"))->setEnabled(false);
    recent_menu_->addSeparator();
    recent_menu_->addAction(tr("&Demo model (tiny, trained here)"), this, [this] {
        EngineProcessOptions demo = managed_options_;
        demo.model_dir.clear();
        useManagedEngine(demo);
    });
    recent_menu_->addAction(tr("&Clear list"), this, [] { RecentModels::clear(); })->setEnabled(!recent.isEmpty());
}

void MainWindow::buildHelpMenu() {
    QMenu* help = menu_bar_->addMenu(tr("&Help"));
    help->addAction(tr("&Documentation"), QKeySequence::HelpContents, this, [this] {
        const QUrl docs = documentationUrl();
        if (docs.isValid() && QDesktopServices::openUrl(docs)) return;
        QMessageBox::information(this, tr("Documentation"),
                                 tr("The documentation was not found next to the program. It is the README.md and "
                                    "docs/ folder of the MoE Workbench sources; set MOE_DOCS_DIR to that folder."));
    });
    help->addAction(tr("&Keyboard shortcuts"), QKeySequence(Qt::CTRL | Qt::Key_Slash), this,
                    [this] { ShortcutsDialog(shortcuts(), this).exec(); });
    help->addSeparator();
    help->addAction(tr("&About MoE Workbench"), this, [this] { AboutDialog(aboutText(), this).exec(); });
}

QList<Shortcut> MainWindow::shortcuts() const {
    // Shortcuts that live in the chat panel rather than a menu.
    const QList<Shortcut> chat = {
        {tr("Chat › Send the message"), QKeySequence(Qt::CTRL | Qt::Key_Return)},
        {tr("Chat › Stop the reply"), QKeySequence(Qt::Key_Escape)},
    };
    return collectShortcuts(menu_bar_, chat);
}

EngineFacts MainWindow::engineFacts() const {
    EngineFacts facts;
    facts.connection = connection_->describe();
    facts.model = model_.value(QStringLiteral("id")).toString();
    facts.architecture = model_.value(QStringLiteral("architecture")).toString();
    facts.context_tokens = model_.value(QStringLiteral("max_context")).toInt();
    facts.backend = model_.value(QStringLiteral("backend")).toString();
    facts.backend_detail = model_.value(QStringLiteral("backend_detail")).toString();
    return facts;
}

QString MainWindow::aboutText() const { return aboutHtml(buildInfo(), engineFacts(), documentationUrl()); }

void MainWindow::buildBanner() {
    // The banner and the notice sit between the menu bar and the docks, outside the saved dock layout.
    auto* top = new QWidget(this);
    auto* layout = new QVBoxLayout(top);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(menu_bar_);
    banner_ = new EngineBanner(top);
    layout->addWidget(banner_);
    notice_ = new ErrorNotice(top);
    notice_->setObjectName(QStringLiteral("windowNotice"));
    notice_->setDismissible(true);
    layout->addWidget(notice_);
    setMenuWidget(top);
    connect(banner_, &EngineBanner::restartRequested, this, [this] {
        if (connection_->mode() == EngineConnection::Mode::Managed) connection_->restartManaged();
        else useRemoteEngine(client_->endpoint().base, client_->endpoint().api_key);
    });
}

// ---- panels of the other folders -----------------------------------------------------------
// THE ONE PLACE where the routing docks (ui/routing), the models panel (ui/models), the fine-tune
// panel (ui/finetune) and the MTP acceptance view (ui/speculative) join the window.
// Where each dock goes by default: dock_layout.cpp.
void MainWindow::addProjectPanels() {
    TokenExplorerPanel* explorer = nullptr;
    for (QDockWidget* routing : createRoutingDocks(client_, this, &explorer)) addDock(routing);
    if (explorer) {
        connect(chat_, &ChatPanel::tokenClicked, this,
                [this, explorer](const RoutedExperts& routing, const QVector<CompletionToken>& tokens, int index,
                                 int prompt_tokens, const QString& model) {
                    explorer->showToken(routing, tokens, index, prompt_tokens, model);
                    if (QDockWidget* d = dock(QStringLiteral("routing.tokens"))) {
                        d->show();
                        d->raise();
                    }
                });
    }
    auto* models = new ModelsPanel(this);
    models->setEngineProgram(EngineProcess::locateEngineBinary());
    addPanel(models, QStringLiteral("modelsDock"), tr("Models"));
    connect(models, &ModelsPanel::loadRequested, this, &MainWindow::loadModel);
    connect(client_, &EngineClient::modelLoaded, client_, &EngineClient::refreshModels);
    finetune_ = new finetune::FinetunePanel(client_, this);
    finetune_->setRecentModels(RecentModels::list());
    addPanel(finetune_, QStringLiteral("finetuneDock"), tr("Fine-tune"));
    connect(finetune_, &finetune::FinetunePanel::loadRequested, this, &MainWindow::loadModel);
    auto* mtp = new MtpPanel(client_, this);
    mtp->setObjectName(QStringLiteral("mtpDock.panel"));
    addPanel(mtp, QStringLiteral("mtpDock"), tr("MTP acceptance"));
}

// ---- models -----------------------------------------------------------------------------------

QString MainWindow::startupModel() { return RecentModels::lastUsable(); }

void MainWindow::chooseModelFolder() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open a model folder (config.json, tokenizer, .safetensors weights)"), RecentModels::list().value(0));
    if (dir.isEmpty()) return;
    if (!RecentModels::looksLikeCheckpoint(dir)) {
        QMessageBox::warning(this, tr("Not a model folder"),
                             tr("%1 has no config.json. Pick the folder that holds a Hugging Face checkpoint: "
                                "config.json, the tokenizer files and the .safetensors weights.")
                                 .arg(dir));
        return;
    }
    loadModel(dir);
}

void MainWindow::loadModel(const QString& checkpoint_dir) {
    if (connection_->mode() == EngineConnection::Mode::Managed) {
        managed_options_.model_dir = checkpoint_dir;
        connection_->process()->setOptions(managed_options_);  // a restart after a crash loads it again
    }
    const QString backend = managed_options_.backend.isEmpty() ? QStringLiteral("auto") : managed_options_.backend;
    loading_model_ = checkpoint_dir;
    notice_->clear();
    client_->loadModel(checkpoint_dir, backend);
    log_->appendLine(QStringLiteral("[workbench] loading ") + checkpoint_dir);
}

void MainWindow::onModels(const QJsonArray& models) {
    model_ = models.isEmpty() ? QJsonObject() : models.first().toObject();
    const QString id = model_.value(QStringLiteral("id")).toString();
    const QString root = model_.value(QStringLiteral("root")).toString();
    if (!id.isEmpty()) loading_model_.clear();
    // Only a local engine's folder is a folder on this machine; the demo is not a "recent model".
    if (connection_->mode() == EngineConnection::Mode::Managed && !root.isEmpty() && id != QLatin1String(kDemoModelId))
        RecentModels::add(root);
    finetune_->setRecentModels(RecentModels::list());
}

// ---- engine events ------------------------------------------------------------------------------

void MainWindow::wireEngineEvents() {
    connect(connection_, &EngineConnection::connecting, this, [this](const QString& what) {
        status_->setConnectionText(what + QStringLiteral("…"));
        log_->appendLine(QStringLiteral("[workbench] ") + what);
    });
    connect(connection_, &EngineConnection::ready, this, [this](const QString& what) {
        status_->setConnectionText(what);
        banner_->showRecovered();
        if (connection_->mode() == EngineConnection::Mode::Managed) managed_ever_ready_ = true;
        log_->appendLine(QStringLiteral("[workbench] connected to ") + what);
    });
    connect(connection_, &EngineConnection::engineCrashed, this, [this](const QString& reason, const QString& tail) {
        banner_->showCrash(reason);
        chat_->engineLost(tr("the engine stopped (%1)").arg(reason));
        status_->setConnectionText(tr("engine stopped"));
        log_->appendLine(QStringLiteral("[workbench] the engine stopped: %1\n%2").arg(reason, tail));
    });
    connect(connection_, &EngineConnection::engineRestarting, banner_, &EngineBanner::showRestarting);
    connect(connection_, &EngineConnection::engineGaveUp, this, &MainWindow::onGaveUp);
    connect(connection_, &EngineConnection::logLine, log_, &EngineLogView::appendLine);
    connect(client_, &EngineClient::requestFailed, this, &MainWindow::onRequestFailed);
    connect(client_, &EngineClient::modelsChanged, this, &MainWindow::onModels);
}

void MainWindow::onRequestFailed(quint64 id, const QString& message) {
    if (id != 0) return;  // chat requests show their errors inline
    log_->appendLine(QStringLiteral("[workbench] ") + message);
    // A model load that failed stays on screen until dismissed; the rest (telemetry reconnects, the
    // model list) pass: the status bar says it in plain words for a while.
    if (!loading_model_.isEmpty() && message.contains(QLatin1String("/workbench/v1/models/load"))) {
        notice_->showError(message, tr("Loading %1").arg(loading_model_));
        loading_model_.clear();
        return;
    }
    statusBar()->showMessage(explainError(message).text(), 8'000);
}

void MainWindow::onGaveUp(const QString& reason) {
    log_->appendLine(QStringLiteral("[workbench] gave up: ") + reason);
    // The last model no longer starts (moved, broken, too big now): come back with the demo model
    // rather than no engine at all, and say why.
    if (connection_->mode() == EngineConnection::Mode::Managed && !managed_options_.model_dir.isEmpty() &&
        !managed_ever_ready_) {
        const QString failed = managed_options_.model_dir;
        notice_->showError(reason, tr("Starting the engine with %1").arg(failed));
        log_->appendLine(QStringLiteral("[workbench] starting the demo model instead of ") + failed);
        EngineProcessOptions demo = managed_options_;
        demo.model_dir.clear();
        useManagedEngine(demo);
        return;
    }
    banner_->showGaveUp(reason);
    chat_->engineLost(tr("the engine could not be restarted"));
    status_->setConnectionText(tr("no engine"));
}

void MainWindow::useManagedEngine(const EngineProcessOptions& options) {
    managed_options_ = options;
    managed_ever_ready_ = false;
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

// ---- layout -----------------------------------------------------------------------------------

void MainWindow::finishLayout() {
    const QByteArray saved = QSettings().value(QLatin1String(kGeometryKey)).toByteArray();
    if (saved.isEmpty() || !restoreGeometry(saved)) setGeometry(defaultWindowGeometry(availableScreen()));
    clampToScreen();
    layout_pending_ = true;
    if (isVisible()) applyLayout();  // else on the first show, when the docks have real sizes
}

void MainWindow::clampToScreen() {
    const QScreen* s = QGuiApplication::screenAt(frameGeometry().center());
    if (!s) s = screen() ? screen() : QGuiApplication::primaryScreen();
    if (!s) return;
    const QRect frame = frameGeometry();
    const QRect inside = clampedToScreen(frame, s->availableGeometry());
    if (inside == frame) return;
    // frame → client geometry: the window manager's decorations stay as they are.
    const QMargins decorations(geometry().left() - frame.left(), geometry().top() - frame.top(),
                               frame.right() - geometry().right(), frame.bottom() - geometry().bottom());
    setGeometry(inside.marginsRemoved(decorations));
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (!layout_pending_) return;
    applyLayout();
    // The window manager's frame is known once shown: keep the framed window inside the screen too.
    QTimer::singleShot(0, this, &MainWindow::clampToScreen);
}

void MainWindow::applyLayout() {
    layout_pending_ = false;
    const QByteArray saved = QSettings().value(QLatin1String(kStateKey)).toByteArray();
    if (saved.isEmpty() || !restoreState(saved, kLayoutVersion)) {
        applyDefaultDockLayout(this, docks_.values(), availableScreen().size());
        chat_->focusInput();  // a first launch starts where a newcomer starts: typing a message
    }
    polishDockTabBars(this);
}

void MainWindow::resetLayout() { applyDefaultDockLayout(this, docks_.values(), availableScreen().size()); }

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
