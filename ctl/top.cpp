// `kextconfctl top`: a full-screen view of the kext's state, counters and
// event stream. Redraws when an event arrives or the window is resized, and
// once a second otherwise (counters move without events). Talks to the kext
// through a fresh query connection per refresh, so it never keeps the kext
// from unloading; its own connect/disconnect events are not shown.
#include "commands.hpp"

#include "terminal.hpp"
#include <kextconf/event_stream.hpp>
#include <kextconf/values.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <poll.h>
#include <unistd.h>

namespace kextconf::ctl {

namespace {

using Clock = std::chrono::steady_clock;

// The periodic refresh; events and resizes redraw at once.
constexpr std::chrono::seconds kRefreshInterval{1};
// Event lines kept for the screen (more than any terminal shows).
constexpr std::size_t kEventLines = 500;

struct Snapshot {
    bool loaded = false;
    std::string error; // why there is no state
    kc_hello_reply hello{};
    kc_state state{};
    bool have_counters = false;
    std::string counters_error;
    kc_counters counters{};
    std::vector<std::pair<std::string, std::string>> values; // name, formatted value
};

Snapshot take_snapshot(const Options& o)
{
    Snapshot s;
    KextError err;
    auto kext = open_query(o, err);
    if (!kext) {
        s.error = exit_status_for(err) == kExitNotLoaded ? "not loaded (kextconfctl kext load)" : err.message;
        return s;
    }
    s.loaded = true;
    s.hello = kext->hello();
    if (auto e = kext->state(s.state)) {
        s.error = e.message;
        return s;
    }
    if (auto e = kext->counters(s.counters))
        s.counters_error = e.message;
    else
        s.have_counters = true;
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema)) {
        s.error = e.message;
        return s;
    }
    for (const auto& d : schema) {
        proto::Value v;
        s.values.emplace_back(d.name, kext->get(d, v) ? std::string("?") : format_summary(d, v));
    }
    return s;
}

std::string clock_now()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

std::string fit(const std::string& line, int cols)
{
    return line.size() <= static_cast<std::size_t>(cols) ? line : line.substr(0, static_cast<std::size_t>(cols));
}

std::string render(const Options& o, const Snapshot& s, const std::deque<std::string>& events, int rows, int cols)
{
    const auto n = [](auto v) { return std::to_string(v); };
    std::vector<std::string> head;
    head.push_back("kextconfctl top - " + o.kext + "   " + clock_now() + "   q: quit");
    if (!s.loaded || !s.error.empty()) {
        head.push_back("kext: " + (s.error.empty() ? std::string("not loaded") : s.error));
    } else {
        head.push_back("kext: loaded, version " + proto::field_string(s.hello.kext_version) + ", protocol " +
                       n(s.hello.proto_version) + ", load " + n(s.state.load_id));
        head.push_back("generation " + n(s.state.generation) + "   config hash " +
                       format_config_hash(s.state.config_hash) + "   clients " + n(s.state.clients) + "   event seq " +
                       n(s.state.event_seq));
        if (s.have_counters) {
            const auto& c = s.counters;
            head.push_back("counters: requests " + n(c.requests) + "  rejections " + n(c.rejections) + "  commits " +
                           n(c.commits) + "  aborts " + n(c.aborts));
            head.push_back("          events posted " + n(c.events_posted) + "  dropped " + n(c.events_dropped) +
                           "  clients " + n(c.clients) + " (peak " + n(c.clients_peak) + ")");
        } else {
            head.push_back("counters: n/a (" + s.counters_error + ")");
        }
        head.push_back("tunables:");
        std::size_t width = 0;
        for (const auto& [name, v] : s.values)
            width = std::max(width, name.size());
        for (const auto& [name, v] : s.values)
            head.push_back("  " + name + std::string(width - name.size(), ' ') + " = " + v);
    }
    head.push_back("events (newest last):");
    std::string frame;
    int used = 0;
    for (const auto& line : head) {
        if (used >= rows)
            break;
        frame += fit(line, cols) + "\n";
        ++used;
    }
    const std::size_t room = rows > used ? static_cast<std::size_t>(rows - used) : 0;
    const std::size_t first = events.size() > room ? events.size() - room : 0;
    for (std::size_t i = first; i < events.size(); ++i)
        frame += fit("  " + events[i], cols) + "\n";
    return frame;
}

// Our own query connections would otherwise fill the event pane.
bool is_own(const StreamItem& item)
{
    const auto code = item.event.code;
    return item.kind == StreamItem::Kind::Event &&
           (code == KC_EV_CLIENT_CONNECTED || code == KC_EV_CLIENT_DISCONNECTED) &&
           item.event.client.pid == static_cast<std::int32_t>(::getpid());
}

int cmd_top(const Options& o)
{
    std::error_code ec;
    auto stream = KextEventStream::open(o.kext, ec);
    if (!stream)
        return fail(o, kExitFailure,
                    "cannot listen to kernel events on " + kernel_link_description() + ": " + ec.message());
    Terminal term;
    if (!term.ok())
        return fail(o, kExitUsage, term.why());
    std::deque<std::string> events;
    Snapshot snap = take_snapshot(o);
    auto next_refresh = Clock::now() + kRefreshInterval;
    bool dirty = true;
    for (;;) {
        if (dirty) {
            term.draw(render(o, snap, events, term.rows(), term.cols()));
            dirty = false;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_refresh - Clock::now()).count();
        std::vector<pollfd> fds{{STDIN_FILENO, POLLIN, 0}, {term.signal_fd(), POLLIN, 0}};
        for (int fd : stream->fds())
            fds.push_back({fd, POLLIN, 0});
        const int r =
            ::poll(fds.data(), static_cast<nfds_t>(fds.size()), static_cast<int>(std::max<long long>(left, 0)));
        if (r < 0 && errno != EINTR)
            return fail(o, kExitFailure, std::string("poll: ") + std::strerror(errno));
        bool refresh = Clock::now() >= next_refresh;
        for (Terminal::Signal sig; (sig = term.take_signal()) != Terminal::Signal::None;) {
            if (sig == Terminal::Signal::Quit)
                return kExitOk;
            dirty = true;
        }
        const std::string keys = term.read_keys();
        if (keys.find_first_of("qQ") != std::string::npos)
            return kExitOk;
        if (!keys.empty())
            refresh = true; // any other key: refresh now
        for (const auto& item : stream->drain(ec)) {
            if (is_own(item))
                continue;
            events.push_back(clock_now() + " " + format_item(item));
            if (events.size() > kEventLines)
                events.pop_front();
            refresh = true;
        }
        if (ec) {
            events.push_back(clock_now() + " the kernel event socket failed: " + ec.message());
            return fail(o, kExitFailure, "the kernel event socket failed: " + ec.message());
        }
        if (refresh) {
            snap = take_snapshot(o);
            next_refresh = Clock::now() + kRefreshInterval;
            dirty = true;
        }
    }
}

} // namespace

void add_top_command(CLI::App& app, Options& o, Command& run)
{
    add_command(app, run, "top",
                "full-screen view of the kext's state, counters and events, redrawn as events arrive and every "
                "second; q quits",
                [&o] { return cmd_top(o); });
}

} // namespace kextconf::ctl
