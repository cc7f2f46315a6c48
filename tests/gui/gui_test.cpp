// KextController's window against the real processes: a kextsim host with
// the reference kext and a kextconfd, over real sockets (QtTest, offscreen).
// The window is driven the way a user drives it (its editors, its buttons'
// slots) and checked against `kextconfctl --json status`, the config file
// and the kext.
#include "daemon_helpers.hpp"
#include "kext_reader.hpp"
#include "list_editor.hpp"
#include "main_window.hpp"
#include "tunable_model.hpp"
#include <kextconf/values.hpp>

#include <QApplication>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>

#include <cstdlib>
#include <grp.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

using namespace kctest;
using kextconf::gui::MainWindow;
using kextconf::gui::TunableModel;
using nlohmann::json;

namespace {

// A kextsim host, a config file and a kextconfd applying it.
struct Rig {
    explicit Rig(const std::vector<std::string>& daemon_args = {})
    {
        if (!host.ready())
            return;
        ::setenv("KEXTSIM_ROOT", host.root().c_str(), 1);
        ::mkdir(config_dir.c_str(), 0755);
        write_file(config, reference_config_text({{"label", "from-file"}}, "gui_test"));
        std::vector<std::string> argv{bin_path("kextconfd"), "--config",         config, "--state-dir", state_dir,
                                      "--admin-socket",      host.admin_socket()};
        argv.insert(argv.end(), daemon_args.begin(), daemon_args.end());
        daemon = std::make_unique<Process>(argv, SpawnOptions{host.env(), false});
        ok = wait_for_state(host, 2, {{"label", "from-file"}}) &&
             wait_until([&] { return ::access(host.admin_socket().c_str(), F_OK) == 0; }, 5000ms);
    }
    kextconf::gui::WindowOptions options() const
    {
        kextconf::gui::WindowOptions o;
        o.kext_bundle = kext_bundle();
        o.daemon_socket = host.admin_socket();
        o.config = config;
        return o;
    }

    KextsimHost host;
    const std::string config_dir = host.dir().file("etc");
    const std::string config = config_dir + "/config.json";
    const std::string state_dir = host.dir().file("state");
    std::unique_ptr<Process> daemon;
    bool ok = false;
};

json status(const Rig& rig)
{
    return status_json(rig.host).value_or(json::object());
}

std::string bound_max(const TunableModel& m, int row)
{
    const auto* d = m.desc(row);
    return d->type == KC_TYPE_UINT64 ? std::to_string(d->max.u) : std::to_string(d->max.i);
}

} // namespace

class GuiTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void table_matches_status();
    void edit_and_apply_changes_the_kext();
    void save_changes_the_file_and_the_daemon_applies_it();
    void out_of_range_edit_is_refused_with_the_bound();
    void unload_and_load_are_shown_live();
    void list_editor_takes_100000_entries();
    void bad_file_is_shown_with_its_position();
    void non_member_sees_read_only_controls();
    void fits_an_800x600_screen();
};

void GuiTest::table_matches_status()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    const json st = status(rig);
    const json tunables = st.value("tunables", json::object());
    QCOMPARE(w.model().rowCount(), static_cast<int>(tunables.size()));
    for (int row = 0; row < w.model().rowCount(); ++row) {
        const auto* d = w.model().desc(row);
        QVERIFY2(tunables.contains(d->name), d->name.c_str());
        QCOMPARE(kextconf::value_to_json(*d, *w.model().current(row)).dump(), tunables.at(d->name).dump());
        QCOMPARE(w.model().index(row, TunableModel::Name).data().toString().toStdString(), d->name);
    }
    QCOMPARE(w.field("Generation").toULongLong(), st.value("generation", 0ull));
    QVERIFY(w.field("Status").startsWith("loaded"));
    QVERIFY2(w.field("kextconfd").startsWith("running"), qPrintable(w.field("kextconfd")));
    QVERIFY(w.can_change());
    QVERIFY(w.button("save")->isEnabled() == false); // nothing staged yet
}

