// 6. Events: the kext posting as fast as it can while a listener reads.
#include "benches.hpp"

namespace kcbench {

void bench_events(Table& t, const Options&)
{
    t.add({"6", "events delivered/s, drops = gaps", "not in this build (kext event counters)", "", 0, "", true});
}

} // namespace kcbench
