#include "main_window.hpp"

#include "daemon_view.hpp"
#include "event_feed.hpp"
#include "kext_reader.hpp"
#include "list_editor.hpp"
#include "tunable_delegate.hpp"
#include "tunable_model.hpp"
#include <kextconf/admin_protocol.hpp>
#include <kextconf/kernel_link.hpp>
#include <kextconf/values.hpp>

#include <QAction>
#include <QCloseEvent>
#include <QDesktopServices>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>

namespace kextconf::gui {

using nlohmann::json;

namespace {

// Lines kept in the Events log (older ones scroll away).
constexpr int kEventLogLines = 5000;
// A column sized to its contents stops here (a long string or list).
constexpr int kMaxColumnWidth = 320;

QString q(const std::string& s)
{
    return QString::fromStdString(s);
}

// A push button that mirrors an action (text, enabled, tool tip).
QPushButton* button_for(QAction* action, const QString& object_name, QWidget* parent)
{
    auto* b = new QPushButton(action->text(), parent);
    b->setObjectName(object_name);
    QObject::connect(b, &QPushButton::clicked, action, &QAction::trigger);
    auto sync = [b, action] {
        b->setEnabled(action->isEnabled());
        b->setToolTip(action->toolTip());
    };
    QObject::connect(action, &QAction::changed, b, sync);
    sync();
    return b;
}

} // namespace

MainWindow::MainWindow(WindowOptions opts, QWidget* parent)
    : QMainWindow(parent), opts_(std::move(opts)), model_(new TunableModel(this)), feed_(new EventFeed(this))
{
    config_path_ = opts_.config;
    setWindowTitle(tr("KextController — %1").arg(q(opts_.bundle_id)));
    build_actions();
    build_ui();
    connect(model_, &TunableModel::refused, this, [this](const QString& m) { show_message(m, true); });
    connect(model_, &TunableModel::staged_changed, this, &MainWindow::update_controls);
    connect(feed_, &EventFeed::items, this, &MainWindow::on_events);
    connect(feed_, &EventFeed::lost, this, [this](const QString& why) {
        show_message(why + tr(" — live updates stopped; Refresh (F5) to reconnect"), true);
    });
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    if (!splitter_->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray())) {
        // First start: once laid out, the kext and daemon panes keep their
        // natural height and the tunables get three parts of the rest to the
        // event log's one.
        QTimer::singleShot(0, this, [this] {
            const int top = splitter_->widget(0)->minimumSizeHint().height();
            const int rest = std::max(0, splitter_->height() - top);
            splitter_->setSizes({top, rest - rest / 4, rest / 4});
        });
    }
    refresh();
}

MainWindow::~MainWindow() = default;

void MainWindow::build_actions()
{
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open = file->addAction(tr("&Open Config"), this, &MainWindow::open_config);
    open->setShortcut(QKeySequence::Open);
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    auto* edit = menuBar()->addMenu(tr("&Tunables"));
    apply_ = edit->addAction(tr("&Apply"), this, &MainWindow::apply);
    apply_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    save_ = edit->addAction(tr("&Save"), this, &MainWindow::save);
    save_->setShortcut(QKeySequence::Save);
    discard_ = edit->addAction(tr("&Discard Edits"), this, &MainWindow::discard);
    discard_->setShortcut(QKeySequence::Undo);

    auto* daemon = menuBar()->addMenu(tr("&Daemon"));
    // ⌘R on macOS (Qt maps Ctrl to Command there), Ctrl+R elsewhere.
    reload_ = daemon->addAction(tr("&Reload Config"), this, &MainWindow::reload);
    reload_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    auto* refresh_action = daemon->addAction(tr("Re&fresh"), this, &MainWindow::refresh);
    refresh_action->setShortcut(QKeySequence::Refresh);

    auto* kext = menuBar()->addMenu(tr("&Kext"));
    load_ = kext->addAction(tr("&Load"), this, &MainWindow::load_kext);
    unload_ = kext->addAction(tr("&Unload"), this, &MainWindow::unload_kext);
}

