#include "memory.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kextsim {

namespace {
constexpr std::uint64_t kBlockMagic = 0x6b78736d616c6c6fULL; // "kxsmallo"
struct BlockHeader {
    std::uint64_t magic;
    std::uint64_t size;
    Tag* tag;
    std::uint64_t pad;
};
static_assert(sizeof(BlockHeader) % 16 == 0);
} // namespace

MemoryTracker::~MemoryTracker()
{
    for (Tag* t : tags_)
        delete t;
}

Tag* MemoryTracker::new_tag(const std::string& name, std::uint32_t flags, int owner)
{
    auto* t = new Tag{name, owner, 0, 0, flags, false};
    std::lock_guard lock(m_);
    tags_.push_back(t);
    return t;
}

// XNU (bsd/kern/kern_malloc.c): every block holds a reference on its tag;
// OSMalloc_Tagfree marks the tag released and drops the tag's own reference,
// so a tag with live blocks goes away with the OSFree of its last block.
void MemoryTracker::free_tag(Tag* tag)
{
    std::lock_guard lock(m_);
    auto it = std::find(tags_.begin(), tags_.end(), tag);
    if (it == tags_.end() || tag->released)
        kxs_host_panic(("OSMalloc_Tagfree(): tag \"" + (it == tags_.end() ? std::string("?") : tag->name) +
                        "\" has bad state (freed twice?)")
                           .c_str());
    tag->released = true;
    if (tag->blocks == 0) {
        tags_.erase(it);
        delete tag;
    }
}

void* MemoryTracker::alloc(Tag* tag, std::size_t size, bool can_block)
{
    if (!can_block && (tag->flags & kPageable))
        return nullptr; // OSMalloc_noblock/nowait never use a pageable tag
    if (host().faults.should_fail(FaultSite::Alloc))
        return nullptr;
    auto* h = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
    if (h == nullptr)
        return nullptr;
    h->magic = kBlockMagic;
    h->size = size;
    h->tag = tag;
    std::lock_guard lock(m_);
    ++tag->blocks;
    tag->bytes += size;
    return h + 1;
}

void MemoryTracker::free(Tag* tag, void* p, std::size_t size)
{
    if (p == nullptr)
        return;
    auto* h = static_cast<BlockHeader*>(p) - 1;
    if (h->magic != kBlockMagic)
        kxs_host_panic("OSFree of a pointer OSMalloc did not return (or a double free)");
    if (h->size != size || h->tag != tag) {
        std::string msg = "OSFree size/tag mismatch: block of " + std::to_string(h->size) + " bytes from tag \"" +
                          h->tag->name + "\" freed as " + std::to_string(size) + " bytes of tag \"" + tag->name + "\"";
        kxs_host_panic(msg.c_str());
    }
    {
        std::lock_guard lock(m_);
        --tag->blocks;
        tag->bytes -= size;
        if (tag->released && tag->blocks == 0) { // the last reference on a released tag
            tags_.erase(std::find(tags_.begin(), tags_.end(), tag));
            delete tag;
        }
    }
    h->magic = 0;
    std::free(h);
}

std::vector<std::string> MemoryTracker::leaks(int owner)
{
    std::lock_guard lock(m_);
    std::vector<std::string> out;
    for (const Tag* t : tags_) {
        if (t->owner != owner)
            continue;
        if (t->blocks)
            out.push_back("tag \"" + t->name + "\": " + std::to_string(t->blocks) + " blocks, " +
                          std::to_string(t->bytes) + " bytes not freed");
        else
            out.push_back("tag \"" + t->name + "\" not freed");
    }
    return out;
}

} // namespace kextsim

extern "C" {

void* kxs_host_tag_new(const char* name, uint32_t flags)
{
    return kextsim::host().memory.new_tag(name ? name : "", flags, kextsim::current_kext());
}

void kxs_host_tag_free(void* tag)
{
    kextsim::host().memory.free_tag(static_cast<kextsim::Tag*>(tag));
}

void* kxs_host_alloc(void* tag, size_t size, int can_block)
{
    if (can_block && kextsim::holding_spin_lock())
        kxs_host_panic("OSMalloc may block, but this thread holds a spin lock (use OSMalloc_noblock)");
    return kextsim::host().memory.alloc(static_cast<kextsim::Tag*>(tag), size, can_block != 0);
}

void kxs_host_free(void* tag, void* addr, size_t size)
{
    kextsim::host().memory.free(static_cast<kextsim::Tag*>(tag), addr, size);
}

void kxs_host_panic(const char* msg)
{
    std::fprintf(stderr, "kextsim: panic: %s\n", msg);
    std::fflush(stderr);
    std::abort();
}

} // extern "C"
