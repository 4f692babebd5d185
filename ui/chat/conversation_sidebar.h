// The list of stored conversations with search (titles and message text), new, rename and delete.
#pragma once

#include <QWidget>

class QLineEdit;
class QListWidget;

namespace moe::ui {

class ConversationStore;

class ConversationSidebar : public QWidget {
    Q_OBJECT
public:
    explicit ConversationSidebar(ConversationStore* store, QWidget* parent = nullptr);

    void refresh();
    void setSearch(const QString& text);
    void setCurrent(qint64 conversation_id);
    QListWidget* list() const { return list_; }
    qint64 idAt(int row) const;

signals:
    void openRequested(qint64 conversation_id);
    void newRequested();
    void deleted(qint64 conversation_id);

private:
    void renameSelected();
    void deleteSelected();

    ConversationStore* store_;
    QLineEdit* search_;
    QListWidget* list_;
    qint64 current_ = -1;
};

}  // namespace moe::ui
