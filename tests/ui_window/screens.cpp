#include "screens.h"

#include <QFile>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QScreen>

namespace moe::ui::test {

void configureOffscreenScreens(const QString& dir) {
    QJsonArray screens;
    int x = 0;
    for (const QSize& size : {kLaptopSmall, kLaptop, kDesktop}) {
        screens << QJsonObject{{"name", QStringLiteral("screen-%1x%2").arg(size.width()).arg(size.height())},
                               {"x", x}, {"y", 0}, {"width", size.width()}, {"height", size.height()},
                               {"logicalDpi", 96}, {"logicalBaseDpi", 96}, {"dpr", 1}};
        x += size.width();
    }
    const QString path = dir + QStringLiteral("/screens.json");
    QFile file(path);
    if (file.open(QIODevice::WriteOnly)) file.write(QJsonDocument(QJsonObject{{"screens", screens}}).toJson());
    qputenv("QT_QPA_PLATFORM", QStringLiteral("offscreen:configfile=%1").arg(path).toUtf8());
}

QScreen* screenOfSize(const QSize& size) {
    for (QScreen* s : QGuiApplication::screens())
        if (s->geometry().size() == size) return s;
    return nullptr;
}

}  // namespace moe::ui::test