QLabel* MainWindow::add_field(QFormLayout* form, const QString& name)
{
    auto* value = new QLabel(this);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    value->setWordWrap(true);
    form->addRow(name + QLatin1Char(':'), value);
    fields_.emplace_back(name, value);
    return value;
}

QWidget* MainWindow::build_kext_area()
{
    auto* box = new QGroupBox(tr("Kext"), this);
    auto* layout = new QVBoxLayout(box);
    auto* form = new QFormLayout;
    for (const auto* name : {"Status", "Version", "Protocol", "Generation", "Config hash", "Clients", "Counters"})
        add_field(form, tr(name));
    layout->addLayout(form);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(button_for(load_, QStringLiteral("load"), box));
    buttons->addWidget(button_for(unload_, QStringLiteral("unload"), box));
    buttons->addStretch();
    layout->addLayout(buttons);
    return box;
}

QWidget* MainWindow::build_daemon_area()
{
    auto* box = new QGroupBox(tr("Daemon"), this);
    auto* layout = new QVBoxLayout(box);
    auto* form = new QFormLayout;
    for (const auto* name : {"kextconfd", "Config file", "Last apply", "Drift", "Last error"})
        add_field(form, tr(name));
    layout->addLayout(form);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(button_for(reload_, QStringLiteral("reload"), box));
    auto* open = new QPushButton(tr("Open Config"), box);
    open->setObjectName(QStringLiteral("openConfig"));
    connect(open, &QPushButton::clicked, this, &MainWindow::open_config);
    buttons->addWidget(open);
    buttons->addStretch();
    layout->addLayout(buttons);
    return box;
}

QWidget* MainWindow::build_tunables_area()
{
    auto* box = new QGroupBox(tr("Tunables"), this);
    auto* layout = new QVBoxLayout(box);
    table_ = new QTableView(box);
    table_->setObjectName(QStringLiteral("tunables"));
    table_->setModel(model_);
    table_->setItemDelegate(new TunableDelegate(table_));
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                            QAbstractItemView::AnyKeyPressed);
    table_->setAlternatingRowColors(true);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    // Rows one line of text high (the style's default is taller), so that a
    // small screen still shows several.
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    // A long list's value is elided rather than pushing Bounds and State out
    // of sight; the list editor (double-click) shows all of it.
    table_->horizontalHeader()->setMaximumSectionSize(320);
    // Lists open their own editor (a cell is too small for 100,000 entries).
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& i) {
        const auto* d = model_->desc(i.row());
        if (d != nullptr && (d->type == KC_TYPE_INT64_LIST || d->type == KC_TYPE_STRING_LIST))
            edit_list(i.row());
    });
    layout->addWidget(table_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(button_for(discard_, QStringLiteral("discard"), box));
    buttons->addStretch();
    buttons->addWidget(button_for(apply_, QStringLiteral("apply"), box));
    buttons->addWidget(button_for(save_, QStringLiteral("save"), box));
    layout->addLayout(buttons);
    return box;
}

QWidget* MainWindow::build_events_area()
{
    auto* box = new QGroupBox(tr("Events"), this);
    auto* layout = new QVBoxLayout(box);
    events_ = new QPlainTextEdit(box);
    events_->setObjectName(QStringLiteral("events"));
    events_->setReadOnly(true);
    events_->setMaximumBlockCount(kEventLogLines);
    events_->setLineWrapMode(QPlainTextEdit::NoWrap);
    // Two lines at the least, so that on a small screen (800x600) the
    // tunables keep the room.
    events_->setMinimumHeight(events_->fontMetrics().lineSpacing() * 2 + 2 * events_->frameWidth() + 8);
    layout->addWidget(events_);
    return box;
}

