// A typed client of one kext's control, over the kernel link: hello,
// describe, get, state and the transaction that applies a configuration.
// Shared by kextconfd and kextconfctl.
//
// Threading: one thread at a time per object.
#pragma once

#include <kextconf/kernel_link.hpp>

#include <kextconf/codec.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kextconf {

// What went wrong, for a person: errno plus the kext's own reason.
struct KextError {
    std::error_code ec;
    std::string message;
    explicit operator bool() const { return static_cast<bool>(ec); }
};

struct ApplyResult {
    std::uint64_t generation = 0;
    std::uint64_t config_hash = 0;
    std::uint32_t changed = 0;
};

class KextClient {
public:
    enum class Access {
        Admin, // "<bundle-id>", root only, read/write
        Query, // "<bundle-id>.query", anyone, read-only
    };

    static std::unique_ptr<KextClient> connect(const std::string& bundle_id, Access access, KextError& err);

    const kc_hello_reply& hello() const { return hello_; }
    const std::string& bundle_id() const { return bundle_id_; }

    // The kext's tunable table (visible entries only on the query control).
    KextError describe(std::vector<proto::TunableDesc>& out);
    // Lists are read in chunks (kc_get_req.offset), each at most the kext's
    // max_option_len; a read torn by a concurrent commit is repeated.
    KextError get(const proto::TunableDesc& desc, proto::Value& out);
    KextError state(kc_state& out);
    // KC_OPT_COUNTERS; an error (e.g. EINVAL/ENOPROTOOPT) from a kext that does not keep them.
    KextError counters(kc_counters& out);

    // One transaction: begin at expected_generation, set every value, commit.
    // On any failure the transaction is aborted and the kext keeps what it
    // had. Values larger than one option travel in chunks.
    KextError apply(std::uint64_t expected_generation,
                    const std::vector<std::pair<std::uint32_t, proto::Value>>& values, ApplyResult& result);
    // The same with values held elsewhere (not copied; not null).
    KextError apply(std::uint64_t expected_generation,
                    const std::vector<std::pair<std::uint32_t, const proto::Value*>>& values, ApplyResult& result);

private:
    KextClient(std::unique_ptr<ControlSocket> sock, std::string bundle_id);
    // Reads of a list that met a commit between chunks before giving up.
    static constexpr int kGetAttempts = 3;
    // One pass of get(); `chunked` when the value took several options, and
    // then `generation` is the one read before the first chunk.
    KextError get_once(const proto::TunableDesc& desc, proto::Value& out, std::uint64_t& generation, bool& chunked);
    // Builds a message from an errno and the kext's last-error record.
    KextError explain(std::error_code ec, const char* what);

    std::unique_ptr<ControlSocket> sock_;
    std::string bundle_id_;
    kc_hello_reply hello_{};
};

// Human text for connect failures ("the kext is not loaded", "run as root").
std::string describe_connect_error(const std::string& control, std::error_code ec);

} // namespace kextconf
