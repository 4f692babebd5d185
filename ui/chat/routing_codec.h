// Serialising a reply's routed experts and completion tokens for the conversation database.
// Routing is a compact binary blob (QDataStream, versioned); tokens are JSON (small, readable):
// [id, text] per token, [id, text, true] for one an MTP module drafted (speculative decoding).
#pragma once

#include <QByteArray>
#include <QString>
#include <QVector>

#include <optional>

#include "engine_client.h"

namespace moe::ui {

QByteArray encodeRouting(const RoutedExperts& routing);
// nullopt when the blob is not one encodeRouting wrote (wrong version, truncated, inconsistent sizes).
std::optional<RoutedExperts> decodeRouting(const QByteArray& blob);

QString encodeTokens(const QVector<CompletionToken>& tokens);
QVector<CompletionToken> decodeTokens(const QString& json);

}  // namespace moe::ui
