#include "engine_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>

namespace moe::ui {

namespace {
const char* const kWarningStyle = "background: #fff3cd; color: #664d03;";
const char* const kErrorStyle = "background: #f8d7da; color: #842029;";
const char* const kOkStyle = "background: #d1e7dd; color: #0f5132;";
constexpr int kRecoveredVisibleMs = 6'000;
}  // namespace

EngineBanner::EngineBanner(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("engineBanner"));
    setAttribute(Qt::WA_StyledBackground);
    label_ = new QLabel(this);
    label_->setObjectName(QStringLiteral("engineBannerText"));
    label_->setWordWrap(true);
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    restart_ = new QPushButton(tr("Restart engine"), this);
    connect(restart_, &QPushButton::clicked, this, &EngineBanner::restartRequested);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 4, 8, 4);
    layout->addWidget(label_, 1);
    layout->addWidget(restart_);
    hide_timer_.setSingleShot(true);
    connect(&hide_timer_, &QTimer::timeout, this, &QWidget::hide);
    hide();
}

void EngineBanner::present(const QString& text, const QString& style, bool offer_restart) {
    hide_timer_.stop();
    label_->setText(text);
    setStyleSheet(QStringLiteral("#engineBanner { %1 } QLabel { %1 }").arg(style));
    restart_->setVisible(offer_restart);
    show();
}

void EngineBanner::showCrash(const QString& reason) {
    crash_reason_ = reason;
    present(tr("The engine stopped: %1. Restarting it — your conversation is kept; an interrupted reply is "
               "marked and can be retried.")
                .arg(reason),
            QString::fromLatin1(kWarningStyle), false);
}

void EngineBanner::showRestarting(int attempt) {
    present(tr("The engine stopped (%1). Restarting it (attempt %2)… your conversation is kept.")
                .arg(crash_reason_.isEmpty() ? tr("no reason given") : crash_reason_)
                .arg(attempt),
            QString::fromLatin1(kWarningStyle), false);
}

void EngineBanner::showGaveUp(const QString& reason) {
    present(tr("The engine could not be started: %1").arg(reason), QString::fromLatin1(kErrorStyle), true);
}

void EngineBanner::showRecovered() {
    if (isHidden()) return;  // nothing went wrong: nothing to announce
    present(tr("The engine is running again. The conversation was kept."), QString::fromLatin1(kOkStyle), false);
    crash_reason_.clear();
    hide_timer_.start(kRecoveredVisibleMs);
}

void EngineBanner::showProblem(const QString& text) { present(text, QString::fromLatin1(kErrorStyle), false); }

QString EngineBanner::text() const { return label_->text(); }

}  // namespace moe::ui
