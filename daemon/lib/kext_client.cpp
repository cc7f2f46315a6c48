#include <kextconf/kext_client.hpp>

#include <algorithm>
#include <cerrno>
#include <iterator>

namespace kextconf {

namespace {
bool is(std::error_code ec, int e)
{
    return ec.category() == std::generic_category() && ec.value() == e;
}
} // namespace

std::string describe_connect_error(const std::string& control, std::error_code ec)
{
    if (is(ec, ENOENT))
        return "kernel control " + control + " does not exist: the kext is not loaded (kextconfctl kext load)";
    if (is(ec, EPERM) || is(ec, EACCES))
        return "kernel control " + control + " is privileged: run as root";
    if (is(ec, ECONNREFUSED))
        return "cannot reach " + kernel_link_description() + ": is it running? (kextsim boot)";
    return "cannot connect to kernel control " + control + ": " + ec.message();
}

KextClient::KextClient(std::unique_ptr<ControlSocket> sock, std::string bundle_id)
    : sock_(std::move(sock)), bundle_id_(std::move(bundle_id))
{
}

std::unique_ptr<KextClient> KextClient::connect(const std::string& bundle_id, Access access, KextError& err)
{
    const std::string name = access == Access::Admin ? bundle_id : bundle_id + KC_QUERY_SUFFIX;
    std::error_code ec;
    auto sock = ControlSocket::connect(name, ec);
    if (!sock) {
        err = {ec, describe_connect_error(name, ec)};
        return nullptr;
    }
    std::unique_ptr<KextClient> c(new KextClient(std::move(sock), bundle_id));
    return c->handshake(name, err) ? std::move(c) : nullptr;
}

std::unique_ptr<KextClient> KextClient::over(std::unique_ptr<ControlSocket> sock, const std::string& bundle_id,
                                             KextError& err)
{
    std::unique_ptr<KextClient> c(new KextClient(std::move(sock), bundle_id));
    return c->handshake(bundle_id, err) ? std::move(c) : nullptr;
}

bool KextClient::handshake(const std::string& name, KextError& err)
{
    // A version 1 kext answers the version 1 reply whatever room it is given.
    kc_hello_req req{KC_PROTO_VERSION, 0};
    proto::Bytes out;
    if (auto e = sock_->getopt(KC_OPT_HELLO, proto::encode(req), sizeof(kc_hello_reply_v2), out)) {
        err = {e, "hello to " + name + " failed: " + e.message()};
        return false;
    }
    auto hello = proto::decode<kc_hello_reply>(out, true);
    if (!hello) {
        err = {std::make_error_code(std::errc::protocol_error),
               name + " answered hello with " + std::to_string(out.size()) + " bytes"};
        return false;
    }
    if (hello->proto_version < KC_PROTO_MIN_VERSION || hello->min_proto_version > KC_PROTO_VERSION) {
        err = {std::make_error_code(std::errc::protocol_not_supported),
               "protocol mismatch: " + name + " speaks versions " + std::to_string(hello->min_proto_version) + ".." +
                   std::to_string(hello->proto_version) + ", this tool speaks " + std::to_string(KC_PROTO_MIN_VERSION) +
                   ".." + std::to_string(KC_PROTO_VERSION) + " (update kextconf or the kext)"};
        return false;
    }
    hello_ = *hello;
    version_ = std::min<std::uint32_t>(hello->proto_version, KC_PROTO_VERSION);
    schema_hash_.reset();
    if (auto v2 = proto::decode<kc_hello_reply_v2>(out, true);
        v2 && version_ >= 2 && (hello->capabilities & KC_CAP_BATCH) != 0)
        schema_hash_ = v2->schema_hash;
    err = {};
    return true;
}

KextError KextClient::explain(std::error_code ec, const char* what)
{
    std::string msg = std::string(what) + ": " + ec.message();
    proto::Bytes out;
    if (!sock_->getopt(KC_OPT_LAST_ERROR, {}, sizeof(kc_error_detail), out)) {
        if (auto d = proto::decode<kc_error_detail>(out); d && d->reason != KC_R_NONE) {
            msg += " (" + std::string(proto::reason_text(d->reason));
            if (d->index != UINT32_MAX)
                msg += ", tunable " + tunable_name(d->index);
            msg += ")";
        }
    }
    return {ec, msg};
}

std::string KextClient::tunable_name(std::uint32_t index) const
{
    return index < names_.size() && !names_[index].empty() ? "\"" + names_[index] + "\"" : "#" + std::to_string(index);
}

void KextClient::know_tunables(const std::vector<proto::TunableDesc>& schema)
{
    names_.assign(hello_.tunable_count, std::string());
    for (const auto& d : schema)
        if (d.index < names_.size())
            names_[d.index] = d.name;
}

KextError KextClient::describe(std::vector<proto::TunableDesc>& out, std::vector<kc_tunable_desc>* wire)
{
    out.clear();
    std::vector<kc_tunable_desc> descs;
    if (auto e = batched() ? describe_batched(descs) : describe_each(descs))
        return e;
    for (const auto& w : descs) {
        auto desc = proto::TunableDesc::from_wire(w);
        if (!desc)
            return {std::make_error_code(std::errc::protocol_error),
                    "describe: malformed descriptor for tunable #" + std::to_string(w.index)};
        out.push_back(std::move(*desc));
    }
    know_tunables(out);
    if (wire)
        *wire = std::move(descs);
    return {};
}

KextError KextClient::describe_each(std::vector<kc_tunable_desc>& wire)
{
    for (std::uint32_t i = 0; i < hello_.tunable_count; ++i) {
        proto::Bytes buf;
        const kc_describe_req req{i, 0};
        auto ec = sock_->getopt(KC_OPT_DESCRIBE, proto::encode(req), sizeof(kc_tunable_desc), buf);
        if (ec == std::errc::no_such_file_or_directory)
            continue; // hidden from this control
        if (ec)
            return explain(ec, "describe");
        auto d = proto::decode<kc_tunable_desc>(buf);
        if (!d)
            return {std::make_error_code(std::errc::protocol_error),
                    "describe: malformed descriptor for tunable #" + std::to_string(i)};
        wire.push_back(*d);
    }
    return {};
}

KextError KextClient::describe_batched(std::vector<kc_tunable_desc>& wire)
{
    const std::size_t option_size = std::min<std::size_t>(hello_.max_option_len, KC_OPT_MAX_LEN);
    std::uint32_t next = 0;
    while (next < hello_.tunable_count) {
        proto::Bytes buf;
        const kc_describe_req req{next, 0};
        if (auto ec = sock_->getopt(KC_OPT_DESCRIBE_ALL, proto::encode(req), option_size, buf))
            return explain(ec, "describe");
        auto batch = proto::decode_describe_batch(buf);
        // Each answer must move forward, or a kext could keep us asking.
        if (!batch || batch->hdr.first != next || batch->hdr.next <= next || batch->hdr.next > batch->hdr.total ||
            batch->hdr.total != hello_.tunable_count)
            return {std::make_error_code(std::errc::protocol_error),
                    "describe: malformed batch from tunable #" + std::to_string(next)};
        wire.insert(wire.end(), batch->descs.begin(), batch->descs.end());
        next = batch->hdr.next;
    }
    return {};
}

KextError KextClient::get(const proto::TunableDesc& desc, proto::Value& out)
{
    // A list longer than one option arrives in chunks; a commit between two
    // chunks would tear it, so the generation is read around a multi-chunk
    // read and the read repeated if it moved.
    for (int attempt = 1;; ++attempt) {
        std::uint64_t generation = 0;
        bool chunked = false;
        if (auto e = get_once(desc, out, generation, chunked))
            return e;
        if (!chunked)
            return {};
        kc_state st{};
        if (auto e = state(st))
            return e;
        if (st.generation == generation)
            return {};
        if (attempt == kGetAttempts)
            return {std::make_error_code(std::errc::resource_unavailable_try_again),
                    "get " + desc.name + ": the value kept changing while it was read (" +
                        std::to_string(kGetAttempts) + " tries)"};
    }
}

KextError KextClient::get_once(const proto::TunableDesc& desc, proto::Value& out, std::uint64_t& generation,
                               bool& chunked)
{
    out = proto::Value{};
    out.type = desc.type;
    chunked = false;
    // A scalar or a string fits a buffer of its own size; only lists need
    // whole options. getsockopt copies the buffer in and out, so an 8 KiB
    // buffer for an 8-byte value costs more than the round trip's bytes
    // (docs/performance.md, benchmark 1).
    const std::size_t option_size =
        std::min<std::size_t>(std::max<std::size_t>(hello_.max_option_len, 64), KC_OPT_MAX_LEN);
    const std::size_t buf_size = proto::is_list_type(desc.type) ? option_size
                                 : desc.type == KC_TYPE_STRING
                                     ? std::min<std::size_t>(sizeof(kc_value_hdr) + desc.max_count, option_size)
                                     : sizeof(kc_value_hdr) + sizeof(kc_scalar);
    if (proto::is_list_type(desc.type)) {
        kc_state st{};
        if (auto e = state(st))
            return e;
        generation = st.generation;
    }
    std::uint32_t offset = 0;
    for (;;) {
        proto::Bytes buf;
        const kc_get_req req{desc.index, offset};
        if (auto ec = sock_->getopt(KC_OPT_GET, proto::encode(req), buf_size, buf))
            return explain(ec, ("get " + desc.name).c_str());
        auto chunk = proto::decode_value_chunk(buf);
        if (!chunk || chunk->hdr.index != desc.index || chunk->hdr.offset != offset ||
            !proto::append_chunk(out, *chunk))
            return {std::make_error_code(std::errc::protocol_error), "get " + desc.name + ": malformed value"};
        if (!proto::is_list_type(desc.type))
            return {};
        const std::uint32_t total = chunk->hdr.total;
        offset += chunk->hdr.count;
        if (offset >= total)
            return {};
        if (!chunked) {
            chunked = true;
            if (desc.type == KC_TYPE_INT64_LIST)
                out.ints.reserve(total);
            else
                out.strs.reserve(total);
        }
        if (chunk->hdr.count == 0)
            return {std::make_error_code(std::errc::protocol_error),
                    "get " + desc.name + ": the kext returned an empty chunk at offset " + std::to_string(offset)};
    }
}

template <typename Reply> KextError KextClient::read_reply(int opt, const char* what, Reply& out)
{
    proto::Bytes buf;
    if (auto ec = sock_->getopt(opt, {}, sizeof(Reply), buf))
        return explain(ec, what);
    auto r = proto::decode<Reply>(buf);
    if (!r)
        return {std::make_error_code(std::errc::protocol_error), std::string(what) + ": " + std::to_string(buf.size()) +
                                                                     " bytes, expected " +
                                                                     std::to_string(sizeof(Reply))};
    out = *r;
    return {};
}

KextError KextClient::state(kc_state& out)
{
    return read_reply(KC_OPT_STATE, "state", out);
}

KextError KextClient::counters(kc_counters& out)
{
    return read_reply(KC_OPT_COUNTERS, "counters", out);
}

KextError KextClient::apply(std::uint64_t expected_generation,
                            const std::vector<std::pair<std::uint32_t, proto::Value>>& values, ApplyResult& result)
{
    std::vector<std::pair<std::uint32_t, const proto::Value*>> refs;
    refs.reserve(values.size());
    for (const auto& [index, value] : values)
        refs.emplace_back(index, &value);
    return apply(expected_generation, refs, result);
}

KextError KextClient::apply(std::uint64_t expected_generation,
                            const std::vector<std::pair<std::uint32_t, const proto::Value*>>& values,
                            ApplyResult& result)
{
    const kc_txn_begin begin{expected_generation};
    if (auto ec = sock_->setopt(KC_OPT_TXN_BEGIN, proto::encode(begin)))
        return explain(ec, "begin transaction");
    auto abort_with = [&](KextError e) {
        sock_->setopt(KC_OPT_TXN_ABORT, {});
        return e;
    };
    const std::size_t max_len = std::min<std::size_t>(hello_.max_option_len, KC_OPT_MAX_LEN);
    std::vector<proto::Bytes> options;
    for (const auto& [index, value] : values) {
        auto chunks = proto::encode_set_chunks(index, *value, max_len);
        if (chunks.empty())
            return abort_with({std::make_error_code(std::errc::message_size),
                               "value of tunable " + tunable_name(index) + " does not fit in one option"});
        std::move(chunks.begin(), chunks.end(), std::back_inserter(options));
    }
    if (batched())
        options = proto::pack_set_options(std::move(options), max_len);
    for (const auto& option : options)
        if (auto ec = sock_->setopt(KC_OPT_TXN_SET, option))
            return abort_with(explain(ec, "set"));
    proto::Bytes out;
    if (auto ec = sock_->getopt(KC_OPT_TXN_COMMIT, {}, sizeof(kc_commit_reply), out))
        return explain(ec, "commit"); // a failed commit already ended the transaction
    auto reply = proto::decode<kc_commit_reply>(out);
    if (!reply)
        return {std::make_error_code(std::errc::protocol_error), "commit: malformed reply"};
    result = {reply->generation, reply->config_hash, reply->changed};
    return {};
}

} // namespace kextconf
