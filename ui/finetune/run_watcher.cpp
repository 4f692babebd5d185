#include "run_watcher.h"

#include <algorithm>

#include "train_api.h"

namespace moe::ui::finetune {

RunWatcher::RunWatcher(TrainApi* api, QObject* parent) : QObject(parent), api_(api) {
    timer_.setInterval(kHistoryIntervalMs);
    connect(&timer_, &QTimer::timeout, this, &RunWatcher::poll);
}

bool RunWatcher::isFinal(const QString& state) {
    return state == QLatin1String("done") || state == QLatin1String("cancelled") || state == QLatin1String("failed") ||
           state == QLatin1String("stopped");
}

void RunWatcher::watch(const QString& id) {
    id_ = id;
    state_.clear();
    since_ = -1;
    polls_ = 0;
    status_in_flight_ = history_in_flight_ = final_history_pending_ = false;
    timer_.stop();
    if (id_.isEmpty()) return;
    fetchStatus();
    fetchHistory();
    timer_.start();
}

void RunWatcher::refresh() {
    if (id_.isEmpty()) return;
    fetchStatus();
    if (!timer_.isActive() && !isFinal(state_)) timer_.start();
}

void RunWatcher::poll() {
    fetchHistory();
    if (++polls_ % kStatusEveryPolls == 0) fetchStatus();
}

void RunWatcher::fetchStatus() {
    if (status_in_flight_) return;
    status_in_flight_ = true;
    const QString id = id_;
    api_->status(id, this, [this, id](const Reply& r) {
        if (id != id_) return;  // another run is watched now
        status_in_flight_ = false;
        if (!r.ok()) {
            emit failed(r.error);
            return;
        }
        emit statusArrived(r.body);
        onState(r.body.value("state").toString());
    });
}

void RunWatcher::fetchHistory() {
    if (history_in_flight_) return;
    history_in_flight_ = true;
    const QString id = id_;
    api_->history(id, since_, this, [this, id](const Reply& r) {
        if (id != id_) return;
        history_in_flight_ = false;
        if (!r.ok()) {
            emit failed(r.error);
            return;
        }
        const QJsonArray events = r.body.value("events").toArray();
        for (const QJsonValue& e : events)
            if (e.toObject().value("event") == QLatin1String("step"))
                since_ = std::max(since_, e.toObject().value("step").toInt() - 1);
        if (!events.isEmpty()) emit eventsArrived(events);
        if (final_history_pending_) {
            final_history_pending_ = false;
            timer_.stop();
        }
    });
}

// A run that is over gets one last history poll (the events written before it ended), then none.
void RunWatcher::onState(const QString& state) {
    state_ = state;
    if (!isFinal(state) || !timer_.isActive() || final_history_pending_) return;
    final_history_pending_ = true;
    history_in_flight_ = false;  // a poll in flight may predate the end: ask again
    fetchHistory();
}

}  // namespace moe::ui::finetune
