#include "thread_calls.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <chrono>

namespace kextsim {

namespace {
// The timer thread runs kernel_task's work: pid 0, uid 0.
thread_local bool t_timer_thread = false;
} // namespace

bool on_timer_thread()
{
    return t_timer_thread;
}

ThreadCalls::~ThreadCalls()
{
    {
        std::lock_guard lock(m_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
    for (Call* c : calls_)
        delete c;
}

void* ThreadCalls::allocate(void* func, void* param0, std::uint32_t options, int owner)
{
    auto* c = new Call{func, param0, nullptr, options, owner};
    std::lock_guard lock(m_);
    calls_.push_back(c);
    if (!thread_.joinable())
        thread_ = std::thread([this] { run(); });
    return c;
}

ThreadCalls::Call* ThreadCalls::find_locked(void* handle, const char* what)
{
    auto* c = static_cast<Call*>(handle);
    if (std::find(calls_.begin(), calls_.end(), c) == calls_.end() || c->freed)
        kxs_host_panic((std::string(what) + ": thread call " + code_site(handle) +
                        " was freed or never allocated (XNU: use after free)")
                           .c_str());
    return c;
}

bool ThreadCalls::enter(void* handle, void* param1, std::uint64_t deadline)
{
    std::lock_guard lock(m_);
    Call* c = find_locked(handle, "thread_call_enter");
    c->param1 = param1;
    c->deadline = deadline;
    if ((c->options & kOnce) && c->running) {
        // XNU (_pending_call_enqueue / _delayed_call_enqueue): deferred until
        // the running invocation returns; "pending" only if already deferred.
        const bool was = c->reschedule;
        c->reschedule = true;
        return was;
    }
    const bool was = c->queued;
    c->queued = true;
    c->order = next_order_++;
    cv_.notify_all();
    return was;
}

bool ThreadCalls::cancel(void* handle)
{
    std::lock_guard lock(m_);
    Call* c = find_locked(handle, "thread_call_cancel");
    if (c->reschedule) {
        c->reschedule = false;
        return true;
    }
    const bool was = c->queued;
    c->queued = false;
    return was;
}

bool ThreadCalls::free(void* handle)
{
    std::lock_guard lock(m_);
    Call* c = find_locked(handle, "thread_call_free");
    if (c->queued || c->reschedule)
        return false; // XNU: no effect while pending
    if (c->running) {
        c->freed = true; // released when the callback returns
        return true;
    }
    calls_.erase(std::find(calls_.begin(), calls_.end(), c));
    delete c;
    return true;
}

std::vector<std::string> ThreadCalls::leaks(int owner)
{
    std::lock_guard lock(m_);
    std::vector<std::string> out;
    for (Call* c : calls_) {
        if (c->owner != owner || c->freed)
            continue;
        std::string line = "thread call of " + code_site(c->func) + " not freed";
        if (c->queued || c->reschedule) {
            line += " and still pending (cancelled by kextsim; XNU would run it in unloaded code)";
            c->queued = c->reschedule = false;
        }
        out.push_back(line);
    }
    return out;
}

bool ThreadCalls::wait_idle(int owner, int timeout_ms)
{
    std::unique_lock lock(m_);
    return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
        return std::none_of(calls_.begin(), calls_.end(),
                            [owner](const Call* c) { return c->owner == owner && c->running; });
    });
}

ThreadCalls::Call* ThreadCalls::earliest_locked()
{
    Call* best = nullptr;
    for (Call* c : calls_)
        if (c->queued && (best == nullptr || c->deadline < best->deadline ||
                          (c->deadline == best->deadline && c->order < best->order)))
            best = c;
    return best;
}

void ThreadCalls::run()
{
    t_timer_thread = true;
    std::unique_lock lock(m_);
    while (!stop_) {
        Call* c = earliest_locked();
        if (c == nullptr) {
            cv_.wait(lock);
            continue;
        }
        const std::uint64_t now = kxs_host_uptime_ns();
        if (c->deadline > now) {
            // kxs_host_uptime_ns is steady_clock since its epoch.
            const std::chrono::steady_clock::time_point at{std::chrono::nanoseconds(c->deadline)};
            cv_.wait_until(lock, at);
            continue; // re-evaluate: entered, cancelled or freed meanwhile
        }
        c->queued = false;
        c->running = true;
        void* param1 = c->param1;
        lock.unlock();
        const int32_t prev = kxs_host_set_current_kext(c->owner);
        kxs_kern_tcall_run(c->func, c->param0, param1);
        kxs_host_set_current_kext(prev);
        lock.lock();
        c->running = false;
        idle_cv_.notify_all();
        if (c->freed) {
            calls_.erase(std::find(calls_.begin(), calls_.end(), c));
            delete c;
        } else if (c->reschedule) {
            c->reschedule = false;
            c->queued = true;
            c->order = next_order_++;
        }
    }
}

} // namespace kextsim

extern "C" {

void* kxs_host_tcall_new(void* func, void* param0, uint32_t options)
{
    return kextsim::host().thread_calls.allocate(func, param0, options, kextsim::current_kext());
}

int kxs_host_tcall_enter(void* call, void* param1, uint64_t deadline)
{
    return kextsim::host().thread_calls.enter(call, param1, deadline) ? 1 : 0;
}

int kxs_host_tcall_cancel(void* call)
{
    return kextsim::host().thread_calls.cancel(call) ? 1 : 0;
}

int kxs_host_tcall_free(void* call)
{
    return kextsim::host().thread_calls.free(call) ? 1 : 0;
}

} // extern "C"
