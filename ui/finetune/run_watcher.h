// Follows one fine-tune run on the engine: its status (state, data report, plan, checkpoints,
// error) and its history (step and eval events), polled while the run is active — history at most
// four times a second, status once a second, one request of each kind in flight — and fetched one
// last time when it is over. Answers for a run no longer watched are dropped. Never blocks.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>

namespace moe::ui::finetune {

class TrainApi;

class RunWatcher : public QObject {
    Q_OBJECT
public:
    static constexpr int kHistoryIntervalMs = 250;  // the curves move at most 4 times a second
    static constexpr int kStatusEveryPolls = 4;     // state, checkpoints: once a second

    RunWatcher(TrainApi* api, QObject* parent = nullptr);

    // Starts following run `id` from its first event ("" stops following).
    void watch(const QString& id);
    QString runId() const { return id_; }
    QString state() const { return state_; }
    bool isPolling() const { return timer_.isActive(); }
    // Asks for the status now (after pause / resume / cancel) and polls again if the run is active.
    void refresh();

    // done, cancelled, failed, stopped: nothing will change any more.
    static bool isFinal(const QString& state);

signals:
    void statusArrived(const QJsonObject& status);
    void eventsArrived(const QJsonArray& events);
    void failed(const QString& detail);

private:
    void poll();
    void fetchStatus();
    void fetchHistory();
    void onState(const QString& state);

    TrainApi* api_;
    QString id_;
    QString state_;
    QTimer timer_;
    int polls_ = 0;
    int since_ = -1;  // one step before the last step event seen (an eval follows its step's event)
    bool status_in_flight_ = false;
    bool history_in_flight_ = false;
    bool final_history_pending_ = false;
};

}  // namespace moe::ui::finetune
