// Read-only rich text that is exactly as tall as its content and wraps anywhere when a "word" is
// wider than the view (untrained models and code emit long unbroken runs), so a reply never forces
// a horizontal scroll bar. Used for a reply's prose (QTextDocument markdown), its reasoning and its
// token view (anchors: anchorClicked).
#pragma once

#include <QTextBrowser>

namespace moe::ui {

class ProseView : public QTextBrowser {
    Q_OBJECT
public:
    explicit ProseView(QWidget* parent = nullptr);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void fitHeight();
};

}  // namespace moe::ui
