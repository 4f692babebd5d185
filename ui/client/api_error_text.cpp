#include "api_error_text.h"

#include <QJsonDocument>

namespace moe::ui {
namespace {

QString describe(const QJsonObject& error) {
    QString code = error.value("code").toString();
    if (code.isEmpty() && error.value("code").isDouble()) code = QString::number(error.value("code").toInt());
    if (code.isEmpty()) code = error.value("type").toString();
    QString text = error.value("message").toString();
    if (text.isEmpty()) text = QStringLiteral("(no message)");
    if (!code.isEmpty()) text = code + QStringLiteral(": ") + text;
    const QString param = error.value("param").toString();
    if (!param.isEmpty()) text += QStringLiteral(" (param %1)").arg(param);
    return text;
}

QString where(const QString& method, const QUrl& url) {
    return method + QLatin1Char(' ') + url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery);
}

}  // namespace

QString http_error_text(int status, const QByteArray& body, const QString& method, const QUrl& url) {
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    QString detail;
    if (doc.isObject() && doc.object().value("error").isObject()) {
        detail = describe(doc.object().value("error").toObject());
    } else if (doc.isObject() && doc.object().value("detail").isString()) {
        detail = doc.object().value("detail").toString();  // FastAPI servers (vLLM, SGLang)
    } else {
        detail = QString::fromUtf8(body.left(300)).trimmed();
        if (detail.isEmpty()) detail = QStringLiteral("(empty body)");
    }
    return QStringLiteral("HTTP %1 %2 — %3").arg(status).arg(detail, where(method, url));
}

QString api_error_text(const QJsonObject& error, const QUrl& url) {
    return describe(error) + QStringLiteral(" — ") + url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery);
}

QString transport_error_text(const QString& reason, const QString& method, const QUrl& url) {
    return QStringLiteral("cannot reach %1: %2").arg(where(method, url), reason);
}

}  // namespace moe::ui
