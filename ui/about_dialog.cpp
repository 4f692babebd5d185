#include "about_dialog.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "build_info.h"

namespace moe::ui {

const QList<ThirdPartyLicence>& thirdPartyLicences() {
    static const QList<ThirdPartyLicence> licences = {
        {"Qt 6", "the window (moe-workbench)", "LGPL-3.0 (or GPL-2.0/3.0)", "libqt6core6"},
        {"QCustomPlot 2.1", "the heatmaps and charts (moe-workbench)", "GPL-3.0-or-later", "libqcustomplot2.1-qt6"},
        {"SQLite", "the conversation store, through Qt SQL (moe-workbench)", "public domain", "libsqlite3-0"},
        {"cpp-httplib", "the engine's HTTP server (moe-engine)", "MIT", "libcpp-httplib0.11"},
        {"nlohmann/json", "JSON (moe-engine)", "MIT", "nlohmann-json3-dev"},
        {"spdlog and {fmt}", "logging (moe-engine)", "MIT", "libspdlog1.10"},
        {"PCRE2", "the tokenizer's pre-tokenizer patterns (moe-engine)", "BSD-3-Clause", "libpcre2-8-0"},
        {"utf8proc", "Unicode normalisation in the tokenizer (moe-engine)", "MIT and Unicode", "libutf8proc2"},
        {"libcurl", "hub search and downloads (moe-engine)", "curl (MIT-style)", "libcurl4"},
        {"OpenSSL", "checksums of downloaded files (moe-engine)", "Apache-2.0", "libssl3"},
        {"NVIDIA CUDA runtime, cuBLAS", "the GPU backend, in builds with CUDA (moe-engine)", "NVIDIA CUDA Toolkit EULA", ""},
        {"Domain texts (resources/corpora)", "the per-domain routing runs", "CC0-1.0, written for this project", ""},
        {"Demo model and its tokenizer (resources/demo-model, resources/demo-trained)", "the embedded demo model",
         "trained by this project on the texts of resources/corpora/training (each source's licence there); the chat "
         "template is DeepSeek-V3's, from lenML's MIT-licensed tokenizer collection", ""},
        {"Untrained demo tokenizer (resources/demo)", "the untrained demo model (moe-engine demo --untrained)",
         "made for this project; its chat template is DeepSeek-V3's, from lenML's MIT-licensed tokenizer collection", ""},
    };
    return licences;
}

namespace {

QString row(const QString& name, const QString& value) {
    return QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(name.toHtmlEscaped(), value);
}

QString orUnknown(const QString& text, const QString& unknown) { return (text.isEmpty() ? unknown : text).toHtmlEscaped(); }

QString gpuText(const EngineFacts& e) {
    if (e.backend.isEmpty()) return QObject::tr("not reported");
    if (e.backend != QLatin1String("cuda")) return QObject::tr("none in use (the model runs on the %1)").arg(e.backend.toUpper());
    return e.backend_detail.toHtmlEscaped();
}

}  // namespace

QString aboutHtml(const BuildInfo& build, const EngineFacts& engine, const QUrl& docs) {
    QString html = QStringLiteral("<h2>MoE Workbench %1</h2>").arg(build.version.toHtmlEscaped());
    html += QObject::tr("<p>Chat with DeepSeek-style Mixture-of-Experts models and watch which experts every layer "
                        "chooses for every token.</p>");
    html += QStringLiteral("<table cellspacing='0' cellpadding='3'>");
    html += row(QObject::tr("Version"), build.version.toHtmlEscaped());
    html += row(QObject::tr("Commit"), build.commit.toHtmlEscaped());
    html += row(QObject::tr("Qt"), QObject::tr("%1 (built with %2)").arg(build.qt_runtime, build.qt_built).toHtmlEscaped());
    html += row(QObject::tr("Engine"), orUnknown(engine.connection, QObject::tr("not connected")));
    QString model = orUnknown(engine.model, QObject::tr("none loaded"));
    if (!engine.architecture.isEmpty()) model += QStringLiteral(" (%1)").arg(engine.architecture.toHtmlEscaped());
    if (engine.context_tokens > 0) model += QObject::tr(", reads up to %L1 tokens at once").arg(engine.context_tokens);
    html += row(QObject::tr("Model"), model);
    html += row(QObject::tr("Backend"), orUnknown(engine.backend.toUpper(), QObject::tr("not reported")));
    html += row(QObject::tr("GPU"), gpuText(engine));
    html += row(QObject::tr("Documentation"),
                docs.isValid() ? QStringLiteral("<a href='%1'>%2</a>").arg(docs.toString(), docs.toLocalFile().toHtmlEscaped())
                               : QObject::tr("not found (set MOE_DOCS_DIR to the folder with README.md)"));
    html += QStringLiteral("</table>");

    html += QObject::tr("<h3>Libraries and data it ships with</h3>");
    html += QStringLiteral("<table cellspacing='0' cellpadding='3'>");
    for (const ThirdPartyLicence& l : thirdPartyLicences()) {
        QString licence = QString::fromUtf8(l.licence).toHtmlEscaped();
        const QString copyright = QStringLiteral("/usr/share/doc/%1/copyright").arg(QLatin1String(l.debian_package));
        if (*l.debian_package && QFileInfo::exists(copyright))
            licence += QStringLiteral(" — <a href='%1'>%2</a>")
                           .arg(QUrl::fromLocalFile(copyright).toString(), QObject::tr("full text and authors"));
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td><td>%3</td></tr>")
                    .arg(QString::fromUtf8(l.name).toHtmlEscaped(), QString::fromUtf8(l.used_for).toHtmlEscaped(), licence);
    }
    html += QStringLiteral("</table>");
    return html;
}

AboutDialog::AboutDialog(const QString& html, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("aboutDialog"));
    setWindowTitle(tr("About MoE Workbench"));
    auto* text = new QTextBrowser(this);
    text->setObjectName(QStringLiteral("aboutText"));
    text->setOpenExternalLinks(true);
    text->setHtml(html);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(text);
    layout->addWidget(buttons);
    resize(760, 620);
}

}  // namespace moe::ui
