#include "error_notice.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QVBoxLayout>

namespace moe::ui {

namespace {
constexpr int kDetailsMaxHeightPx = 110;  // a few lines; the rest scrolls
}

ErrorNotice::ErrorNotice(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("errorNotice"));
    setStyleSheet(QStringLiteral("#errorNotice { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 3px; }"
                                 "#errorNotice QLabel { color: #8a1c1c; }"));
    line_ = new QLabel(this);
    line_->setObjectName(QStringLiteral("errorNoticeText"));
    line_->setWordWrap(true);
    line_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    line_->setTextFormat(Qt::PlainText);
    // Wrapped text must not set the panel's minimum width (a long URL did widen the window).
    line_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    line_->setMinimumWidth(60);
    details_button_ = new QToolButton(this);
    details_button_->setObjectName(QStringLiteral("errorNoticeDetailsButton"));
    details_button_->setText(tr("Details"));
    details_button_->setCheckable(true);
    details_button_->setAutoRaise(true);
    details_button_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    details_button_->setArrowType(Qt::RightArrow);
    details_button_->setToolTip(tr("The technical message behind this (for a bug report)"));
    details_ = new QPlainTextEdit(this);
    details_->setObjectName(QStringLiteral("errorNoticeDetails"));
    details_->setReadOnly(true);
    details_->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    details_->setMaximumHeight(kDetailsMaxHeightPx);
    details_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    details_->hide();
    connect(details_button_, &QToolButton::toggled, this, &ErrorNotice::setDetailsOpen);
    close_button_ = new QToolButton(this);
    close_button_->setObjectName(QStringLiteral("errorNoticeClose"));
    close_button_->setText(QStringLiteral("✕"));
    close_button_->setAutoRaise(true);
    close_button_->setToolTip(tr("Dismiss"));
    close_button_->hide();
    connect(close_button_, &QToolButton::clicked, this, &ErrorNotice::clear);

    auto* top = new QHBoxLayout;
    top->setContentsMargins(0, 0, 0, 0);
    top->addWidget(line_, 1);
    top->addWidget(details_button_, 0, Qt::AlignTop);
    top->addWidget(close_button_, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->setSpacing(2);
    layout->addLayout(top);
    layout->addWidget(details_);
    hide();
}

void ErrorNotice::showError(const QString& detail, const QString& activity) {
    const UserError error = explainError(detail, activity);
    present(error.text(), error.detail);
}

void ErrorNotice::showNotice(const QString& text) { present(text, QString()); }

void ErrorNotice::present(const QString& line, const QString& detail) {
    text_ = line;
    line_->setText(breakable(line));
    details_->setPlainText(detail);
    details_button_->setVisible(!detail.isEmpty());
    setDetailsOpen(false);
    show();
}

void ErrorNotice::clear() {
    text_.clear();
    line_->clear();
    details_->clear();
    setDetailsOpen(false);
    hide();
}

QString ErrorNotice::text() const { return isHidden() ? QString() : text_; }
QString ErrorNotice::detail() const { return details_->toPlainText(); }

QString ErrorNotice::fullText() const {
    if (isHidden()) return {};
    return detail().isEmpty() ? text_ : text_ + QLatin1Char('\n') + detail();
}

void ErrorNotice::setDismissible(bool on) { close_button_->setVisible(on); }

bool ErrorNotice::detailsOpen() const { return !details_->isHidden(); }

void ErrorNotice::setDetailsOpen(bool open) {
    open = open && !details_->toPlainText().isEmpty();
    if (details_button_->isChecked() != open) {
        const QSignalBlocker block(details_button_);
        details_button_->setChecked(open);
    }
    details_button_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
    details_->setVisible(open);
}

}  // namespace moe::ui
