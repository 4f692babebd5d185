// "Connect to server…": the base URL of any OpenAI-compatible server (our moe-engine serve, vLLM,
// SGLang with --enable-return-routed-experts for routing views) and its API key.
#pragma once

#include <QDialog>
#include <QUrl>

class QLabel;
class QLineEdit;

namespace moe::ui {

class ConnectionDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConnectionDialog(QWidget* parent = nullptr);

    void setUrl(const QString& url);
    QUrl baseUrl() const;  // without a trailing "/v1" (the client adds the paths)
    QString apiKey() const;

    // "http://host:8000/v1/" -> http://host:8000; empty QUrl with *error set when unusable.
    static QUrl normaliseBaseUrl(const QString& text, QString* error);

private:
    void validateAndAccept();

    QLineEdit* url_;
    QLineEdit* key_;
    QLabel* error_;
};

}  // namespace moe::ui
