#include "models/table_setup.h"

#include <QHeaderView>
#include <QProgressBar>
#include <QTableWidget>

#include "models/engine_command.h"
#include "models/engine_runner.h"
#include "error_notice.h"

namespace moe::ui::models {

QTableWidget* make_read_only_table(const QStringList& headers, int stretch_column, QWidget* parent) {
    auto* table = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    table->setHorizontalHeaderLabels(headers);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionMode(QAbstractItemView::NoSelection);
    table->horizontalHeader()->setSectionResizeMode(stretch_column, QHeaderView::Stretch);
    table->verticalHeader()->setVisible(false);
    return table;
}

QProgressBar* make_busy_indicator(QWidget* parent) {
    auto* busy = new QProgressBar(parent);
    busy->setRange(0, 0);
    busy->setMaximumWidth(120);
    busy->setVisible(false);
    return busy;
}

ErrorNotice* make_error_notice(QWidget* parent) { return new ErrorNotice(parent); }

void JsonQuery::start(const EngineRunner& runner, const QStringList& arguments, QObject* owner, AnswerHandler on_answer,
                      FinishedHandler on_finished) {
    if (process_) process_->deleteLater();  // its destructor stops the child
    answered_ = false;
    reported_error_.clear();
    EngineCommand* command = runner.create(arguments, owner);
    process_ = command;
    // A replaced child can still deliver what it printed before its deferred delete: ignored.
    QObject::connect(command, &EngineCommand::jsonReceived, owner, [this, command, on_answer](const QJsonObject& object) {
        if (command != process_) return;
        if (const QString message = engine_error_message(object); !message.isEmpty()) {
            reported_error_ = message;
        } else {
            answered_ = true;
            on_answer(object);
        }
    });
    QObject::connect(command, &EngineCommand::badLine, owner, [this, command](const QString& message) {
        if (command == process_) reported_error_ = message;
    });
    QObject::connect(command, &EngineCommand::finished, owner,
                     [this, command, on_finished](int exit_code, bool crashed, const QString& stderr_tail) {
                         if (command != process_) return;
                         process_->deleteLater();
                         process_ = nullptr;
                         on_finished(exit_code, crashed, stderr_tail);
                     });
    command->start();
}

bool JsonQuery::isRunning() const { return process_ && process_->isRunning(); }

bool JsonQuery::succeeded(int exit_code, bool crashed) const {
    return exit_code == 0 && !crashed && answered_ && reported_error_.isEmpty();
}

QString JsonQuery::failureReason(const QString& stderr_tail, const QString& fallback) const {
    if (!reported_error_.isEmpty()) return reported_error_;
    if (!stderr_tail.isEmpty()) return stderr_tail;
    return fallback;
}

}  // namespace moe::ui::models
