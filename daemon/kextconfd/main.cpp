// kextconfd: applies a JSON configuration file to a kext and keeps it applied.
#include "daemon.hpp"
#include "logging.hpp"
#include "values.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>

namespace {

// --check: the same load path as the daemon (read, parse, validate against
// the running kext's schema when it is loaded), printing every error.
int check(const std::string& path)
{
    using namespace kextconf;
    std::vector<Diagnostic> errors;
    auto text = read_config_file(path, errors);
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, path, errors);
    if (doc && errors.empty()) {
        KextError err;
        auto kext = KextClient::connect(doc->kext, KextClient::Access::Query, err);
        if (!kext) {
            std::fprintf(stderr, "%s: note: syntax checked only; cannot validate values: %s\n", path.c_str(),
                         err.message.c_str());
        } else {
            std::vector<proto::TunableDesc> schema;
            if (auto e = kext->describe(schema)) {
                std::fprintf(stderr, "%s: error: %s\n", path.c_str(), e.message.c_str());
                return 1;
            }
            validate_config(*doc, schema, errors);
        }
    }
    for (const auto& d : errors)
        std::fprintf(stderr, "%s\n", d.str().c_str());
    if (!errors.empty())
        return 1;
    std::printf("%s: OK\n", path.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"kextconfd: applies a JSON configuration file to a kext over its kernel control and keeps it "
                 "applied across kext reloads. Edits to the file (and SIGHUP) reload it; SIGTERM stops."};
    kextconf::DaemonOptions opts;
    bool check_only = false;
    std::string level = "info";
    app.add_option("-c,--config", opts.config_path, "configuration file (JSON; // and /* */ comments allowed)")
        ->required();
    app.add_flag("-t,--check", check_only,
                 "validate the file (against the running kext's schema when it is loaded) and exit: 0 valid, 1 not");
    app.add_option("--state-dir", opts.state_dir,
                   "directory for the copy of the last configuration the kext accepted, applied at start-up when "
                   "the file is unusable (created 0700; must be root's and not group/world-writable)")
        ->capture_default_str();
    int debounce_ms = static_cast<int>(kextconf::kReloadDebounce.count());
    app.add_option("--reload-debounce-ms", debounce_ms,
                   "how long the config file must stay quiet after a change before it is reloaded (milliseconds)")
        ->capture_default_str()
        ->check(CLI::Range(0, 60000));
    app.add_option("--log-level", level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.set_version_flag("--version", "kextconfd " KEXTCONF_VERSION);
    CLI11_PARSE(app, argc, argv);
    opts.reload_debounce = std::chrono::milliseconds(debounce_ms);

    try {
        if (check_only)
            return check(opts.config_path);
        kextconf::init_logging("org.kextconf.kextconfd", spdlog::level::from_str(level));
        boost::asio::io_context io(1);
        kextconf::Daemon daemon(io, opts);
        return daemon.run();
    } catch (const std::exception& e) {
        // A bug, not a configuration problem: say so and let launchd restart us.
        std::fprintf(stderr, "kextconfd: internal error: %s\n", e.what());
        return 70; // EX_SOFTWARE
    }
}