void GuiTest::edit_and_apply_changes_the_kext()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    w.show();
    const int row = w.model().row_of("max_clients");
    QVERIFY(row >= 0);
    // Through the table's own editor, as a user types.
    const QModelIndex cell = w.model().index(row, TunableModel::Value);
    w.table()->setCurrentIndex(cell);
    w.table()->edit(cell);
    auto* editor = qobject_cast<QLineEdit*>(w.table()->indexWidget(cell));
    QVERIFY(editor != nullptr);
    editor->selectAll();
    QTest::keyClicks(editor, "100");
    QTest::keyClick(editor, Qt::Key_Return);
    // The delegate commits on Return through a queued call.
    QTRY_VERIFY2(w.model().has_staged(), qPrintable(w.message()));
    QCOMPARE(w.model().index(row, TunableModel::State).data().toString(), QStringLiteral("staged"));
    QVERIFY(w.button("apply")->isEnabled());
    QTest::mouseClick(w.button("apply"), Qt::LeftButton);
    QVERIFY2(w.message().startsWith("Applied"), qPrintable(w.message()));
    QVERIFY(wait_for_state(rig.host, 3, {{"label", "from-file"}, {"max_clients", 100}}));
    // Transient: the file is untouched.
    QVERIFY(read_file(rig.config).find("max_clients") == std::string::npos);
    QTRY_COMPARE(w.field("Generation"), QStringLiteral("3"));
}

void GuiTest::save_changes_the_file_and_the_daemon_applies_it()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    std::string error;
    QVERIFY2(w.model().stage_input(w.model().row_of("label"), QStringLiteral("saved-by-gui"), error), error.c_str());
    QVERIFY2(w.model().stage_input(w.model().row_of("log_level"), QStringLiteral("debug"), error), error.c_str());
    w.save();
    QVERIFY2(w.message().startsWith("Saved"), qPrintable(w.message()));
    const std::string text = read_file(rig.config);
    QVERIFY2(text.find("\"saved-by-gui\"") != std::string::npos, text.c_str());
    QVERIFY2(text.find("// written by gui_test") != std::string::npos, "the file's comment was lost");
    QVERIFY(wait_for_state(rig.host, 3, {{"label", "saved-by-gui"}, {"log_level", "debug"}}));
    QVERIFY(!w.model().has_staged());
    QTRY_VERIFY2(w.field("Drift").startsWith("none"), qPrintable(w.field("Drift")));
}

void GuiTest::out_of_range_edit_is_refused_with_the_bound()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    const int row = w.model().row_of("max_clients");
    const std::string max = bound_max(w.model(), row);
    const std::string too_big = std::to_string(std::stoull(max) + 1);
    QVERIFY(
        !w.model().setData(w.model().index(row, TunableModel::Value), QString::fromStdString(too_big), Qt::EditRole));
    QVERIFY(!w.model().has_staged());
    QVERIFY2(w.message().contains(QString::fromStdString(max)), qPrintable(w.message()));
    QVERIFY2(w.message().contains("max_clients"), qPrintable(w.message()));
    // A list entry out of range, through the list editor's path.
    const int ports = w.model().row_of("blocked_ports");
    std::string error;
    QVERIFY(!w.model().stage_input(ports, QStringList{"22", "99999999"}, error));
    QVERIFY2(error.find(bound_max(w.model(), ports)) != std::string::npos, error.c_str());
    const json st = status(rig);
    QCOMPARE(st.value("generation", 0ull), 2ull); // nothing reached the kext
}

void GuiTest::unload_and_load_are_shown_live()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    QVERIFY(w.field("Status").startsWith("loaded"));
    QVERIFY(rig.host.wait_no_clients());
    // Behind the window's back: only kern_events can tell it.
    const Result unload = rig.host.kextsim({"unload", kReferenceBundleId});
    QVERIFY2(unload.exit_code == 0, unload.describe().c_str());
    QTRY_VERIFY2_WITH_TIMEOUT(w.field("Status").startsWith("not loaded"), qPrintable(w.field("Status")), 5000);
    QCOMPARE(w.model().rowCount(), 0);
    QVERIFY(w.button("load")->isEnabled());
    QVERIFY(!w.button("unload")->isEnabled());
    const Result load = rig.host.kextsim({"load", kext_bundle()});
    QVERIFY2(load.exit_code == 0, load.describe().c_str());
    QTRY_VERIFY2_WITH_TIMEOUT(w.field("Status").startsWith("loaded"), qPrintable(w.field("Status")), 5000);
    // kextconfd puts the file back on the new load, and the window shows it.
    const int label = w.model().row_of("label");
    QVERIFY(label >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(w.model().index(label, TunableModel::Value).data().toString(),
                              QStringLiteral("from-file"), 5000);
    QVERIFY2(w.events_text().contains("registered"), qPrintable(w.events_text()));

    // And the window's own Unload and Load buttons, through the kernel link.
    QVERIFY(rig.host.wait_no_clients());
    QTest::mouseClick(w.button("unload"), Qt::LeftButton);
    QVERIFY2(w.message().startsWith("Unloaded"), qPrintable(w.message()));
    QVERIFY(!rig.host.is_loaded());
    QTest::mouseClick(w.button("load"), Qt::LeftButton);
    QVERIFY2(w.message().startsWith("Loaded"), qPrintable(w.message()));
    QVERIFY(rig.host.is_loaded());
    QTRY_VERIFY_WITH_TIMEOUT(w.field("Status").startsWith("loaded"), 5000);
}

