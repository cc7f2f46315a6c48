#include <kextsim/inproc.hpp>

#include "endpoint.hpp"
#include "host.hpp"
#include "kxs_abi.h"
#include "loader.hpp"
#include "sink.hpp"
#include "wire.hpp"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace kextsim {

namespace {
KextLoader& loader()
{
    static KextLoader l;
    return l;
}

int fail_with(int darwin_errno)
{
    errno = wire::from_darwin_errno(darwin_errno);
    return -1;
}
} // namespace

InProcessHost::InProcessHost()
{
    // The kernel domain is initialized once per process, however many hosts
    // a test binary creates one after the other.
    static std::once_flag once;
    std::call_once(once, [] { kxs_kern_init(); });
}

InProcessHost::~InProcessHost()
{
    std::vector<std::string> errors;
    loader().unload_all(errors);
    clear_faults();
}

std::string InProcessHost::load(const std::string& bundle_path)
{
    return loader().load(bundle_path);
}

int InProcessHost::unload(const std::string& bundle_id, std::string& message)
{
    return wire::from_darwin_errno(loader().unload(bundle_id, message));
}

bool InProcessHost::fail_nth(const std::string& site, std::uint64_t nth)
{
    if (site == fault_site_name(FaultSite::Stall))
        return false; // an in-process client cannot go away while its call runs
    std::string error;
    return host().faults.arm_from_spec(site + ":" + std::to_string(nth), error);
}

void InProcessHost::clear_faults()
{
    for (int i = 0; i < static_cast<int>(FaultSite::Count); ++i)
        host().faults.arm(static_cast<FaultSite>(i), 0);
}

std::uint64_t InProcessHost::faults_injected() const
{
    return host().faults.injected();
}

std::uint64_t InProcessHost::events_dropped() const
{
    return host().events.total_dropped();
}

InProcessControl::InProcessControl() = default;

InProcessControl::~InProcessControl()
{
    ep_.reset(); // ctl_disconnect runs here; the unit (and its queue) goes with it
}

std::unique_ptr<InProcessControl> InProcessControl::connect(const std::string& name, uid_t uid, int& error, int type,
                                                            std::uint32_t unit)
{
    std::uint32_t id = 0;
    if (int err = host().controls.find_by_name(name, id); err != 0) {
        error = wire::from_darwin_errno(err);
        return nullptr;
    }
    std::unique_ptr<InProcessControl> c(new InProcessControl);
    c->ep_ = std::make_unique<ControlEndpoint>(type == 1 /* SOCK_STREAM */, uid);
    auto queue = std::make_unique<QueueSink>();
    c->queue_ = queue.get();
    if (int err = c->ep_->connect(id, unit, std::move(queue), c->unit_); err != 0) {
        error = wire::from_darwin_errno(err);
        return nullptr;
    }
    error = 0;
    return c;
}

int InProcessControl::setsockopt(int level, int opt, const void* value, std::size_t len)
{
    const auto* p = static_cast<const std::uint8_t*>(value);
    const std::vector<std::uint8_t> data(p, p + (p ? len : 0));
    const int err = ep_->setopt(level, opt, data);
    return err ? fail_with(err) : 0;
}

int InProcessControl::getsockopt(int level, int opt, void* value, std::size_t* len)
{
    if (len == nullptr)
        return fail_with(14 /* EFAULT */);
    std::vector<std::uint8_t> buf(value ? *len : 0);
    if (!buf.empty())
        std::memcpy(buf.data(), value, buf.size());
    std::size_t produced = 0;
    if (int err = ep_->getopt(level, opt, buf, produced); err != 0)
        return fail_with(err);
    if (!buf.empty())
        std::memcpy(value, buf.data(), std::min(produced, buf.size()));
    *len = produced;
    return 0;
}

ssize_t InProcessControl::recv(void* buf, std::size_t len)
{
    std::size_t copied = 0;
    std::size_t record = 0;
    if (!ep_->connected() || !queue_->read(buf, len, copied, record)) {
        errno = ep_->connected() ? EAGAIN : ENOTCONN;
        return -1;
    }
    ep_->consumed(record);
    return static_cast<ssize_t>(copied);
}

InProcessEvents::InProcessEvents()
{
    auto queue = std::make_unique<QueueSink>();
    queue_ = queue.get();
    ep_ = std::make_unique<EventEndpoint>(std::move(queue));
}

InProcessEvents::~InProcessEvents() = default;

void InProcessEvents::set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass)
{
    ep_->set_filter(vendor, kev_class, subclass);
}

int InProcessEvents::vendor_code(const std::string& vendor, std::uint32_t& code)
{
    return wire::from_darwin_errno(host().events.lookup_vendor(vendor, code));
}

ssize_t InProcessEvents::recv(void* buf, std::size_t len)
{
    std::size_t copied = 0;
    std::size_t record = 0;
    if (!queue_->read(buf, len, copied, record)) {
        errno = EAGAIN;
        return -1;
    }
    ep_->consumed(record);
    return static_cast<ssize_t>(copied);
}

} // namespace kextsim