void MainWindow::build_ui()
{
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    banner_ = new QLabel(central);
    banner_->setObjectName(QStringLiteral("message"));
    banner_->setWordWrap(true);
    banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    banner_->hide();
    layout->addWidget(banner_);
    auto* top = new QWidget(central);
    auto* top_layout = new QHBoxLayout(top);
    top_layout->setContentsMargins(0, 0, 0, 0);
    top_layout->addWidget(build_kext_area(), 1);
    top_layout->addWidget(build_daemon_area(), 1);
    splitter_ = new QSplitter(Qt::Vertical, central);
    splitter_->setObjectName(QStringLiteral("splitter"));
    splitter_->addWidget(top);
    splitter_->addWidget(build_tunables_area());
    splitter_->addWidget(build_events_area());
    splitter_->setStretchFactor(1, 3);
    splitter_->setStretchFactor(2, 1);
    layout->addWidget(splitter_);
    setCentralWidget(central);
    statusBar();
    // 1000x760 where it fits; on a smaller screen (800x600, a laptop at a
    // large scale) nine tenths of what is available, so that Apply, Save and
    // the event log are on screen. A saved geometry overrides this.
    QSize size(1000, 760);
    if (const QScreen* s = screen())
        size = size.boundedTo(s->availableGeometry().size() * 9 / 10);
    resize(size);
}

QString MainWindow::message() const
{
    return banner_->text();
}

QString MainWindow::field(const QString& name) const
{
    for (const auto& [n, label] : fields_)
        if (n == name)
            return label->text();
    return {};
}

void MainWindow::set_field(const QString& name, const QString& value)
{
    for (const auto& [n, label] : fields_)
        if (n == name)
            label->setText(value);
}

QString MainWindow::events_text() const
{
    return events_->toPlainText();
}

QPushButton* MainWindow::button(const QString& object_name) const
{
    return findChild<QPushButton*>(object_name);
}

void MainWindow::show_message(const QString& text, bool error)
{
    banner_->setText(text);
    banner_->setVisible(!text.isEmpty());
    // The palette's own colours, so dark mode stays readable.
    banner_->setForegroundRole(error ? QPalette::BrightText : QPalette::WindowText);
    banner_->setBackgroundRole(error ? QPalette::Highlight : QPalette::AlternateBase);
    banner_->setAutoFillBackground(true);
    banner_->setContentsMargins(8, 4, 8, 4);
    statusBar()->showMessage(text.section(QLatin1Char('\n'), 0, 0), 10000);
}

void MainWindow::refresh()
{
    if (!feed_->is_open()) {
        std::string error;
        if (!feed_->open(opts_.bundle_id, error))
            show_message(q(error) + tr(" — the window will not update by itself"), true);
    }
    refresh_kext();
    refresh_daemon();
}

void MainWindow::schedule_refresh()
{
    // One re-read per burst of events, after the burst is drained.
    if (refresh_pending_)
        return;
    refresh_pending_ = true;
    QTimer::singleShot(0, this, [this] {
        refresh_pending_ = false;
        refresh_kext();
        refresh_daemon();
    });
}

void MainWindow::refresh_kext()
{
    const KextSnapshot s = read_kext(opts_.bundle_id);
    kext_loaded_ = s.loaded;
    if (!s.loaded) {
        set_field(tr("Status"), tr("not loaded — %1").arg(q(s.error)));
        for (const auto* name : {"Version", "Protocol", "Generation", "Config hash", "Clients", "Counters"})
            set_field(tr(name), tr("—"));
        model_->clear_kext();
        update_controls();
        return;
    }
    set_field(tr("Status"), tr("loaded (load %1)").arg(s.state.load_id));
    set_field(tr("Version"),
              QString::fromLatin1(s.hello.kext_version, qstrnlen(s.hello.kext_version, sizeof s.hello.kext_version)));
    set_field(tr("Protocol"), QString::number(s.hello.proto_version));
    set_field(tr("Generation"), QString::number(s.state.generation));
    set_field(tr("Config hash"), q(format_config_hash(s.state.config_hash)));
    set_field(tr("Clients"), QString::number(s.state.clients));
    if (s.counters)
        set_field(tr("Counters"),
                  q(counted(s.counters->requests, "request") + ", " + counted(s.counters->commits, "commit") + ", " +
                    counted(s.counters->aborts, "abort") + ", " + std::to_string(s.counters->rejections) +
                    " refused, " + counted(s.counters->events_posted, "event") + ", " +
                    std::to_string(s.counters->events_dropped) + " dropped"));
    else
        set_field(tr("Counters"), tr("not kept by this kext"));
    const bool first = model_->rowCount() == 0;
    model_->set_kext(opts_.bundle_id, s.state.load_id, s.schema, s.values);
    if (first) {
        table_->resizeColumnsToContents();
        for (int c = 0; c < TunableModel::ColumnCount; ++c)
            table_->setColumnWidth(c, std::min(table_->columnWidth(c), kMaxColumnWidth));
    }
    update_controls();
}

