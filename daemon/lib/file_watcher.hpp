// The file watcher: the platform seam that says "this file may have changed".
// inotify on Linux (file_watcher_inotify.cpp), kqueue on macOS
// (file_watcher_kqueue.cpp). It watches the file's directory as well as the
// file, because editors save by writing a temp file and renaming it over the
// original, and a watch on the old file alone would go dead.
//
// It only says that something happened; the caller reads the file and decides
// (debounce, content hash). Spurious reports are allowed, missed changes are
// not: on a lost-notification overflow it reports a change.
//
// Threading: each object is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <system_error>

namespace kextconf {

class FileWatcher {
public:
    // Starts watching `path` (which need not exist yet; its directory must).
    static std::unique_ptr<FileWatcher> open(const std::string& path, std::error_code& ec);
    ~FileWatcher();
    FileWatcher(const FileWatcher&) = delete;
    FileWatcher& operator=(const FileWatcher&) = delete;

    // Pollable descriptor: readable when notifications are waiting.
    int native_handle() const;
    // Reads every waiting notification without blocking. True if any may
    // concern the file (created, written and closed, renamed in or out,
    // deleted, its directory moved or deleted, or notifications lost). ec is
    // set when the watcher has failed and will report nothing more.
    bool drain(std::error_code& ec);

    struct Impl;

private:
    explicit FileWatcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace kextconf
