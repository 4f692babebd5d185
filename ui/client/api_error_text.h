// Readable messages for failed requests: the server's OpenAI-style error body
// {"error": {"message", "type", "code", "param"}} or a transport failure, always naming the URL.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QUrl>

namespace moe::ui {

// "HTTP 400 invalid_value: temperature must be in [0, 2] (param temperature) — POST http://…/v1/chat/completions"
QString http_error_text(int status, const QByteArray& body, const QString& method, const QUrl& url);
// An {"error": {...}} object that arrived inside a stream (or a model-load event).
QString api_error_text(const QJsonObject& error, const QUrl& url);
// "cannot reach http://…: Connection refused"
QString transport_error_text(const QString& reason, const QString& method, const QUrl& url);

}  // namespace moe::ui
