#include "connection_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

namespace moe::ui {

ConnectionDialog::ConnectionDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Connect to server"));
    url_ = new QLineEdit(this);
    url_->setPlaceholderText(QStringLiteral("http://127.0.0.1:30000"));
    key_ = new QLineEdit(this);
    key_->setEchoMode(QLineEdit::Password);
    key_->setPlaceholderText(tr("empty when the server needs none"));
    error_ = new QLabel(this);
    error_->setStyleSheet(QStringLiteral("color: #b00020;"));
    error_->hide();
    auto* note = new QLabel(tr("Any OpenAI-compatible server (moe-engine serve, vLLM, SGLang). Routing views need "
                               "routed experts: SGLang started with --enable-return-routed-experts, or our engine. "
                               "The key is kept for this session only."),
                            this);
    note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &ConnectionDialog::validateAndAccept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* form = new QFormLayout;
    form->addRow(tr("Server URL"), url_);
    form->addRow(tr("API key"), key_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(note);
    layout->addLayout(form);
    layout->addWidget(error_);
    layout->addWidget(buttons);
}

void ConnectionDialog::setUrl(const QString& url) { url_->setText(url); }
QString ConnectionDialog::apiKey() const { return key_->text().trimmed(); }

QUrl ConnectionDialog::baseUrl() const {
    QString ignored;
    return normaliseBaseUrl(url_->text(), &ignored);
}

QUrl ConnectionDialog::normaliseBaseUrl(const QString& text, QString* error) {
    QString t = text.trimmed();
    while (t.endsWith(QLatin1Char('/'))) t.chop(1);
    if (t.endsWith(QLatin1String("/v1"))) t.chop(3);
    const QUrl url(t, QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) ||
        url.host().isEmpty()) {
        *error = tr("\"%1\" is not an http(s) URL with a host, e.g. http://127.0.0.1:30000").arg(text.trimmed());
        return {};
    }
    return url;
}

void ConnectionDialog::validateAndAccept() {
    QString error;
    if (normaliseBaseUrl(url_->text(), &error).isEmpty()) {
        error_->setText(error);
        error_->show();
        return;
    }
    accept();
}

}  // namespace moe::ui
