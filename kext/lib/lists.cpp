// List tunables: reference-counted blocks, chunk staging, validation, reads
// and the in-kernel consumer API (kc_list_*). A list value is one OSMalloc
// however many entries it has; snapshots share blocks, so a transaction that
// does not touch a list never copies it (kc_internal.h, ListBlock).
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>

namespace kc {

namespace {

// Room a string list stages beyond the first chunk's bytes-per-entry
// estimate, so a list of similar entries rarely grows (each growth copies).
constexpr uint32_t kEstimateSlackDiv = 8; // +12.5 %
// A sealed string list keeping more than this fraction of spare room is
// trimmed to size at commit (one copy), so the estimate costs no memory.
constexpr uint32_t kTrimSpareDiv = 16; // > 6.25 % spare

size_t header_size(void)
{
    return sizeof(ListBlock);
}

int64_t *values(ListBlock *b)
{
    return reinterpret_cast<int64_t *>(b + 1);
}
int64_t *sorted(ListBlock *b)
{
    return values(b) + b->count;
}
uint32_t *offsets(ListBlock *b)
{
    return reinterpret_cast<uint32_t *>(b + 1);
}
char *data(ListBlock *b)
{
    return reinterpret_cast<char *>(offsets(b) + b->count);
}
const uint32_t *offsets(const ListBlock *b)
{
    return reinterpret_cast<const uint32_t *>(b + 1);
}
const char *data(const ListBlock *b)
{
    return reinterpret_cast<const char *>(offsets(b) + b->count);
}

// Allocation size of a block; 0 if it would not fit in 32 bits.
uint64_t block_size(uint32_t type, uint32_t count, uint32_t cap)
{
    if (type == KC_TYPE_INT64_LIST)
        return header_size() + uint64_t{count} * 2 * sizeof(int64_t);
    return header_size() + uint64_t{count} * sizeof(uint32_t) + cap;
}

ListBlock *block_alloc(uint32_t type, uint32_t count, uint32_t cap)
{
    const uint64_t size = block_size(type, count, cap);
    if (size > kMaxListBytes)
        return nullptr;
    auto *b = static_cast<ListBlock *>(OSMalloc(static_cast<uint32_t>(size), g.load.tag));
    if (b == nullptr)
        return nullptr;
    memset(b, 0, sizeof *b);
    b->refs = 1;
    b->type = type;
    b->count = count;
    b->cap = type == KC_TYPE_STRING_LIST ? cap : 0;
    b->size = static_cast<uint32_t>(size);
    return b;
}

void block_free(ListBlock *b)
{
    OSFree(b, b->size, g.load.tag);
}

// A string list block with the same contents and `cap` bytes of data room.
ListBlock *block_resize(ListBlock *b, uint32_t cap)
{
    ListBlock *n = block_alloc(b->type, b->count, cap);
    if (n == nullptr)
        return nullptr;
    n->filled = b->filled;
    n->bytes = b->bytes;
    n->sealed = b->sealed;
    memcpy(offsets(n), offsets(b), b->count * sizeof(uint32_t));
    memcpy(data(n), data(b), b->bytes);
    return n;
}

// In-place heapsort: no allocation, O(n log n) worst case, no recursion.
void sift_down(int64_t *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child] < a[child + 1])
            ++child;
        if (!(a[root] < a[child]))
            return;
        const int64_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

void heap_sort(int64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        const int64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

// Checks `count` NUL-terminated elements filling exactly `len` bytes.
uint32_t check_strings(const kc_tunable_def &d, const unsigned char *p, uint32_t len, uint32_t count)
{
    uint32_t pos = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (pos >= len)
            return KC_R_BAD_STRING; // fewer elements than count
        const size_t n = strnlen(reinterpret_cast<const char *>(p + pos), len - pos);
        if (pos + n >= len)
            return KC_R_BAD_STRING; // last element not NUL-terminated
        if (n > d.max.u)
            return KC_R_TOO_LONG;
        pos += static_cast<uint32_t>(n) + 1;
    }
    // Bytes left over: more NULs than count says, i.e. an element with an
    // embedded NUL (or a stray terminator).
    return pos == len ? KC_R_NONE : KC_R_BAD_STRING;
}

} // namespace

bool is_list(uint32_t type)
{
    return type == KC_TYPE_INT64_LIST || type == KC_TYPE_STRING_LIST;
}

uint64_t list_max_bytes(const kc_tunable_def &d)
{
    if (d.type == KC_TYPE_INT64_LIST)
        return block_size(d.type, d.max_count, 0);
    return block_size(d.type, d.max_count, 0) + uint64_t{d.max_count} * (d.max.u + 1);
}

ListBlock *list_alloc_empty(uint32_t type)
{
    ListBlock *b = block_alloc(type, 0, 0);
    if (b != nullptr)
        b->sealed = 1;
    return b;
}

