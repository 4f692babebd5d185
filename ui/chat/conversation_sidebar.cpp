#include "conversation_sidebar.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "conversation_store.h"

namespace moe::ui {

ConversationSidebar::ConversationSidebar(ConversationStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    search_ = new QLineEdit(this);
    search_->setObjectName(QStringLiteral("conversationSearch"));
    search_->setPlaceholderText(tr("Search conversations"));
    search_->setClearButtonEnabled(true);
    list_ = new QListWidget(this);
    list_->setObjectName(QStringLiteral("conversationList"));
    // Tool buttons keep the row narrow, so the list can be a slim column beside the conversation.
    auto* add = new QToolButton(this);
    add->setText(tr("New"));
    add->setToolTip(tr("Start a new conversation"));
    auto* rename = new QToolButton(this);
    rename->setText(tr("Rename"));
    auto* remove = new QToolButton(this);
    remove->setText(tr("Delete"));
    connect(search_, &QLineEdit::textChanged, this, &ConversationSidebar::refresh);
    connect(list_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit openRequested(item->data(Qt::UserRole).toLongLong()); });
    connect(list_, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { emit openRequested(item->data(Qt::UserRole).toLongLong()); });
    connect(add, &QToolButton::clicked, this, &ConversationSidebar::newRequested);
    connect(rename, &QToolButton::clicked, this, &ConversationSidebar::renameSelected);
    connect(remove, &QToolButton::clicked, this, &ConversationSidebar::deleteSelected);

    auto* buttons = new QHBoxLayout;
    for (QToolButton* b : {add, rename, remove}) buttons->addWidget(b);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(search_);
    layout->addWidget(list_, 1);
    layout->addLayout(buttons);
    refresh();
}

void ConversationSidebar::refresh() {
    list_->clear();
    for (const ConversationSummary& c : store_->conversations(search_->text())) {
        auto* item = new QListWidgetItem(c.title.isEmpty() ? tr("(untitled)") : c.title, list_);
        item->setData(Qt::UserRole, c.id);
        item->setToolTip(tr("%n message(s), last change %1", nullptr, c.message_count)
                             .arg(QDateTime::fromMSecsSinceEpoch(c.updated_at_ms).toString(Qt::ISODate)));
        if (c.id == current_) list_->setCurrentItem(item);
    }
}

void ConversationSidebar::setSearch(const QString& text) { search_->setText(text); }

void ConversationSidebar::setCurrent(qint64 conversation_id) {
    current_ = conversation_id;
    refresh();
}

qint64 ConversationSidebar::idAt(int row) const {
    const QListWidgetItem* item = list_->item(row);
    return item ? item->data(Qt::UserRole).toLongLong() : -1;
}

void ConversationSidebar::renameSelected() {
    QListWidgetItem* item = list_->currentItem();
    if (!item) return;
    bool ok = false;
    const QString title =
        QInputDialog::getText(this, tr("Rename conversation"), tr("Title:"), QLineEdit::Normal, item->text(), &ok);
    if (!ok || title.trimmed().isEmpty()) return;
    if (!store_->renameConversation(item->data(Qt::UserRole).toLongLong(), title.trimmed()))
        QMessageBox::warning(this, tr("Rename failed"), store_->lastError());
    refresh();
}

void ConversationSidebar::deleteSelected() {
    QListWidgetItem* item = list_->currentItem();
    if (!item) return;
    const qint64 id = item->data(Qt::UserRole).toLongLong();
    if (QMessageBox::question(this, tr("Delete conversation"), tr("Delete \"%1\"?").arg(item->text())) !=
        QMessageBox::Yes)
        return;
    if (!store_->deleteConversation(id)) QMessageBox::warning(this, tr("Delete failed"), store_->lastError());
    refresh();
    emit deleted(id);
}

}  // namespace moe::ui
