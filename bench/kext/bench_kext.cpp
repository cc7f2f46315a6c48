// The benchmark kext: BENCH_TUNABLES (16 or 256) int64 tunables named
// t00..tff, declared with the kernel library's KC_TUNABLE_* macros like any
// kext, served by the same library code as the reference kext. Built twice by
// bench/CMakeLists.txt (BenchKext16, BenchKext256) with its own bundle id.
#include <kextconf/kc_kext.h>
#include <mach/kmod.h>
#include <os/log.h>

#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)
#define BENCH_BUNDLE_ID BENCH_STR(BENCH_KMOD_NAME)

namespace {

#define T(n) KC_TUNABLE_INT64("t" #n, 0, 0, 1000000000, "", 0, "benchmark tunable t" #n)
#define T_(n) T(n)
#define T16(p)                                                                                                         \
    T_(p##0), T_(p##1), T_(p##2), T_(p##3), T_(p##4), T_(p##5), T_(p##6), T_(p##7), T_(p##8), T_(p##9), T_(p##a),      \
        T_(p##b), T_(p##c), T_(p##d), T_(p##e), T_(p##f)

const kc_tunable_def kTunables[] = {
#if BENCH_TUNABLES == 16
    T16(0)
#elif BENCH_TUNABLES == 256
    T16(0), T16(1), T16(2), T16(3), T16(4), T16(5), T16(6), T16(7), T16(8),
    T16(9), T16(a), T16(b), T16(c), T16(d), T16(e), T16(f)
#else
#error "BENCH_TUNABLES must be 16 or 256"
#endif
};
constexpr uint32_t kCount = sizeof kTunables / sizeof kTunables[0];
static_assert(kCount == BENCH_TUNABLES, "one entry per tunable");

const kc_kext_config kConfig = KC_KEXT_CONFIG(BENCH_BUNDLE_ID, KEXTCONF_KEXT_VERSION, kTunables);

} // namespace

extern "C" kern_return_t bench_start(kmod_info_t *, void *)
{
    const errno_t err = kc_start(&kConfig);
    if (err != 0) {
        os_log_error(OS_LOG_DEFAULT, "%s: start failed: errno %d", BENCH_BUNDLE_ID, err);
        return KERN_FAILURE;
    }
    return KERN_SUCCESS;
}

extern "C" kern_return_t bench_stop(kmod_info_t *, void *)
{
    return kc_stop() == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

#define BENCH_DECL(name, version, start, stop) KMOD_EXPLICIT_DECL(name, version, start, stop)
extern "C" {
BENCH_DECL(BENCH_KMOD_NAME, KEXTCONF_KEXT_VERSION, bench_start, bench_stop)
}