void GuiTest::list_editor_takes_100000_entries()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    const int row = w.model().row_of("blocked_ports");
    QVERIFY(row >= 0);
    constexpr int kEntries = 100000;
    QVERIFY(w.model().desc(row)->max_count >= kEntries);
    QStringList lines;
    for (int i = 0; i < kEntries; ++i)
        lines.push_back(QString::number(1 + i % 65535));
    QElapsedTimer timer;
    timer.start();
    kextconf::gui::ListEditor editor(w.model(), row, &w);
    editor.text()->setPlainText(lines.join(u'\n'));
    editor.show();
    QCoreApplication::processEvents();
    const qint64 shown_ms = timer.restart();
    editor.accept();
    QVERIFY2(editor.result() == QDialog::Accepted, qPrintable(editor.message()->text()));
    const qint64 staged_ms = timer.restart();
    QCOMPARE(w.model().index(row, TunableModel::Value).data().toString(), QStringLiteral("100000 entries"));
    w.apply();
    QVERIFY2(w.message().startsWith("Applied"), qPrintable(w.message()));
    const qint64 applied_ms = timer.elapsed();
    const json st = status(rig);
    QCOMPARE(st.at("tunables").at("blocked_ports").size(), static_cast<std::size_t>(kEntries));
    QCOMPARE(st.at("tunables").at("blocked_ports").back().get<int>(), 1 + (kEntries - 1) % 65535);
    std::printf("[ figures ] 100000-entry list: editor filled and shown in %lld ms, validated and staged in %lld ms, "
                "applied through kextconfd in %lld ms\n",
                static_cast<long long>(shown_ms), static_cast<long long>(staged_ms),
                static_cast<long long>(applied_ms));
}

void GuiTest::bad_file_is_shown_with_its_position()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    write_file(rig.config,
               "{\n    \"kext\": \"org.kextconf.reference\",\n    \"tunables\": {\"max_clients\": 5000}\n}\n");
    w.show();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QTest::keyClick(&w, Qt::Key_R, Qt::ControlModifier); // Reload Config
    QVERIFY2(w.message().startsWith("Reload refused"), qPrintable(w.message()));
    const QString where = QString::fromStdString(rig.config) + ":3:";
    QVERIFY2(w.message().contains(where), qPrintable(w.message()));
    QVERIFY2(w.field("Last error").contains(where), qPrintable(w.field("Last error")));
    QVERIFY2(w.field("Last error").contains("1024"), qPrintable(w.field("Last error")));
    QCOMPARE(status(rig).value("generation", 0ull), 2ull); // the good configuration stays
}

