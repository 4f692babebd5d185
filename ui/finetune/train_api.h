// The engine's fine-tune routes (docs/api.md "Training"; engine/server/train_routes.cpp), over
// EngineClient::sendJson: every call is asynchronous and answers `done` with the HTTP status, the
// JSON body or a readable error. `context` ends the call's interest when it is destroyed.
#pragma once

#include <QJsonObject>
#include <QString>

#include <functional>

#include "engine_client.h"

namespace moe::ui::finetune {

using Reply = EngineClient::JsonReply;
using Done = std::function<void(const Reply&)>;

class TrainApi {
public:
    explicit TrainApi(EngineClient* client) : client_(client) {}

    // POST /workbench/v1/train/plan: {data_report, plan} for a run description, without training.
    void plan(const QJsonObject& description, QObject* context, Done done);
    void start(const QJsonObject& description, QObject* context, Done done);  // 202 {id, out, state}
    void list(QObject* context, Done done);                                    // {data: [{id, state, ...}]}
    void status(const QString& id, QObject* context, Done done);
    void history(const QString& id, int since, QObject* context, Done done);   // {events: [...]}
    // action: "pause" | "resume" | "cancel"
    void control(const QString& id, const QString& action, QObject* context, Done done);
    // {"dtype"} -> {out}: the latest checkpoint as a Hugging Face checkpoint folder (no time limit:
    // a large model takes minutes).
    void exportCheckpoint(const QString& id, const QString& dtype, QObject* context, Done done);

    // An engine without the route answers 404 (or 405: another method takes that path).
    static bool routeMissing(const Reply& reply) { return reply.status == 404 || reply.status == 405; }

private:
    EngineClient* client_;
};

}  // namespace moe::ui::finetune
