// Help › About: what this build is (version, commit, Qt), what it is connected to (engine, model,
// backend, GPU — from the engine's /v1/models), where the documentation is, and the licences of
// the libraries and data it ships with (each with its Debian copyright file when installed).
#pragma once

#include <QDialog>
#include <QList>
#include <QString>
#include <QUrl>

namespace moe::ui {

struct BuildInfo;

// What the window knows about the engine right now ("" where unknown).
struct EngineFacts {
    QString connection;      // "local engine (pid 42)" / "http://host:8000"
    QString model;           // model id
    QString architecture;    // "deepseek_v3"
    int context_tokens = 0;  // max_context
    QString backend;         // "cpu" / "cuda"
    QString backend_detail;  // the engine's own description (for CUDA: the GPU's name and memory)
};

struct ThirdPartyLicence {
    const char* name;
    const char* used_for;
    const char* licence;
    const char* debian_package;  // its /usr/share/doc/<package>/copyright names every author; "" for data
};

const QList<ThirdPartyLicence>& thirdPartyLicences();

// The dialog's text (HTML); tests read it.
QString aboutHtml(const BuildInfo& build, const EngineFacts& engine, const QUrl& docs);

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    AboutDialog(const QString& html, QWidget* parent = nullptr);
};

}  // namespace moe::ui
