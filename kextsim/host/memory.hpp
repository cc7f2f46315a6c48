// Accounting of kext memory (OSMalloc tags and blocks) and locks, so that
// misuse fails loudly (size mismatch on free, freeing a tag with live blocks,
// recursive mutex) and leaks are reported after a kext stops.
//
// Threading: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace kextsim {

struct Tag {
    std::string name;
    int owner = -1;
    std::size_t blocks = 0;
    std::size_t bytes = 0;
    std::uint32_t flags = 0; // OSMT_*
    bool released = false;   // OSMalloc_Tagfree ran; freed with its last block
};

class MemoryTracker {
public:
    MemoryTracker() = default;
    ~MemoryTracker();
    MemoryTracker(const MemoryTracker&) = delete;
    MemoryTracker& operator=(const MemoryTracker&) = delete;

    static constexpr std::uint32_t kPageable = 0x1; // OSMT_PAGEABLE
    Tag* new_tag(const std::string& name, std::uint32_t flags, int owner);
    void free_tag(Tag* tag);
    // NULL for a non-blocking allocation from a pageable tag, as in XNU.
    void* alloc(Tag* tag, std::size_t size, bool can_block);
    void free(Tag* tag, void* p, std::size_t size);
    // Live tags and blocks of kext `owner`, one line each; empty if clean.
    std::vector<std::string> leaks(int owner);

private:
    std::mutex m_;
    std::vector<Tag*> tags_; // live tags (OSMalloc_Tagfree removes and deletes)
};

} // namespace kextsim