void MainWindow::refresh_daemon()
{
    const DaemonReply r = ask_daemon(opts_.daemon_socket, "status");
    can_change_ = r.reached && r.ok;
    daemon_refusal_ = r.ok ? "" : r.error;
    if (!r.ok) {
        set_field(tr("kextconfd"), q(r.error));
        for (const auto* name : {"Config file", "Last apply", "Drift", "Last error"})
            set_field(tr(name), tr("—"));
        set_field(tr("Config file"), q(config_path_));
        update_controls();
        return;
    }
    const auto status = r.body.get<admin::StatusReply>();
    const DaemonSummary sum = summarize_status(status);
    if (!status.config.path.empty())
        config_path_ = status.config.path;
    set_field(tr("kextconfd"), q(sum.running));
    set_field(tr("Config file"), q(sum.config));
    set_field(tr("Last apply"), q(sum.last_apply));
    set_field(tr("Drift"), q(sum.drift));
    set_field(tr("Last error"), sum.last_error.empty() ? tr("none") : q(sum.last_error));
    update_controls();
}

QString MainWindow::change_refusal() const
{
    if (can_change_)
        return {};
    return tr("You may look but not change: %1. Changes go through kextconfd, which takes them from root and the "
              "members of its admin group.")
        .arg(q(daemon_refusal_));
}

void MainWindow::update_controls()
{
    model_->set_editable(can_change_ && kext_loaded_);
    const QString why = change_refusal();
    const bool staged = model_->has_staged();
    for (auto* a : {apply_, save_}) {
        a->setEnabled(can_change_ && kext_loaded_ && staged);
        a->setToolTip(!why.isEmpty()  ? why
                      : !kext_loaded_ ? tr("The kext is not loaded")
                      : !staged       ? tr("Edit a value first (double-click it)")
                      : a == apply_   ? tr("Send the staged edits to the kext as one transaction (transient)")
                                      : tr("Write the staged edits to the config file; kextconfd applies it"));
    }
    reload_->setEnabled(can_change_);
    reload_->setToolTip(why.isEmpty() ? tr("kextconfd re-reads its config file and applies it") : why);
    discard_->setEnabled(staged);
    load_->setEnabled(!kext_loaded_);
    unload_->setEnabled(kext_loaded_);
    table_->setToolTip(why.isEmpty() ? QString() : why);
}

void MainWindow::apply()
{
    if (const QString why = change_refusal(); !why.isEmpty())
        return show_message(why, true);
    if (!model_->has_staged())
        return show_message(tr("Nothing to apply: edit a value first"), false);
    const DaemonReply r = ask_daemon(opts_.daemon_socket, "set", json(admin::ChangeRequest{model_->staged_json()}));
    if (!r.ok) {
        QString text = tr("Not applied: %1").arg(q(r.error));
        for (const auto& e : r.errors)
            text += QLatin1Char('\n') + q(e);
        return show_message(text, true);
    }
    const auto set = r.body.get<admin::SetReply>();
    model_->discard_staged();
    show_message(tr("Applied: generation %1 → %2, %3 changed. Transient, like kextconfctl set: kextconfd puts the "
                    "file's values back at its next reload; Save to keep them.")
                     .arg(set.previous_generation)
                     .arg(set.generation)
                     .arg(set.changed),
                 false);
    refresh();
}

