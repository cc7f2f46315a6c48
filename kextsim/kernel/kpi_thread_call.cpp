// Kernel-domain half of the thread call KPI (kern/thread_call.h): the host
// keeps the calls and runs them on its timer thread; this file only checks
// arguments and makes the upcall that runs a kext's function.
#include <kern/thread_call.h>

#include "../abi/kxs_abi.h"

namespace {
thread_call_t as_call(void *handle)
{
    return static_cast<thread_call_t>(handle);
}
void *handle_of(thread_call_t call)
{
    if (call == nullptr)
        kxs_host_panic("thread_call: NULL thread_call_t (XNU dereferences it)");
    return call;
}
} // namespace

extern "C" {

thread_call_t thread_call_allocate_with_options(thread_call_func_t func, thread_call_param_t param0,
                                                thread_call_priority_t, thread_call_options_t options)
{
    if (func == nullptr)
        kxs_host_panic("thread_call_allocate: NULL function (XNU would jump to 0 when the call runs)");
    // XNU allocates from a zone that waits for memory: never NULL.
    return as_call(kxs_host_tcall_new(reinterpret_cast<void *>(func), param0, options));
}

thread_call_t thread_call_allocate(thread_call_func_t func, thread_call_param_t param0)
{
    return thread_call_allocate_with_options(func, param0, THREAD_CALL_PRIORITY_HIGH, 0);
}

boolean_t thread_call_enter(thread_call_t call)
{
    return kxs_host_tcall_enter(handle_of(call), nullptr, 0) ? TRUE : FALSE;
}

boolean_t thread_call_enter1(thread_call_t call, thread_call_param_t param1)
{
    return kxs_host_tcall_enter(handle_of(call), param1, 0) ? TRUE : FALSE;
}

boolean_t thread_call_enter_delayed(thread_call_t call, uint64_t deadline)
{
    return kxs_host_tcall_enter(handle_of(call), nullptr, deadline == 0 ? 1 : deadline) ? TRUE : FALSE;
}

boolean_t thread_call_enter1_delayed(thread_call_t call, thread_call_param_t param1, uint64_t deadline)
{
    return kxs_host_tcall_enter(handle_of(call), param1, deadline == 0 ? 1 : deadline) ? TRUE : FALSE;
}

boolean_t thread_call_cancel(thread_call_t call)
{
    return kxs_host_tcall_cancel(handle_of(call)) ? TRUE : FALSE;
}

boolean_t thread_call_free(thread_call_t call)
{
    return kxs_host_tcall_free(handle_of(call)) ? TRUE : FALSE;
}

void kxs_kern_tcall_run(void *func, void *param0, void *param1)
{
    reinterpret_cast<thread_call_func_t>(func)(param0, param1);
}

} // extern "C"
