#include "train_api.h"

#include <QUrl>

namespace moe::ui::finetune {

namespace {
const QString kTrain = QStringLiteral("/workbench/v1/train");
QString runPath(const QString& id) { return kTrain + QLatin1Char('/') + QString::fromUtf8(QUrl::toPercentEncoding(id)); }
}  // namespace

void TrainApi::plan(const QJsonObject& description, QObject* context, Done done) {
    // The engine opens the model and reads the data to answer: no short time limit.
    client_->sendJson("POST", kTrain + QStringLiteral("/plan"), description, context, std::move(done), 0);
}

void TrainApi::start(const QJsonObject& description, QObject* context, Done done) {
    client_->sendJson("POST", kTrain, description, context, std::move(done));
}

void TrainApi::list(QObject* context, Done done) { client_->sendJson("GET", kTrain, {}, context, std::move(done)); }

void TrainApi::status(const QString& id, QObject* context, Done done) {
    client_->sendJson("GET", runPath(id), {}, context, std::move(done));
}

void TrainApi::history(const QString& id, int since, QObject* context, Done done) {
    client_->sendJson("GET", runPath(id) + QStringLiteral("/history?since=%1").arg(since), {}, context, std::move(done));
}

void TrainApi::control(const QString& id, const QString& action, QObject* context, Done done) {
    client_->sendJson("POST", runPath(id) + QLatin1Char('/') + action, {}, context, std::move(done));
}

void TrainApi::exportCheckpoint(const QString& id, const QString& dtype, QObject* context, Done done) {
    client_->sendJson("POST", runPath(id) + QStringLiteral("/export"), QJsonObject{{"dtype", dtype}}, context,
                      std::move(done), 0);
}

}  // namespace moe::ui::finetune
