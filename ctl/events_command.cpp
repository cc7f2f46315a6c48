// `events [--follow]`: the kext's kern_events, decoded, as they arrive.
#include "commands.hpp"

#include <kextconf/event_stream.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <poll.h>

namespace kextconf::ctl {

namespace {

std::string seconds(double s)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

struct EventsArgs {
    bool follow = false;
    unsigned count = 1;
    double timeout_s = 0;
};

int cmd_events(const Options& o, const EventsArgs& a)
{
    std::error_code ec;
    auto stream = KextEventStream::open(o.kext, ec);
    if (!stream)
        return fail(o, kExitFailure,
                    "cannot listen to kernel events on " + kernel_link_description() + ": " + ec.message());
    // On stderr, so scripts reading stdout see events only; tests wait for it.
    if (!stream->subscribed())
        std::fprintf(stderr, "kextconfctl: %s has not been loaded since boot; waiting for it to load\n",
                     o.kext.c_str());
    else
        std::fprintf(stderr, "kextconfctl: listening to %s's events%s\n", o.kext.c_str(),
                     a.follow ? " (Ctrl-C stops)" : "");
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
    unsigned seen = 0;
    for (;;) {
        int wait_ms = -1;
        if (a.timeout_s > 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0)
                return fail(o, kExitFailure,
                            "no event from " + o.kext + " within " + seconds(a.timeout_s) + " s (" +
                                std::to_string(seen) + " of " + std::to_string(a.count) + ")");
            wait_ms = static_cast<int>(left);
        }
        std::vector<pollfd> fds;
        for (int fd : stream->fds())
            fds.push_back({fd, POLLIN, 0});
        if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), wait_ms) < 0 && errno != EINTR)
            return fail(o, kExitFailure, std::string("poll: ") + std::strerror(errno));
        for (const auto& item : stream->drain(ec)) {
            if (o.json)
                std::cout << item_json(item).dump() << '\n';
            else
                std::cout << format_item(item) << '\n';
            std::cout.flush();
            if (item.kind == StreamItem::Kind::Event && ++seen >= a.count && !a.follow)
                return kExitOk;
        }
        if (ec)
            return fail(o, kExitFailure, "the kernel event socket failed: " + ec.message());
    }
}

} // namespace

void add_events_command(CLI::App& app, Options& o, Command& run)
{
    auto a = std::make_shared<EventsArgs>();
    auto* ev =
        add_command(app, run, "events",
                    "print the kext's kernel events as they arrive, decoded (started, stopping, applied, tunable "
                    "changed, client connected/disconnected, overflow, heartbeat); a sequence gap prints as "
                    "\"dropped\". Without --follow, exits after --count events",
                    [&o, a] { return cmd_events(o, *a); });
    ev->add_flag("-f,--follow", a->follow, "keep printing until interrupted");
    ev->add_option("-n,--count", a->count, "events to wait for without --follow (1 or more)")
        ->capture_default_str()
        ->check(CLI::Validator(
            [](const std::string& text) {
                const bool ok = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
                                text.find_first_not_of('0') != std::string::npos;
                return ok ? std::string() : "must be a whole number, 1 or more (got \"" + text + "\")";
            },
            "N>=1"));
    ev->add_option("--timeout", a->timeout_s, "give up (exit 1) after this many seconds; 0 waits for ever")
        ->capture_default_str()
        ->check(CLI::Validator(
            [](const std::string& text) {
                char* end = nullptr;
                const double s = std::strtod(text.c_str(), &end);
                const bool ok = !text.empty() && *end == '\0' && std::isfinite(s) && s >= 0;
                return ok ? std::string() : "must be a number of seconds, 0 or more (got \"" + text + "\")";
            },
            "SECONDS>=0"));
}

} // namespace kextconf::ctl
