// `kextconfctl top` in a real terminal: a detached tmux session runs it
// against kextsim; the test makes a transaction, reads the screen with
// `tmux capture-pane -p`, quits with `q`, and checks the exit status and that
// the terminal settings (stty -g) are what they were before.
#include "process.hpp"

#include <fstream>
#include <regex>
#include <sstream>

namespace {

using namespace kctest;

class Tmux {
public:
    Tmux(std::string tmux, const TempDir& dir) : tmux_(std::move(tmux)), sock_(dir.file("tmux.sock")) {}
    ~Tmux() { run({tmux_, "-S", sock_, "kill-server"}); }
    Tmux(const Tmux&) = delete;
    Tmux& operator=(const Tmux&) = delete;

    Result cmd(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {tmux_, "-S", sock_});
        return run(args);
    }
    std::string screen() const { return cmd({"capture-pane", "-p", "-t", "top"}).out; }

private:
    std::string tmux_;
    std::string sock_;
};

// "" while the file does not exist yet.
std::string read_file_if_exists(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return in ? out.str() : std::string();
}

// tmux's path ("" if it is not installed): Process does no PATH search.
std::string tmux_path()
{
    const Result r = run({"/bin/sh", "-c", "command -v tmux"});
    return r.exit_code == 0 && !r.out.empty() ? r.out.substr(0, r.out.find('\n')) : std::string();
}

TEST(CtlTop, ShowsTransactionsAndRestoresTheTerminal)
{
    const std::string tmux_bin = tmux_path();
    ASSERT_FALSE(tmux_bin.empty()) << "tmux is needed for this test (apt-get install tmux)";
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    Tmux tmux(tmux_bin, host.dir());
    const std::string before = host.dir().file("stty.before"), after = host.dir().file("stty.after"),
                      rc = host.dir().file("rc");
    // The shell records the terminal settings around top, then its status.
    const std::string script = "stty -g > " + before + "; KEXTSIM_ROOT=" + host.root() + " " + bin_path("kextconfctl") +
                               " top; echo $? > " + rc + ".tmp; stty -g > " + after + "; mv " + rc + ".tmp " + rc +
                               "; sleep 60";
    const Result start = tmux.cmd({"new-session", "-d", "-s", "top", "-x", "100", "-y", "30", "/bin/sh", "-c", script});
    ASSERT_EQ(start.exit_code, 0) << start.describe();
    std::string screen;
    ASSERT_TRUE(wait_until(
        [&] {
            screen = tmux.screen();
            return screen.find("generation 1 ") != std::string::npos;
        },
        5s))
        << screen;
    EXPECT_NE(screen.find("kextconfctl top - org.kextconf.reference"), std::string::npos) << screen;
    EXPECT_TRUE(std::regex_search(screen, std::regex("\n  max_clients += 64\n"))) << screen;
    EXPECT_NE(screen.find("counters: "), std::string::npos) << screen;

    const Result set = host.ctl({"set", "max_clients=77"});
    ASSERT_EQ(set.exit_code, 0) << set.describe();
    // Redrawn for the event, well before the 1 s refresh would matter.
    EXPECT_TRUE(wait_until(
        [&] {
            screen = tmux.screen();
            return screen.find("generation 2 ") != std::string::npos &&
                   screen.find("applied: generation 2") != std::string::npos &&
                   std::regex_search(screen, std::regex("\n  max_clients += 77\n"));
        },
        3s))
        << screen;

    // A resize redraws at the new width.
    ASSERT_EQ(tmux.cmd({"resize-window", "-t", "top", "-x", "60", "-y", "20"}).exit_code, 0);
    EXPECT_TRUE(wait_until(
        [&] {
            screen = tmux.screen();
            std::istringstream lines(screen);
            std::size_t widest = 0;
            for (std::string line; std::getline(lines, line);)
                widest = std::max(widest, line.size());
            return widest <= 60 && screen.find("generation 2 ") != std::string::npos;
        },
        3s))
        << screen;

    ASSERT_EQ(tmux.cmd({"send-keys", "-t", "top", "q"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return !read_file_if_exists(rc).empty(); }, 5s)) << tmux.screen();
    EXPECT_EQ(read_file_if_exists(rc), "0\n");
    EXPECT_EQ(read_file_if_exists(before), read_file_if_exists(after)) << "top left the terminal modes changed";
    screen = tmux.screen();
    EXPECT_EQ(screen.find("events (newest last)"), std::string::npos) << "still on top's screen:\n" << screen;
}

} // namespace
