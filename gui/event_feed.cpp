#include "event_feed.hpp"

#include <QSocketNotifier>

namespace kextconf::gui {

EventFeed::EventFeed(QObject* parent) : QObject(parent)
{
}

EventFeed::~EventFeed() = default;

bool EventFeed::open(const std::string& bundle_id, std::string& error)
{
    // Later: open() may run inside one of their activated() signals.
    for (auto* n : notifiers_) {
        n->setEnabled(false);
        n->deleteLater();
    }
    notifiers_.clear();
    stream_.reset();
    std::error_code ec;
    stream_ = KextEventStream::open(bundle_id, ec);
    if (!stream_) {
        error = "cannot listen for the kext's events: " + ec.message();
        return false;
    }
    for (int fd : stream_->fds()) {
        auto* n = new QSocketNotifier(static_cast<qintptr>(fd), QSocketNotifier::Read, this);
        connect(n, &QSocketNotifier::activated, this, &EventFeed::drain);
        notifiers_.push_back(n);
    }
    return true;
}

void EventFeed::drain()
{
    if (!stream_)
        return;
    std::error_code ec;
    auto got = stream_->drain(ec);
    if (!got.empty())
        emit items(got);
    if (ec) {
        for (auto* n : notifiers_)
            n->setEnabled(false);
        emit lost(QString::fromStdString("the kernel event stream ended: " + ec.message()));
    }
}

} // namespace kextconf::gui
