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
    // The same over a connected socket (the hello exchange is done here).
    static std::unique_ptr<KextClient> over(std::unique_ptr<ControlSocket> sock, const std::string& bundle_id,
                                            KextError& err);

    const kc_hello_reply& hello() const { return hello_; }
    // The contract version both sides speak: the lower of their highest.
    std::uint32_t proto_version() const { return version_; }
    // Version 2: the batched describe and set (KC_CAP_BATCH), and the hash of
    // the table this control describes; nullopt from a version 1 kext.
    bool batched() const { return schema_hash_.has_value(); }
    std::optional<std::uint64_t> schema_hash() const { return schema_hash_; }
    const std::string& bundle_id() const { return bundle_id_; }

    // The kext's tunable table (visible entries only on the query control):
    // in as few options as fit it from a version 2 kext, one per tunable
    // from a version 1 kext. `wire` (may be null) receives the descriptors
    // as the kext sent them (what the schema hash covers).
    KextError describe(std::vector<proto::TunableDesc>& out, std::vector<kc_tunable_desc>* wire = nullptr);
    // The table describe() returned earlier on another connection to the
    // same load, so that errors name tunables without asking again.
    void know_tunables(const std::vector<proto::TunableDesc>& schema);
    // Lists are read in chunks (kc_get_req.offset), each at most the kext's
    // max_option_len; a read torn by a concurrent commit is repeated.
    KextError get(const proto::TunableDesc& desc, proto::Value& out);
    KextError state(kc_state& out);
    // KC_OPT_COUNTERS; an error (e.g. EINVAL/ENOPROTOOPT) from a kext that does not keep them.
    KextError counters(kc_counters& out);

    // One transaction: begin at expected_generation, set every value, commit.
    // On any failure the transaction is aborted and the kext keeps what it
    // had. Values larger than one option travel in chunks; a version 2 kext
    // gets as many values per option as fit.
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
    // A fixed-size reply to getsockopt `opt` with no input.
    template <typename Reply> KextError read_reply(int opt, const char* what, Reply& out);
    // Builds a message from an errno and the kext's last-error record.
    KextError explain(std::error_code ec, const char* what);

    // The hello exchange; false with `err` set (`control` names the control in messages).
    bool handshake(const std::string& control, KextError& err);
    // describe() one KC_OPT_DESCRIBE per tunable (version 1) or batched.
    KextError describe_each(std::vector<kc_tunable_desc>& wire);
    KextError describe_batched(std::vector<kc_tunable_desc>& wire);
    // The tunable named in an error: its name once describe() has run.
    std::string tunable_name(std::uint32_t index) const;

    std::unique_ptr<ControlSocket> sock_;
    std::string bundle_id_;
    std::vector<std::string> names_; // by index, from the last describe()
    kc_hello_reply hello_{};
    std::uint32_t version_ = 0;
    std::optional<std::uint64_t> schema_hash_;
};

// Human text for connect failures ("the kext is not loaded", "run as root").
std::string describe_connect_error(const std::string& control, std::error_code ec);

} // namespace kextconf