void list_retain(ListBlock *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void list_release(ListBlock *b)
{
    if (b != nullptr && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        block_free(b);
}

const int64_t *list_int64s(const ListBlock *b)
{
    return reinterpret_cast<const int64_t *>(b + 1);
}

const char *list_element(const ListBlock *b, uint32_t i, uint32_t *len)
{
    const uint32_t start = offsets(b)[i];
    const uint32_t end = i + 1 < b->filled ? offsets(b)[i + 1] : b->bytes;
    *len = end - start - 1;
    return data(b) + start;
}

const void *list_payload(const ListBlock *b, uint32_t *len)
{
    if (b->type == KC_TYPE_INT64_LIST) {
        *len = b->count * static_cast<uint32_t>(sizeof(int64_t));
        return list_int64s(b);
    }
    *len = b->bytes;
    return data(b);
}

bool list_equal(const ListBlock *a, const ListBlock *b)
{
    if (a == b)
        return true;
    uint32_t la = 0, lb = 0;
    const void *pa = list_payload(a, &la);
    const void *pb = list_payload(b, &lb);
    return a->count == b->count && la == lb && memcmp(pa, pb, la) == 0;
}

uint32_t check_list_chunk(uint32_t index, const kc_value_hdr &h, const unsigned char *payload)
{
    const kc_tunable_def &d = g.load.cfg->table[index];
    if (h.total > d.max_count)
        return KC_R_TOO_LONG;
    if (h.count > h.total || h.offset > h.total - h.count)
        return KC_R_BAD_LENGTH; // the chunk reaches past the announced total
    if (d.type == KC_TYPE_INT64_LIST) {
        if (h.length != uint64_t{h.count} * sizeof(int64_t))
            return KC_R_BAD_LENGTH;
        for (uint32_t i = 0; i < h.count; ++i) {
            int64_t v;
            memcpy(&v, payload + i * sizeof v, sizeof v);
            if (v < d.min.i || v > d.max.i)
                return KC_R_OUT_OF_RANGE;
        }
        return KC_R_NONE;
    }
    return check_strings(d, payload, h.length, h.count);
}

uint32_t list_stage_chunk(ListBlock **slot_list, const kc_tunable_def &d, const kc_value_hdr &h,
                          const unsigned char *payload)
{
    ListBlock *b = *slot_list;
    if (h.offset == 0) {
        // A new value: size it from the announced total. Strings: estimate
        // the bytes from this chunk's mean entry size, bounded by the most
        // the tunable allows.
        uint64_t cap = 0;
        if (d.type == KC_TYPE_STRING_LIST && h.total != 0) {
            const uint64_t worst = uint64_t{h.total} * (d.max.u + 1);
            cap = h.count != 0 ? uint64_t{h.length} * h.total / h.count : uint64_t{h.total} * 16;
            cap += cap / kEstimateSlackDiv;
            if (cap < h.length)
                cap = h.length;
            if (cap > worst)
                cap = worst;
        }
        ListBlock *n = cap <= kMaxListBytes ? block_alloc(d.type, h.total, static_cast<uint32_t>(cap)) : nullptr;
        if (n == nullptr)
            return KC_R_NO_MEMORY;
        list_release(b); // the staged snapshot's reference to the old value
        *slot_list = b = n;
    } else if (b->sealed || b->count != h.total || b->filled != h.offset) {
        return KC_R_BAD_OFFSET; // not the continuation of the value being staged
    }
    if (d.type == KC_TYPE_INT64_LIST) {
        memcpy(values(b) + h.offset, payload, h.length);
    } else {
        if (uint64_t{b->bytes} + h.length > b->cap) {
            uint64_t cap = uint64_t{b->cap} * 2;
            if (cap < uint64_t{b->bytes} + h.length)
                cap = uint64_t{b->bytes} + h.length;
            const uint64_t worst = uint64_t{b->count} * (d.max.u + 1);
            if (cap > worst)
                cap = worst;
            ListBlock *n = cap <= kMaxListBytes ? block_resize(b, static_cast<uint32_t>(cap)) : nullptr;
            if (n == nullptr)
                return KC_R_NO_MEMORY;
            block_free(b); // staging blocks are never shared
            *slot_list = b = n;
        }
        uint32_t pos = 0;
        for (uint32_t i = 0; i < h.count; ++i) {
            offsets(b)[h.offset + i] = b->bytes + pos;
            pos += static_cast<uint32_t>(strnlen(reinterpret_cast<const char *>(payload + pos), h.length - pos)) + 1;
        }
        memcpy(data(b) + b->bytes, payload, h.length);
        b->bytes += h.length;
    }
    b->filled += h.count;
    return KC_R_NONE;
}

uint32_t list_seal(ListBlock **slot_list, uint32_t index)
{
    ListBlock *b = *slot_list;
    if (b->sealed)
        return KC_R_NONE; // shared with the snapshot it came from: validated then
    if (b->filled != b->count)
        return KC_R_INCOMPLETE;
    // Validate the whole value again, as the wire chunks would carry it.
    const kc_tunable_def &d = g.load.cfg->table[index];
    if (b->type == KC_TYPE_INT64_LIST) {
        for (uint32_t i = 0; i < b->count; ++i)
            if (values(b)[i] < d.min.i || values(b)[i] > d.max.i)
                return KC_R_OUT_OF_RANGE;
        memcpy(sorted(b), values(b), b->count * sizeof(int64_t));
        heap_sort(sorted(b), b->count);
    } else {
        if (check_strings(d, reinterpret_cast<const unsigned char *>(data(b)), b->bytes, b->count) != KC_R_NONE)
            return KC_R_BAD_STRING;
        if (b->cap - b->bytes > b->bytes / kTrimSpareDiv) {
            if (ListBlock *n = block_resize(b, b->bytes); n != nullptr) {
                block_free(b);
                *slot_list = b = n;
            } // else keep the roomier block: trimming is not worth failing for
        }
    }
    b->sealed = 1;
    return KC_R_NONE;
}

uint32_t list_read(const ListBlock *b, uint32_t offset, unsigned char *out, size_t room, kc_value_hdr *h)
{
    if (offset > b->count)
        return KC_R_BAD_OFFSET;
    uint32_t n = 0;
    size_t bytes = 0;
    if (b->type == KC_TYPE_INT64_LIST) {
        const size_t fit = room / sizeof(int64_t);
        n = static_cast<uint32_t>(fit < b->count - offset ? fit : b->count - offset);
        bytes = n * sizeof(int64_t);
        memcpy(out, list_int64s(b) + offset, bytes);
    } else {
        const uint32_t start = offset < b->count ? offsets(b)[offset] : b->bytes;
        uint32_t end = start;
        while (offset + n < b->count) {
            const uint32_t next = offset + n + 1 < b->count ? offsets(b)[offset + n + 1] : b->bytes;
            if (next - start > room)
                break;
            end = next;
            ++n;
        }
        bytes = end - start;
        memcpy(out, data(b) + start, bytes);
    }
    if (n == 0 && offset < b->count)
        return KC_R_BAD_LENGTH;
    h->offset = offset;
    h->count = n;
    h->total = b->count;
    h->length = static_cast<uint32_t>(bytes);
    return KC_R_NONE;
}

} // namespace kc

using kc::g;

namespace {
// The block of list tunable `index` with one reference for the caller, or
// nullptr. The reference is taken under the shared lock, so a commit
// swapping the snapshot cannot free the block first.
kc::ListBlock *acquire_block(uint32_t index)
{
    if (!kc::reader_enter())
        return nullptr;
    kc::ListBlock *b = nullptr;
    if (index < g.load.cfg->count && kc::is_list(g.load.cfg->table[index].type)) {
        lck_rw_lock_shared(g.snap.lock);
        b = kc::slots(g.snap.current)[index].list;
        kc::list_retain(b);
        lck_rw_unlock_shared(g.snap.lock);
        __atomic_add_fetch(&g.life.views, 1u, __ATOMIC_SEQ_CST); // kc_stop refuses while held
    }
    kc::reader_exit();
    return b;
}
} // namespace

struct kc_list {
    kc::ListBlock block;
};

extern "C" const struct kc_list *kc_list_acquire(uint32_t index)
{
    return reinterpret_cast<const kc_list *>(acquire_block(index));
}

extern "C" void kc_list_release(const struct kc_list *list)
{
    kc::list_release(const_cast<kc::ListBlock *>(&list->block));
    __atomic_sub_fetch(&g.life.views, 1u, __ATOMIC_SEQ_CST); // after the free: g.load.tag is needed until here
}

extern "C" uint32_t kc_list_count(const struct kc_list *list)
{
    return list->block.count;
}

extern "C" const int64_t *kc_list_int64s(const struct kc_list *list)
{
    return list->block.type == KC_TYPE_INT64_LIST ? kc::list_int64s(&list->block) : nullptr;
}

extern "C" const char *kc_list_string(const struct kc_list *list, uint32_t i, size_t *len)
{
    if (list->block.type != KC_TYPE_STRING_LIST || i >= list->block.count) {
        if (len != nullptr)
            *len = 0;
        return nullptr;
    }
    uint32_t n = 0;
    const char *s = kc::list_element(&list->block, i, &n);
    if (len != nullptr)
        *len = n;
    return s;
}

extern "C" bool kc_list_contains_int64(uint32_t index, int64_t value)
{
    if (!kc::reader_enter())
        return false;
    if (index >= g.load.cfg->count || g.load.cfg->table[index].type != KC_TYPE_INT64_LIST) {
        kc::reader_exit();
        return false;
    }
    bool found = false;
    lck_rw_lock_shared(g.snap.lock);
    const kc::ListBlock *b = kc::slots(g.snap.current)[index].list;
    const int64_t *s = kc::list_int64s(b) + b->count; // the sorted index
    uint32_t lo = 0, hi = b->count;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    found = lo < b->count && s[lo] == value;
    lck_rw_unlock_shared(g.snap.lock);
    kc::reader_exit();
    return found;
}
