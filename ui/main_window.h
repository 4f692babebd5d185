// The workbench's main window: every panel is a QDockWidget with an objectName (layout and geometry
// remembered in QSettings, "View > Reset layout" restores the default), a status bar with model,
// backend, GPU memory, tokens/s and connection state, the Connection menu (managed local engine or
// any OpenAI-compatible server), the engine log dock and the banner that reports a crashed engine.
#pragma once

#include <QByteArray>
#include <QMainWindow>
#include <QMap>

#include <memory>

#include "engine_process.h"

class QAction;
class QActionGroup;
class QDockWidget;
class QMenu;

namespace moe::ui {

class ChatPanel;
class ConversationStore;
class EngineBanner;
class EngineClient;
class EngineConnection;
class EngineLogView;
class EngineStatusBar;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // conversation_db: the SQLite file for conversations ("" = ConversationStore::defaultPath()).
    explicit MainWindow(const QString& conversation_db = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Puts a panel in a dock named objectName (the key of the saved layout) with a View menu toggle.
    QDockWidget* addPanel(QWidget* panel, const QString& objectName, const QString& title, Qt::DockWidgetArea area);
    // Adds a ready-made dock (it must have an objectName), as addPanel does.
    void addDock(QDockWidget* dock, Qt::DockWidgetArea area);
    QDockWidget* dock(const QString& objectName) const { return docks_.value(objectName); }
    QStringList panelNames() const { return docks_.keys(); }

    EngineClient* client() const { return client_; }
    EngineConnection* connection() const { return connection_; }
    ChatPanel* chatPanel() const { return chat_; }
    EngineBanner* banner() const { return banner_; }
    EngineStatusBar* engineStatus() const { return status_; }

    // Call once every panel is added: restores the saved geometry; on the first show (when docks
    // have real sizes) remembers the default dock layout, then restores the saved one.
    void finishLayout();
    void resetLayout();

    void useManagedEngine(const EngineProcessOptions& options);
    void useRemoteEngine(const QUrl& base, const QString& api_key);
    // Loads a checkpoint into the engine (the Models panel's Load); a managed engine that restarts
    // later loads it again.
    void loadModel(const QString& checkpoint_dir);

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void buildMenus();
    void buildBanner();
    void addProjectPanels();
    void wireEngineEvents();
    void chooseRemote();
    void saveLayout() const;
    void applyLayout();

    std::unique_ptr<ConversationStore> store_;
    EngineClient* client_;
    EngineConnection* connection_;
    ChatPanel* chat_;
    EngineLogView* log_;
    EngineBanner* banner_;
    EngineStatusBar* status_;
    QMenu* view_menu_ = nullptr;
    QAction* view_separator_ = nullptr;  // dock toggles go above it
    QActionGroup* connection_group_ = nullptr;
    QAction* managed_action_ = nullptr;
    QAction* remote_action_ = nullptr;
    QMap<QString, QDockWidget*> docks_;
    QByteArray default_state_;
    bool layout_pending_ = false;
    QString last_remote_url_;
    EngineProcessOptions managed_options_;
};

}  // namespace moe::ui
