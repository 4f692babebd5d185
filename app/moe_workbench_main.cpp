// moe-workbench: the Qt desktop app. Composition only: options -> main window -> engine.
#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>
#include <QUrl>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "build_info.h"
#include "connection_dialog.h"
#include "main_window.h"
#include "screenshot_director.h"

namespace {

struct Options {
    QString engine_url, api_key, model_dir, backend, conversation_db;
    QString screenshot_panel, screenshot_out;
    int screenshot_linger_ms = 3'000;
    bool list_panels = false;
    bool demo = false;
};

void describeApp(QCoreApplication& app) {
    app.setApplicationName(QStringLiteral("MoE Workbench"));
    app.setOrganizationName(QStringLiteral("MoE Workbench"));
    const moe::ui::BuildInfo build = moe::ui::buildInfo();
    app.setApplicationVersion(QStringLiteral("%1 (commit %2)").arg(build.version, build.commit));
}

struct Parser {
    QCommandLineParser p;
    QCommandLineOption url{{QStringLiteral("engine-url")}, QStringLiteral("Use this OpenAI-compatible server."),
                           QStringLiteral("URL")};
    QCommandLineOption key{{QStringLiteral("api-key")},
                           QStringLiteral("API key for --engine-url (default: $MOE_WORKBENCH_API_KEY)."),
                           QStringLiteral("K")};
    QCommandLineOption model{{QStringLiteral("model")},
                             QStringLiteral("Checkpoint folder for the local engine (default: the model used last "
                                            "time, else the demo model)."),
                             QStringLiteral("DIR")};
    QCommandLineOption demo{{QStringLiteral("demo")},
                            QStringLiteral("Start with the embedded demo model (tiny, trained by this engine), whatever was used last time.")};
    QCommandLineOption backend{{QStringLiteral("backend")}, QStringLiteral("cpu, cuda or auto."), QStringLiteral("B")};
    QCommandLineOption db{{QStringLiteral("conversation-db")},
                          QStringLiteral("SQLite file for conversations (default: in the app data folder)."),
                          QStringLiteral("FILE")};
    QCommandLineOption panel{{QStringLiteral("screenshot-panel")},
                             QStringLiteral("Grab this dock (objectName, or \"window\") once it shows data."),
                             QStringLiteral("NAME")};
    QCommandLineOption out{{QStringLiteral("screenshot-out")}, QStringLiteral("PNG file for --screenshot-panel."),
                           QStringLiteral("FILE")};
    QCommandLineOption linger{{QStringLiteral("screenshot-linger-ms")},
                              QStringLiteral("Stay open this long after the grab (default 3000)."), QStringLiteral("MS")};
    QCommandLineOption list{{QStringLiteral("list-panels")},
                            QStringLiteral("Print the dock names (for --screenshot-panel) and exit.")};

    Parser() {
        p.setApplicationDescription(QStringLiteral(
            "MoE Workbench: chat with a DeepSeek-style MoE model and watch its routing. Without options it starts "
            "its own engine with the model used last time (the embedded demo model, trained by this engine, on a first "
            "run)."));
        p.addHelpOption();
        p.addVersionOption();
        p.addOptions({url, key, model, demo, backend, db, panel, out, linger, list});
    }
};

// --help and --version print and exit before a QApplication exists: QApplication needs a display,
// and neither answer does (e.g. over ssh, in a container, in a packaging script).
bool wantsOnlyText(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h") || !std::strcmp(a, "-?") || !std::strcmp(a, "--help-all") ||
            !std::strcmp(a, "--version") || !std::strcmp(a, "-v"))
            return true;
    }
    return false;
}

Options parseOptions(const QCoreApplication& app) {
    Parser parser;
    QCommandLineParser& p = parser.p;
    p.process(app);  // --help / --version: prints and exits
    Options o{p.value(parser.url), p.value(parser.key),   p.value(parser.model), p.value(parser.backend),
              p.value(parser.db),  p.value(parser.panel), p.value(parser.out)};
    if (o.api_key.isEmpty()) o.api_key = qEnvironmentVariable("MOE_WORKBENCH_API_KEY");
    if (p.isSet(parser.linger)) o.screenshot_linger_ms = p.value(parser.linger).toInt();
    o.list_panels = p.isSet(parser.list);
    o.demo = p.isSet(parser.demo);
    if (o.screenshot_panel.isEmpty() != o.screenshot_out.isEmpty()) {
        QTextStream(stderr) << "moe-workbench: --screenshot-panel and --screenshot-out go together\n";
        std::exit(64);
    }
    if (o.demo && !o.model_dir.isEmpty()) {
        QTextStream(stderr) << "moe-workbench: --demo and --model exclude each other\n";
        std::exit(64);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    if (wantsOnlyText(argc, argv)) {
        QCoreApplication text_only(argc, argv);
        describeApp(text_only);
        parseOptions(text_only);  // exits after printing
        return 0;
    }
    QApplication app(argc, argv);
    describeApp(app);
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
        // Start where the user left off: the last model that still exists, unless told otherwise.
        engine.model_dir = o.model_dir;
        if (engine.model_dir.isEmpty() && !o.demo && o.screenshot_panel.isEmpty())
            engine.model_dir = moe::ui::MainWindow::startupModel();
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