namespace {

constexpr const char* kAdminGroup = "kcgui_adm";

// A group made for one test, removed at the end.
struct TestGroup {
    TestGroup()
    {
        run({"/usr/sbin/groupdel", kAdminGroup});
        made = run({"/usr/sbin/groupadd", kAdminGroup}).exit_code == 0;
    }
    ~TestGroup() { run({"/usr/sbin/groupdel", kAdminGroup}); }
    bool made = false;
};

// In a child running as nobody (not in the admin group): the window reads
// everything and offers no change; trying one is refused in words.
int read_only_child()
{
    int failures = 0;
    auto check = [&](bool ok, const QString& what) {
        if (!ok) {
            std::fprintf(stderr, "FAIL: %s\n", qPrintable(what));
            ++failures;
        }
    };
    kextconf::gui::WindowOptions o;
    o.daemon_socket = std::getenv("KEXTCONFD_SOCKET");
    o.kext_bundle = kext_bundle();
    MainWindow w(o);
    check(::geteuid() != 0, "runs as root");
    check(w.model().rowCount() > 0, "no tunables shown: " + w.field("Status"));
    check(!w.can_change(), "offers changes");
    for (const char* b : {"apply", "save", "reload"})
        check(!w.button(b)->isEnabled(), QString("%1 is enabled").arg(b));
    const QModelIndex cell = w.model().index(0, TunableModel::Value);
    check(!(w.model().flags(cell) & Qt::ItemIsEditable), "the value cells are editable");
    check(w.field("kextconfd").contains("admin group"), "the Daemon area does not say why: " + w.field("kextconfd"));
    check(w.button("apply")->toolTip().contains("You may look but not change"),
          "Apply's tool tip does not say why: " + w.button("apply")->toolTip());
    std::string error;
    check(w.model().stage_input(w.model().row_of("max_clients"), QStringLiteral("7"), error),
          "cannot stage: " + QString::fromStdString(error));
    w.apply();
    check(w.message().contains("You may look but not change") && w.message().contains("admin group"),
          "apply was not refused in words: " + w.message());
    w.save();
    check(w.message().contains("You may look but not change"), "save was not refused: " + w.message());
    std::printf("message: %s\n", qPrintable(w.message()));
    return failures == 0 ? 0 : 1;
}

std::string self_exe()
{
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

} // namespace

void GuiTest::non_member_sees_read_only_controls()
{
    if (::geteuid() != 0)
        QSKIP("needs root: it creates a group and runs the window as nobody");
    TestGroup group;
    QVERIFY2(group.made, "groupadd failed");
    Rig rig({"--admin-group", kAdminGroup});
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    struct stat st {};
    QCOMPARE(::stat(rig.host.admin_socket().c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, 0660u);
    QCOMPARE(st.st_gid, ::getgrnam(kAdminGroup)->gr_gid);
    Env env = rig.host.env();
    env.emplace_back("QT_QPA_PLATFORM", "offscreen");
    env.emplace_back("XDG_CONFIG_HOME", "/nonexistent");
    const Result child = run({self_exe(), "--read-only-child"}, SpawnOptions{env, /*as_nobody=*/true}, 30000ms);
    QVERIFY2(child.exit_code == 0, child.describe().c_str());
    // Root (this test) still may: the same window offers changes.
    MainWindow w(rig.options());
    QVERIFY(w.can_change());
    QCOMPARE(status(rig).value("generation", 0ull), 2ull);
}

// On an 800x600 screen (an offscreen one, tests/gui/screen-800x600.json,
// set by the ctest entry) the window opens inside it with its action buttons and several
// tunable rows in view.
void GuiTest::fits_an_800x600_screen()
{
    Rig rig;
    QVERIFY2(rig.ok, rig.daemon ? rig.daemon->describe().c_str() : "no kextsim host");
    MainWindow w(rig.options());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTest::qWait(50); // the first-start splitter sizes are set once laid out
    const QRect screen = w.screen()->availableGeometry();
    QCOMPARE(screen.size(), QSize(800, 600));
    QVERIFY2(screen.contains(w.frameGeometry()), "the window is larger than the screen");
    for (const char* name : {"apply", "save"}) {
        QPushButton* b = w.button(QString::fromLatin1(name));
        QVERIFY2(b != nullptr && b->isVisible(), name);
        const QRect in_window(b->mapTo(&w, QPoint(0, 0)), b->size());
        QVERIFY2(w.rect().contains(in_window), name);
    }
    QTableView* table = w.table();
    QVERIFY(table != nullptr);
    int rows_in_view = 0;
    for (int row = 0; row < w.model().rowCount(); ++row)
        rows_in_view += table->viewport()->rect().contains(table->visualRect(w.model().index(row, 0))) ? 1 : 0;
    std::printf("[ figures ] 800x600 screen: window %dx%d, %d tunable rows in view\n", w.width(), w.height(),
                rows_in_view);
    QVERIFY2(rows_in_view >= 3, qPrintable(QString::number(rows_in_view)));
}

int main(int argc, char** argv)
{
    if (argc > 1 && std::string(argv[1]) == "--read-only-child") {
        QApplication app(argc, argv);
        QStandardPaths::setTestModeEnabled(true);
        return read_only_child();
    }
    QApplication app(argc, argv);
    GuiTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "gui_test.moc"
