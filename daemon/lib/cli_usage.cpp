// Naming the bad word on a command line. See cli_usage.hpp.
#include <kextconf/cli_usage.hpp>

#include <kextconf/config_loader.hpp>
#include <kextconf/text_encoding.hpp>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <vector>

namespace kextconf::cli {

namespace {

// "kextconfctl kext" for a subcommand, "kextconfctl" for the program.
std::string command_path(const CLI::App* app)
{
    std::string path = app->get_name();
    for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent())
        path = p->get_name() + " " + path;
    return path;
}

// The option `name` ("--json", "-n") of `app` or, since options fall through
// to the parents, of one of them.
const CLI::Option* find_option(const CLI::App* app, const std::string& name)
{
    for (; app != nullptr; app = app->get_parent())
        if (const auto* opt = app->get_option_no_throw(name))
            return opt;
    return nullptr;
}

std::vector<std::string> option_names(const CLI::App* app)
{
    std::vector<std::string> names;
    for (; app != nullptr; app = app->get_parent())
        for (const auto* opt : app->get_options()) {
            for (const auto& l : opt->get_lnames())
                names.push_back("--" + l);
            for (const auto& s : opt->get_snames())
                names.push_back("-" + s);
        }
    return names;
}

std::vector<std::string> command_names(const CLI::App* app)
{
    std::vector<std::string> names;
    for (const auto* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }))
        names.push_back(sub->get_name());
    return names;
}

const CLI::App* find_command(const CLI::App* app, const std::string& word)
{
    const auto subs = app->get_subcommands([&word](const CLI::App* s) { return s->check_name(word); });
    return subs.empty() ? nullptr : subs.front();
}

std::string nearest(const std::string& word, const std::vector<std::string>& names, const std::string& lister)
{
    const std::string s = suggest(word, names);
    return s.empty() ? " (" + lister + " --help lists them)" : "; did you mean \"" + s + "\"?";
}

bool is_negative_number(const std::string& w)
{
    return w.size() > 1 && w[0] == '-' && (std::isdigit(static_cast<unsigned char>(w[1])) || w[1] == '.');
}

} // namespace

std::string find_usage_problem(const CLI::App& app, int argc, const char* const* argv)
{
    const CLI::App* cur = &app;
    for (int i = 1; i < argc; ++i) {
        const std::string w = argv[i];
        if (w == "--")
            break;
        if (w.size() > 1 && w[0] == '-' && !is_negative_number(w)) {
            // "--name=value", "-n5" and "-fn" name their option in the first part.
            const std::string name = w[1] == '-' ? w.substr(0, w.find('=')) : w.substr(0, 2);
            const CLI::Option* opt = find_option(cur, name);
            if (opt == nullptr)
                return "unknown option \"" + printable(name) + "\"" +
                       (cur == &app ? "" : " for \"" + command_path(cur) + "\"") +
                       nearest(name, option_names(cur), command_path(cur));
            if (opt->get_expected_max() > 0 && opt->get_type_size_max() > 0 && name.size() == w.size())
                ++i; // its value is the next word
            continue;
        }
        const auto names = command_names(cur);
        if (names.empty())
            continue; // a positional argument of the command
        if (const CLI::App* sub = find_command(cur, w)) {
            cur = sub;
            continue;
        }
        return "unknown command \"" + printable(w) + "\"" + (cur == &app ? "" : " for \"" + command_path(cur) + "\"") +
               nearest(w, names, command_path(cur));
    }
    if (cur->get_require_subcommand_min() > 0) {
        std::string list;
        for (const auto& n : command_names(cur))
            list += (list.empty() ? "" : ", ") + n;
        return "\"" + command_path(cur) + "\" needs a command: one of " + list;
    }
    return "";
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, bool json_errors)
{
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::Success& e) {
        return app.exit(e); // --help, --version
    } catch (const CLI::ParseError& e) {
        std::string message = find_usage_problem(app, argc, argv);
        if (message.empty())
            message = std::string(e.what()) + " (" + app.get_name() + " --help)";
        if (json_errors)
            std::cout << nlohmann::json{{"error", message}, {"exit_status", kExitUsage}}.dump(2) << '\n';
        else
            std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), message.c_str());
        return kExitUsage;
    }
}

} // namespace kextconf::cli
