// The workbench's main window: every panel is a QDockWidget with an objectName (layout and geometry
// remembered in QSettings, "View > Reset layout" restores the default of dock_layout.h), a status
// bar with model, backend, GPU memory, tokens/s and connection state, the File menu (open a model
// folder, recent models), the Connection menu (managed local engine or any OpenAI-compatible
// server), the Help menu (documentation, keyboard shortcuts, About), the engine log dock, the banner
// that reports a crashed engine and a notice for failures the panels do not show themselves.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QMainWindow>
#include <QMap>

#include <memory>

#include "engine_process.h"
#include "shortcuts_dialog.h"

class QAction;
class QActionGroup;
class QDockWidget;
class QMenu;
class QMenuBar;

namespace moe::ui {

class ChatPanel;
class ConversationStore;
class EngineBanner;
class EngineClient;
class EngineConnection;
class EngineLogView;
class EngineStatusBar;
class ErrorNotice;
struct EngineFacts;
namespace finetune {
class FinetunePanel;
}

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // conversation_db: the SQLite file for conversations ("" = ConversationStore::defaultPath()).
    explicit MainWindow(const QString& conversation_db = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Puts a panel in a dock named objectName (the key of the saved layout) with a View menu toggle.
    // Where it goes by default is dock_layout.cpp's table (one line per dock).
    QDockWidget* addPanel(QWidget* panel, const QString& objectName, const QString& title);
    // Adds a ready-made dock (it must have an objectName), as addPanel does.
    void addDock(QDockWidget* dock);
    QDockWidget* dock(const QString& objectName) const { return docks_.value(objectName); }
    QStringList panelNames() const { return docks_.keys(); }

    EngineClient* client() const { return client_; }
    EngineConnection* connection() const { return connection_; }
    ChatPanel* chatPanel() const { return chat_; }
    finetune::FinetunePanel* finetunePanel() const { return finetune_; }
    EngineBanner* banner() const { return banner_; }
    ErrorNotice* notice() const { return notice_; }
    EngineStatusBar* engineStatus() const { return status_; }
    QMenuBar* menus() const { return menu_bar_; }  // not menuBar(): the bar lives in a container with the banner

    // Call once every panel is added: restores the saved geometry (moved and shrunk into the screen)
    // or takes the default for this screen; on the first show restores the saved dock layout or
    // arranges the default one.
    void finishLayout();
    void resetLayout();
    // Moves and shrinks the window so it lies inside its screen's available area.
    void clampToScreen();

    void useManagedEngine(const EngineProcessOptions& options);
    void useRemoteEngine(const QUrl& base, const QString& api_key);
    // Loads a checkpoint into the engine (File › Open model folder…, recent models, the Models
    // panel's Load); a managed engine that restarts later loads it again.
    void loadModel(const QString& checkpoint_dir);

    // The checkpoint a launch without --model starts with: the most recent model that still exists,
    // "" for the demo model (RecentModels::lastUsable()).
    static QString startupModel();

    // Help menu contents (tests read them).
    QString aboutText() const;
    QList<Shortcut> shortcuts() const;
    EngineFacts engineFacts() const;

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void buildMenus();
    void buildFileMenu();
    void buildHelpMenu();
    void rebuildRecentMenu();
    void buildBanner();
    void addProjectPanels();
    void wireEngineEvents();
    void onModels(const QJsonArray& models);
    void onRequestFailed(quint64 id, const QString& message);
    void onGaveUp(const QString& reason);
    void chooseModelFolder();
    void chooseRemote();
    void saveLayout() const;
    void applyLayout();
    QRect availableScreen() const;  // of the window's screen

    std::unique_ptr<ConversationStore> store_;
    EngineClient* client_;
    EngineConnection* connection_;
    ChatPanel* chat_;
    finetune::FinetunePanel* finetune_ = nullptr;
    EngineLogView* log_;
    EngineBanner* banner_;
    ErrorNotice* notice_;
    EngineStatusBar* status_;
    QMenuBar* menu_bar_ = nullptr;
    QMenu* view_menu_ = nullptr;
    QMenu* recent_menu_ = nullptr;
    QAction* view_separator_ = nullptr;  // dock toggles go above it
    QActionGroup* connection_group_ = nullptr;
    QAction* managed_action_ = nullptr;
    QAction* remote_action_ = nullptr;
    QMap<QString, QDockWidget*> docks_;
    bool layout_pending_ = false;
    QString last_remote_url_;
    EngineProcessOptions managed_options_;
    QJsonObject model_;           // the engine's /v1/models entry ({} when none)
    QString loading_model_;       // the folder of a load in progress ("" when none)
    bool managed_ever_ready_ = false;  // the managed engine with these options has served once
};

}  // namespace moe::ui
