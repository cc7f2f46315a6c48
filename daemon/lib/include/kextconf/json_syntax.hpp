// Naming the mistake in JSON text that does not parse. nlohmann's parser
// decides whether a configuration parses; when it does not (or the text holds
// a byte the parser would silently stop at, such as NUL), this walks the text
// as a person would read it and says what they got wrong, where: a trailing or
// missing comma, an unterminated string, a key without quotes, a file saved as
// UTF-16. Messages never contain the raw bytes of the text. Pure functions;
// safe to call from any thread.
#pragma once

#include <kextconf/source_map.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace kextconf {

struct SyntaxProblem {
    SourcePos at; // line 0: the file as a whole (empty, UTF-16)
    std::string message;
};

// The first mistake in `text` read as JSON with // and /* */ comments, or
// nullopt if the text is one JSON value with nothing but whitespace and
// comments after it. Agrees with nlohmann's strict parser, except that a NUL
// byte anywhere is a mistake here (nlohmann ends the input at one).
std::optional<SyntaxProblem> find_syntax_problem(std::string_view text);

} // namespace kextconf
