// The kext's kern_events for the window: daemon/'s KextEventStream (the
// stream `kextconfctl events` and `top` read) with each descriptor in a
// QSocketNotifier, so the GUI thread wakes only when an event arrives (no
// polling, DESIGN.md rule 4).
//
// Threading: the GUI thread.
#pragma once

#include <kextconf/event_stream.hpp>

#include <QObject>

#include <memory>
#include <string>
#include <vector>

class QSocketNotifier;

namespace kextconf::gui {

class EventFeed : public QObject {
    Q_OBJECT
public:
    explicit EventFeed(QObject* parent = nullptr);
    ~EventFeed() override;

    // Opens the stream for `bundle_id`; false with `error` if the kernel
    // link has no event sockets (e.g. no kextsim host). Reopens if open.
    bool open(const std::string& bundle_id, std::string& error);
    bool is_open() const { return stream_ != nullptr; }

signals:
    void items(const std::vector<kextconf::StreamItem>& items);
    // The link went away (the stream is closed; open() again to retry).
    void lost(const QString& why);

private:
    void drain();

    std::unique_ptr<KextEventStream> stream_;
    std::vector<QSocketNotifier*> notifiers_;
};

} // namespace kextconf::gui
