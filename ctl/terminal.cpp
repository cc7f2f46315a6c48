#include "terminal.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace kextconf::ctl {

namespace {

int g_pipe[2] = {-1, -1};

void on_signal(int sig)
{
    const int saved = errno;
    const char c = sig == SIGWINCH ? 'w' : sig == SIGTSTP ? 'z' : 'q';
    [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &c, 1);
    errno = saved;
}

void write_all(const std::string& s)
{
    for (std::size_t off = 0; off < s.size();) {
        const ssize_t n = ::write(STDOUT_FILENO, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += static_cast<std::size_t>(n);
    }
}

constexpr const char* kEnterScreen = "\x1b[?1049h\x1b[?25l"; // alternate screen, hide cursor
constexpr const char* kLeaveScreen = "\x1b[?25h\x1b[?1049l"; // show cursor, main screen

} // namespace

Terminal::Terminal()
{
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
        why_ = "top needs a terminal (stdin and stdout); use kextconfctl events --follow or status --json in scripts";
        return;
    }
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0 || ::pipe(g_pipe) != 0) {
        why_ = std::string("cannot set up the terminal: ") + std::strerror(errno);
        return;
    }
    for (int fd : g_pipe) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP})
        ::sigaction(sig, &sa, nullptr);
    ok_ = true;
    enter();
    read_size();
}

Terminal::~Terminal()
{
    if (!ok_)
        return;
    leave();
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP})
        ::sigaction(sig, &sa, nullptr);
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
}

void Terminal::enter()
{
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO); // keys one by one, not echoed; ISIG kept for Ctrl-C/Z
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    write_all(kEnterScreen);
    entered_ = true;
}

void Terminal::leave()
{
    if (!entered_)
        return;
    write_all(kLeaveScreen);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    entered_ = false;
}

void Terminal::read_size()
{
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        rows_ = ws.ws_row;
        cols_ = ws.ws_col;
    }
}

int Terminal::signal_fd() const
{
    return g_pipe[0];
}

Terminal::Signal Terminal::take_signal()
{
    char c = 0;
    if (::read(g_pipe[0], &c, 1) != 1)
        return Signal::None;
    if (c == 'w') {
        read_size();
        return Signal::Resize;
    }
    if (c == 'z') {
        leave();
        ::kill(::getpid(), SIGSTOP); // returns after SIGCONT
        enter();
        read_size();
        return Signal::Suspend;
    }
    return Signal::Quit;
}

std::string Terminal::read_keys()
{
    std::string keys;
    char buf[64];
    for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0;)
        keys.append(buf, static_cast<std::size_t>(n));
    return keys;
}

void Terminal::draw(const std::string& frame)
{
    // Home, then each line followed by erase-to-end-of-line, then erase
    // below: no full clear, so no flicker.
    std::string out = "\x1b[H";
    std::size_t start = 0;
    int row = 0;
    while (start <= frame.size() && row < rows_) {
        std::size_t nl = frame.find('\n', start);
        if (nl == std::string::npos)
            nl = frame.size();
        out.append(frame, start, nl - start);
        out += "\x1b[K";
        if (++row < rows_)
            out += "\r\n";
        start = nl + 1;
    }
    out += "\x1b[J";
    write_all(out);
}

} // namespace kextconf::ctl
