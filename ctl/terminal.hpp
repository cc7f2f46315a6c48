// The full-screen terminal for `kextconfctl top`: raw keyboard input, the
// alternate screen, and signals turned into bytes on a pipe so the main loop
// can poll for them. Plain termios and ANSI escapes, no curses.
//
// Restoring: the destructor puts the terminal back (cooked mode, main screen,
// cursor shown); SIGINT, SIGTERM and SIGHUP only ask the loop to quit, so the
// destructor runs for them too. Ctrl-Z restores the terminal before stopping
// and re-enters on SIGCONT. One Terminal per process, on the main thread.
#pragma once

#include <string>
#include <termios.h>

namespace kextconf::ctl {

class Terminal {
public:
    enum class Signal { None, Quit, Resize, Suspend };

    // Enters full-screen mode on stdin/stdout; ok() is false (and why() says
    // why) when stdin or stdout is not a terminal.
    Terminal();
    ~Terminal();
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    bool ok() const { return ok_; }
    const std::string& why() const { return why_; }
    int rows() const { return rows_; }
    int cols() const { return cols_; }
    // Pollable: readable when a signal arrived.
    int signal_fd() const;
    // Reads one pending signal (Resize re-reads the size; Suspend stops the
    // process with the terminal restored and returns once it is resumed).
    Signal take_signal();
    // Reads pending keys; returns them ("" if none).
    std::string read_keys();
    // Replaces the screen with `frame` (lines separated by '\n', each already
    // cut to cols()).
    void draw(const std::string& frame);

private:
    void enter();
    void leave();
    void read_size();

    bool ok_ = false;
    bool entered_ = false;
    std::string why_;
    termios saved_{};
    int rows_ = 24;
    int cols_ = 80;
};

} // namespace kextconf::ctl
