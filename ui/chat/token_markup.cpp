#include "token_markup.h"

#include <QObject>

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
    const bool speculative = hasDraftedTokens(tokens);
    QString html;
    html.reserve(tokens.size() * 100);
    for (int i = 0; i < tokens.size(); ++i) {
        const CompletionToken& t = tokens[i];
        const char* const* palette = t.drafted ? kDraftedTokenBackgrounds : kTokenBackgrounds;
        const QString background = QString::fromLatin1(i == selected ? kSelectedTokenBackground : palette[i % 2]);
        QString title = QObject::tr("token %1, id %2").arg(i).arg(t.id);
        if (speculative)
            title += t.drafted ? QObject::tr(" — drafted ahead by the MTP module and kept by the model")
                               : QObject::tr(" — chosen by the model itself");
        html += QStringLiteral("<a href=\"tok:%1\" title=\"%2\" style=\"background-color:%3;"
                               "color:#202020;text-decoration:none;\">%4</a>")
                    .arg(i)
                    .arg(title.toHtmlEscaped(), background, visibleText(t));
    }
    return html;
}

QString tokenViewMarkup(const QVector<CompletionToken>& tokens, int selected) {
    if (!hasDraftedTokens(tokens)) return tokenMarkup(tokens, selected);
    const int drafted = draftedTokenCount(tokens);
    const QString legend =
        QObject::tr("<p style=\"color:#404040;\">Written with speculative decoding: "
                    "<span style=\"background-color:%1;\">&nbsp;green&nbsp;</span> tokens (%2 of %3) were drafted "
                    "ahead by the MTP module and kept by the model; "
                    "<span style=\"background-color:%4;\">&nbsp;blue&nbsp;</span> and "
                    "<span style=\"background-color:%5;\">&nbsp;beige&nbsp;</span> ones the model chose itself "
                    "while checking the drafts.</p>")
            .arg(QString::fromLatin1(kDraftedTokenBackgrounds[0]))
            .arg(drafted)
            .arg(tokens.size())
            .arg(QString::fromLatin1(kTokenBackgrounds[0]), QString::fromLatin1(kTokenBackgrounds[1]));
    return legend + tokenMarkup(tokens, selected);
}

bool hasDraftedTokens(const QVector<CompletionToken>& tokens) { return draftedTokenCount(tokens) > 0; }

int draftedTokenCount(const QVector<CompletionToken>& tokens) {
    int n = 0;
    for (const CompletionToken& t : tokens) n += t.drafted ? 1 : 0;
    return n;
}

int tokenIndexFromAnchor(const QString& anchor) {
    if (!anchor.startsWith(QLatin1String("tok:"))) return -1;
    bool ok = false;
    const int index = anchor.mid(4).toInt(&ok);
    return ok && index >= 0 ? index : -1;
}

}  // namespace moe::ui
