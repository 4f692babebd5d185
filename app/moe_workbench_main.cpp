// moe-workbench: the Qt desktop app. Composition only: options -> main window -> engine.
#include <QApplication>
#include <QCommandLineParser>
#include <QTextStream>
#include <QUrl>

#include <cstdlib>
#include <memory>

#include "connection_dialog.h"
#include "main_window.h"
#include "screenshot_director.h"

namespace {

struct Options {
    QString engine_url, api_key, model_dir, backend, conversation_db;
    QString screenshot_panel, screenshot_out;
    int screenshot_linger_ms = 3'000;
    bool list_panels = false;
};

Options parseOptions(const QApplication& app) {
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "MoE Workbench: chat with a DeepSeek-style MoE model and watch its routing. Without options it starts "
        "its own engine with the embedded, untrained demo model."));
    p.addHelpOption();
    const QCommandLineOption url({QStringLiteral("engine-url")}, QStringLiteral("Use this OpenAI-compatible server."),
                                 QStringLiteral("URL"));
    const QCommandLineOption key({QStringLiteral("api-key")},
                                 QStringLiteral("API key for --engine-url (default: $MOE_WORKBENCH_API_KEY)."),
                                 QStringLiteral("K"));
    const QCommandLineOption model({QStringLiteral("model")},
                                   QStringLiteral("Checkpoint folder for the local engine (default: the demo model)."),
                                   QStringLiteral("DIR"));
    const QCommandLineOption backend({QStringLiteral("backend")}, QStringLiteral("cpu, cuda or auto."),
                                     QStringLiteral("B"));
    const QCommandLineOption db({QStringLiteral("conversation-db")},
                                QStringLiteral("SQLite file for conversations (default: in the app data folder)."),
                                QStringLiteral("FILE"));
    const QCommandLineOption panel({QStringLiteral("screenshot-panel")},
                                   QStringLiteral("Grab this dock (objectName, or \"window\") once it shows data."),
                                   QStringLiteral("NAME"));
    const QCommandLineOption out({QStringLiteral("screenshot-out")}, QStringLiteral("PNG file for --screenshot-panel."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption linger({QStringLiteral("screenshot-linger-ms")},
                                    QStringLiteral("Stay open this long after the grab (default 3000)."),
                                    QStringLiteral("MS"));
    const QCommandLineOption list({QStringLiteral("list-panels")},
                                  QStringLiteral("Print the dock names (for --screenshot-panel) and exit."));
    p.addOptions({url, key, model, backend, db, panel, out, linger, list});
    p.process(app);
    Options o{p.value(url),   p.value(key),   p.value(model), p.value(backend), p.value(db),
              p.value(panel), p.value(out)};
    if (o.api_key.isEmpty()) o.api_key = qEnvironmentVariable("MOE_WORKBENCH_API_KEY");
    if (p.isSet(linger)) o.screenshot_linger_ms = p.value(linger).toInt();
    o.list_panels = p.isSet(list);
    if (o.screenshot_panel.isEmpty() != o.screenshot_out.isEmpty()) {
        QTextStream(stderr) << "moe-workbench: --screenshot-panel and --screenshot-out go together\n";
        std::exit(64);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("MoE Workbench"));
    QApplication::setOrganizationName(QStringLiteral("MoE Workbench"));
    const Options o = parseOptions(app);

    moe::ui::MainWindow window(o.conversation_db);
    if (o.list_panels) {
        QTextStream(stdout) << window.panelNames().join(QLatin1Char('\n')) << Qt::endl;
        return 0;
    }
    window.finishLayout();
    if (!o.engine_url.isEmpty()) {
        QString error;
        const QUrl base = moe::ui::ConnectionDialog::normaliseBaseUrl(o.engine_url, &error);
        if (base.isEmpty()) {
            QTextStream(stderr) << "moe-workbench: --engine-url: " << error << "\n";
            return 64;
        }
        window.useRemoteEngine(base, o.api_key);
    } else {
        moe::ui::EngineProcessOptions engine;
        engine.model_dir = o.model_dir;
        engine.backend = o.backend;
        window.useManagedEngine(engine);
    }
    window.show();

    std::unique_ptr<moe::ui::ScreenshotDirector> director;
    if (!o.screenshot_panel.isEmpty()) {
        director = std::make_unique<moe::ui::ScreenshotDirector>(&window, o.screenshot_panel, o.screenshot_out,
                                                                 o.screenshot_linger_ms);
        QObject::connect(director.get(), &moe::ui::ScreenshotDirector::done, &app, &QApplication::exit);
        director->start();
    }
    return QApplication::exec();
}