void MainWindow::save()
{
    if (const QString why = change_refusal(); !why.isEmpty())
        return show_message(why, true);
    if (!model_->has_staged())
        return show_message(tr("Nothing to save: edit a value first"), false);
    const DaemonReply r = ask_daemon(opts_.daemon_socket, "persist", json(admin::ChangeRequest{model_->staged_json()}));
    const auto saved = r.reached ? r.body.get<admin::PersistReply>() : admin::PersistReply{};
    if (!r.ok) {
        QString text = tr("%1 %2").arg(saved.saved ? tr("Saved, but not applied:") : tr("Not saved:"), q(r.error));
        for (const auto& e : r.errors)
            text += QLatin1Char('\n') + q(e);
        return show_message(text, true);
    }
    model_->discard_staged();
    show_message(tr("Saved to %1%2 and applied by kextconfd.")
                     .arg(q(config_path_), saved.kept_comments ? QString() : tr(" (rewritten whole)")),
                 false);
    refresh();
}

void MainWindow::reload()
{
    if (const QString why = change_refusal(); !why.isEmpty())
        return show_message(why, true);
    const DaemonReply r = ask_daemon(opts_.daemon_socket, "reload");
    QString text = r.ok ? tr("Reloaded %1%2")
                              .arg(q(config_path_), r.body.get<admin::ReloadReply>().applied
                                                        ? tr(" and applied it")
                                                        : tr(" (applied when the kext loads)"))
                        : tr("Reload refused: %1").arg(q(r.error));
    for (const auto& e : r.errors)
        text += QLatin1Char('\n') + q(e);
    show_message(text, !r.ok);
    refresh();
}

void MainWindow::discard()
{
    model_->discard_staged();
    show_message(tr("Staged edits discarded"), false);
}

void MainWindow::load_kext()
{
    const KextError r = load_kext_bundle(opts_.kext_bundle);
    show_message(r ? tr("Not loaded: %1").arg(q(r.message)) : tr("Loaded: %1").arg(q(r.message)), static_cast<bool>(r));
    refresh();
}

void MainWindow::unload_kext()
{
    const KextError r = unload_kext_bundle(opts_.bundle_id);
    show_message(r ? tr("Not unloaded: %1").arg(q(r.message)) : tr("Unloaded: %1").arg(q(r.message)),
                 static_cast<bool>(r));
    refresh();
}

void MainWindow::open_config()
{
    if (!QDesktopServices::openUrl(QUrl::fromLocalFile(q(config_path_))))
        show_message(tr("No application opens %1; edit it as root with your editor").arg(q(config_path_)), true);
}

void MainWindow::edit_list(int row)
{
    if (!model_->editable())
        return show_message(change_refusal(), true);
    auto* editor = new ListEditor(*model_, row, this);
    editor->setAttribute(Qt::WA_DeleteOnClose);
    editor->open();
}

namespace {

// Whether an item means the kext's state or values may have changed. Client
// (dis)connections do not, and re-reading on them would feed back: the
// window's own query connection posts them.
bool changes_state(const StreamItem& item)
{
    if (item.kind != StreamItem::Kind::Event)
        return item.kind != StreamItem::Kind::Malformed; // (de)registered, or events lost
    switch (item.event.code) {
    case KC_EV_STARTED:
    case KC_EV_STOPPING:
    case KC_EV_APPLIED: return true;
    default: return false;
    }
}

} // namespace

void MainWindow::on_events(const std::vector<StreamItem>& items)
{
    bool refresh_needed = false;
    for (const auto& item : items) {
        events_->appendPlainText(q(format_item(item)));
        refresh_needed = refresh_needed || changes_state(item);
        if (item.kind == StreamItem::Kind::Event &&
            (item.event.code == KC_EV_CLIENT_CONNECTED || item.event.code == KC_EV_CLIENT_DISCONNECTED))
            set_field(tr("Clients"), QString::number(item.event.client.clients));
    }
    if (refresh_needed)
        schedule_refresh();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (model_->has_staged() &&
        QMessageBox::question(this, tr("Discard staged edits?"),
                              tr("%n tunable(s) edited but neither applied nor saved. Quit anyway?", nullptr,
                                 static_cast<int>(model_->staged_json().size()))) != QMessageBox::Yes) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/splitter"), splitter_->saveState());
    event->accept();
}

} // namespace kextconf::gui
