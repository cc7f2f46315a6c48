// Reading a configuration file safely and parsing it into a ConfigDocument
// with the right top-level shape. Pure functions over their arguments; safe to
// call from any thread.
#include <kextconf/config_loader.hpp>

#include "diagnostic_sink.hpp"

#include <kextconf/file.hpp>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <system_error>

namespace kextconf {

namespace {

using nlohmann::json;

void check_top_level(json& root, ConfigDocument& doc, DiagnosticSink& sink)
{
    if (!root.is_object())
        return sink.add(doc.value_pos(""), "the configuration must be a JSON object, got " + describe(root));
    // Required keys that a misspelled key stands for ("tunable"): the unknown
    // key's message says it once, with its did-you-mean.
    std::vector<std::string> explained;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& key = it.key();
        json& v = it.value();
        const std::string ptr = "/" + pointer_token(key);
        if (key == "kext" && (!v.is_string() || v.get_ref<const std::string&>().empty()))
            sink.add(doc.value_pos(ptr),
                     "\"kext\" must be the kext's bundle id (a non-empty string), got " + describe(v));
        else if (key == "kext" && v.get_ref<const std::string&>().size() >= KC_BUNDLE_ID_MAX)
            sink.add(doc.value_pos(ptr),
                     "\"kext\" is longer than a bundle id may be (" + std::to_string(KC_BUNDLE_ID_MAX - 1) + " bytes)");
        else if (key == "kext")
            doc.kext = v.get<std::string>();
        else if (key == "tunables" && !v.is_object())
            sink.add(doc.value_pos(ptr), "\"tunables\" must be an object (tunable name -> value), got " + describe(v));
        else if (key == "tunables")
            doc.tunables = std::move(v);
        else if (key != "$schema" && !key.starts_with("x-")) {
            const std::string nearest = suggest(key, {"kext", "tunables"});
            explained.push_back(nearest);
            sink.add(doc.key_pos(ptr), "unknown top-level key " + quote_json(key) + hint(nearest) +
                                           (nearest.empty() ? " (keys starting with \"x-\" are ignored)" : ""));
        }
    }
    for (const char* required : {"kext", "tunables"})
        if (!root.contains(required) && std::find(explained.begin(), explained.end(), required) == explained.end())
            sink.add(doc.value_pos(""), "missing required key \"" + std::string(required) + "\"");
}

} // namespace

std::string Diagnostic::str() const
{
    if (line == 0)
        return file + ": error: " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
}

std::optional<ConfigDocument> parse_config(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors)
{
    DiagnosticSink sink(file);
    if (text.size() > kMaxConfigBytes) {
        sink.add({}, "configuration is " + std::to_string(text.size()) + " bytes, over the limit of " +
                         std::to_string(kMaxConfigBytes) + " bytes");
        return sink.flush(errors), std::nullopt;
    }
    ConfigDocument doc;
    doc.file = file;
    json root;
    const bool parsed = parse_json_with_positions(text, root, doc.positions, sink);
    if (parsed)
        check_top_level(root, doc, sink);
    if (sink.flush(errors) || !parsed)
        return std::nullopt;
    return doc;
}

std::optional<std::string> unsafe_ownership(const std::string& path, const struct stat& st)
{
    const uid_t me = ::geteuid();
    auto owner_ok = [me](uid_t uid) { return uid == 0 || uid == me; };
    auto mode = [](mode_t m) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
        return std::string(buf);
    };
    const std::string who = me == 0 ? "root" : "root or uid " + std::to_string(me);
    if (!owner_ok(st.st_uid))
        return "is owned by uid " + std::to_string(st.st_uid) + "; it must belong to " + who;
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return "is writable by group or others (mode " + mode(st.st_mode) + "); fix with: chmod go-w " + path;
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::canonical(std::filesystem::absolute(path, ec).parent_path(), ec);
    if (ec)
        return "cannot resolve its directory: " + ec.message();
    for (;;) {
        struct stat ds {};
        if (::stat(dir.c_str(), &ds) != 0)
            return "cannot stat directory " + dir.string() + ": " + std::generic_category().message(errno);
        if (!owner_ok(ds.st_uid))
            return "directory " + dir.string() + " is owned by uid " + std::to_string(ds.st_uid) +
                   "; every directory above the file must belong to " + who;
        // A world-writable directory is safe only as /tmp is: sticky and
        // root's, so nobody else can rename or replace the file's entry.
        const bool sticky_root = (ds.st_mode & S_ISVTX) && ds.st_uid == 0;
        if ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_root)
            return "directory " + dir.string() + " is writable by group or others (mode " + mode(ds.st_mode) +
                   "); fix with: chmod go-w " + dir.string();
        if (dir == dir.root_path())
            return std::nullopt;
        dir = dir.parent_path();
    }
}

std::optional<std::string> read_config_file(const std::string& path, std::vector<Diagnostic>& errors)
{
    auto fail = [&](std::string message) { return errors.push_back({path, 0, 0, std::move(message)}), std::nullopt; };
    auto why = [](int err) { return std::generic_category().message(err); };
    // O_NONBLOCK: opening a FIFO must not hang the daemon; fstat refuses it below.
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) {
        const int err = errno;
        struct stat lst {};
        if (err == ELOOP && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
            return fail("is a symbolic link; refusing to follow it (name the file itself)");
        return fail("cannot open: " + why(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return fail("cannot stat: " + why(errno));
    // DESIGN rule 6: only root may decide what goes into the kernel. Checked
    // on the open descriptor, so the file cannot be swapped after the check.
    if (auto unsafe = unsafe_ownership(path, st))
        return fail(*unsafe);
    if (!S_ISREG(st.st_mode))
        return fail(std::string("not a regular file (") +
                    (S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                                            : "a device or socket") +
                    ")");
    std::string text;
    if (const std::string unreadable = read_file_bounded(fd.get(), st, kMaxConfigBytes, text); !unreadable.empty())
        return fail(unreadable);
    return text;
}

std::optional<ConfigFile> load_config_file(const std::string& path, std::vector<Diagnostic>& errors,
                                           std::optional<std::size_t> known)
{
    return read_and_parse<ConfigDocument>(
        path, errors, known, [&path](std::string_view text, auto& errs) { return parse_config(text, path, errs); });
}

} // namespace kextconf
