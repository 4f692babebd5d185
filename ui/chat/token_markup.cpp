#include "token_markup.h"

namespace moe::ui {

namespace {

QString visibleText(const CompletionToken& t) {
    if (t.text.isEmpty()) return QStringLiteral("·");  // a partial UTF-8 byte: keep it clickable
    QString html = t.text.toHtmlEscaped();
    html.replace(QLatin1Char(' '), QStringLiteral("&nbsp;"));
    html.replace(QLatin1Char('\t'), QStringLiteral("&nbsp;&nbsp;&nbsp;&nbsp;"));
    html.replace(QLatin1Char('\n'), QStringLiteral("↵<br>"));
    return html;
}

}  // namespace

QString tokenMarkup(const QVector<CompletionToken>& tokens, int selected) {
    static const char* const kBackgrounds[] = {"#dbe9f7", "#f7e6cf"};
    QString html;
    html.reserve(tokens.size() * 80);
    for (int i = 0; i < tokens.size(); ++i) {
        const QString background = i == selected ? QStringLiteral("#f5c542") : QString::fromLatin1(kBackgrounds[i % 2]);
        html += QStringLiteral("<a href=\"tok:%1\" title=\"token %1, id %2\" style=\"background-color:%3;"
                               "color:#202020;text-decoration:none;\">%4</a>")
                    .arg(i)
                    .arg(tokens[i].id)
                    .arg(background, visibleText(tokens[i]));
    }
    return html;
}

int tokenIndexFromAnchor(const QString& anchor) {
    if (!anchor.startsWith(QLatin1String("tok:"))) return -1;
    bool ok = false;
    const int index = anchor.mid(4).toInt(&ok);
    return ok && index >= 0 ? index : -1;
}

}  // namespace moe::ui
