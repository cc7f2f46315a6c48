// KextController: the graphical controller for a kext configured by
// kextconf (docs/gui.md). Runs as the logged-in user: reading works for
// anyone; changes go through kextconfd, which takes them from root and the
// members of its admin group.
#include "main_window.hpp"
#include <kextconf/admin_protocol.hpp>
#include <kextconf/defaults.hpp>

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("kextconf"));
    QApplication::setOrganizationDomain(QStringLiteral("kextconf.org"));
    QApplication::setApplicationName(QStringLiteral("KextController"));
    QApplication::setApplicationVersion(QStringLiteral(KEXTCONF_VERSION));

    kextconf::gui::WindowOptions opts;
    opts.daemon_socket = kextconf::admin::default_socket_path();
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "KextController: shows a kext's state, tunables and events live, and changes them through kextconfd "
        "(root and members of kextconfd's --admin-group; everyone else reads)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption kext(
        {QStringLiteral("k"), QStringLiteral("kext")},
        QStringLiteral("bundle id of the kext to manage (default %1)").arg(QString::fromStdString(opts.bundle_id)),
        QStringLiteral("BUNDLE-ID"));
    const QCommandLineOption bundle(
        QStringLiteral("kext-bundle"),
        QStringLiteral("the .kext that Load loads (default %1)").arg(QString::fromStdString(opts.kext_bundle)),
        QStringLiteral("PATH"));
    const QCommandLineOption socket(QStringLiteral("daemon-socket"),
                                    QStringLiteral("kextconfd's admin socket (default $KEXTCONFD_SOCKET, else %1)")
                                        .arg(QStringLiteral(KEXTCONF_DEFAULT_ADMIN_SOCKET)),
                                    QStringLiteral("PATH"));
    const QCommandLineOption config(QStringLiteral("config"),
                                    QStringLiteral("config file Open Config opens while kextconfd cannot say "
                                                   "(default %1)")
                                        .arg(QString::fromStdString(opts.config)),
                                    QStringLiteral("PATH"));
    parser.addOptions({kext, bundle, socket, config});
    parser.process(app);
    if (parser.isSet(kext))
        opts.bundle_id = parser.value(kext).toStdString();
    if (parser.isSet(bundle))
        opts.kext_bundle = parser.value(bundle).toStdString();
    if (parser.isSet(socket))
        opts.daemon_socket = parser.value(socket).toStdString();
    if (parser.isSet(config))
        opts.config = parser.value(config).toStdString();

    kextconf::gui::MainWindow window(opts);
    window.show();
    return QApplication::exec();
}
