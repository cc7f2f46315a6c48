// KextController's one window: the Kext area (state, counters, Load and
// Unload through the kernel link), the Tunables table (typed editors, staged
// edits, Apply = one transient transaction and Save = the config file, both
// through kextconfd), the Daemon area (status, Reload, Open config) and the
// live Events log. Everything it shows comes from daemon/'s library; it
// re-reads the kext and the daemon only when a kern_event says something
// changed or the user asks.
//
// Threading: the GUI thread.
#pragma once

#include <kextconf/defaults.hpp>
#include <kextconf/event_stream.hpp>

#include <QMainWindow>

#include <string>
#include <vector>

class QAction;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSplitter;
class QTableView;

namespace kextconf::gui {

class EventFeed;
class TunableModel;

struct WindowOptions {
    std::string bundle_id = KEXTCONF_DEFAULT_KEXT;
    std::string kext_bundle = KEXTCONF_DEFAULT_KEXT_BUNDLE; // what Load loads
    std::string daemon_socket;                              // kextconfd's admin socket
    std::string config = KEXTCONF_DEFAULT_CONFIG;           // until the daemon names its own
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(WindowOptions opts, QWidget* parent = nullptr);
    ~MainWindow() override;

    TunableModel& model() { return *model_; }
    QTableView* table() const { return table_; }
    // The banner: the last outcome or refusal, in words.
    QString message() const;
    // kextconfd answers this user, so changes are offered.
    bool can_change() const { return can_change_; }
    QString field(const QString& name) const; // a Kext or Daemon area value, by its label
    QString events_text() const;
    QPushButton* button(const QString& object_name) const;

public slots:
    void apply();  // staged edits -> one transaction (transient)
    void save();   // staged edits -> the config file, then kextconfd applies it
    void reload(); // kextconfd re-reads its file
    void discard();
    void refresh(); // re-read the kext and the daemon now
    void load_kext();
    void unload_kext();
    void open_config();
    void edit_list(int row);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void build_ui();
    void build_actions();
    QWidget* build_kext_area();
    QWidget* build_daemon_area();
    QWidget* build_tunables_area();
    QWidget* build_events_area();
    void refresh_kext();
    void refresh_daemon();
    void update_controls();
    void on_events(const std::vector<kextconf::StreamItem>& items);
    void schedule_refresh();
    void show_message(const QString& text, bool error);
    // "why not" for a refused change, "" when allowed.
    QString change_refusal() const;
    void set_field(const QString& name, const QString& value);
    QLabel* add_field(QFormLayout* form, const QString& name);

    WindowOptions opts_;
    TunableModel* model_;
    EventFeed* feed_;
    QTableView* table_ = nullptr;
    QLabel* banner_ = nullptr;
    QPlainTextEdit* events_ = nullptr;
    QSplitter* splitter_ = nullptr;
    std::vector<std::pair<QString, QLabel*>> fields_;
    QAction* apply_ = nullptr;
    QAction* save_ = nullptr;
    QAction* reload_ = nullptr;
    QAction* discard_ = nullptr;
    QAction* load_ = nullptr;
    QAction* unload_ = nullptr;
    bool kext_loaded_ = false;
    bool can_change_ = false;
    std::string daemon_refusal_; // why kextconfd does not take changes from us
    std::string config_path_;
    bool refresh_pending_ = false;
};

} // namespace kextconf::gui
