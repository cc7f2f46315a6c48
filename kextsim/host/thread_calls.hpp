// Thread calls (kern/thread_call.h) on the host: every call a kext allocated,
// its pending deadline, and one timer thread that sleeps on a condition
// variable until the earliest deadline (no polling) and runs due calls, one
// at a time, attributed to the kext that allocated them.
//
// Threading: any thread. Callbacks run on the timer thread with no host lock
// held; a callback may enter, cancel or free its own call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kextsim {

class ThreadCalls {
public:
    ThreadCalls() = default;
    ~ThreadCalls(); // stops the timer thread (after a callback in flight returns)
    ThreadCalls(const ThreadCalls&) = delete;
    ThreadCalls& operator=(const ThreadCalls&) = delete;

    static constexpr std::uint32_t kOnce = 0x1; // THREAD_CALL_OPTIONS_ONCE

    void* allocate(void* func, void* param0, std::uint32_t options, int owner);
    // deadline: absolute ns of kxs_host_uptime_ns, 0 = now. True if it was pending.
    bool enter(void* call, void* param1, std::uint64_t deadline);
    bool cancel(void* call);
    bool free(void* call);

    // What kext `owner` left behind after stop, one line each; pending calls
    // are cancelled (they would run code that is about to be unmapped).
    std::vector<std::string> leaks(int owner);
    // Waits up to `timeout_ms` for callbacks of `owner` to return; true if
    // none runs (else its image must stay mapped). A stop routine cannot
    // wait for the last instructions of a callback it was told has finished.
    bool wait_idle(int owner, int timeout_ms);

private:
    struct Call {
        void* func;
        void* param0;
        void* param1 = nullptr;
        std::uint32_t options;
        int owner;
        bool queued = false;     // pending, at `deadline`
        bool reschedule = false; // ONCE: entered while running; queued when it returns
        bool running = false;
        bool freed = false; // thread_call_free ran while it was running
        std::uint64_t deadline = 0;
        std::uint64_t order = 0; // FIFO among equal deadlines
    };
    Call* find_locked(void* handle, const char* what);
    Call* earliest_locked();
    void run();

    std::mutex m_;
    std::condition_variable cv_;      // the timer thread waits on it
    std::condition_variable idle_cv_; // a callback returned
    std::vector<Call*> calls_;        // allocated and not yet released
    std::uint64_t next_order_ = 0;
    bool stop_ = false;
    std::thread thread_; // started with the first allocation
};

} // namespace kextsim
