// RAII transaction: rolled back unless commit() succeeded, so an early return or a failed statement
// never leaves half a write behind.
#pragma once

#include <QSqlDatabase>

namespace moe::ui {

class SqlTransaction {
public:
    explicit SqlTransaction(QSqlDatabase db) : db_(std::move(db)), open_(db_.transaction()) {}
    ~SqlTransaction() {
        if (open_) db_.rollback();
    }
    SqlTransaction(const SqlTransaction&) = delete;
    SqlTransaction& operator=(const SqlTransaction&) = delete;

    bool isOpen() const { return open_; }
    bool commit() {
        if (!open_) return false;
        open_ = !db_.commit();
        return !open_;
    }

private:
    QSqlDatabase db_;
    bool open_;
};

}  // namespace moe::ui
