// FieldBuilder::pattern()'s regular expressions, compiled here so <regex> stays
// out of the public headers (it adds seconds to every consumer's compile).
#include <memory>
#include <regex>
#include <string>
#include <string_view>

#include "liveconf/bind.hpp"

namespace liveconf::detail {

PatternMatcher compile_pattern(const std::string& re) {
  // Shared: copies of a schema's validators must not recompile the expression.
  auto compiled = std::make_shared<const std::regex>(re, std::regex::ECMAScript);
  return [compiled](std::string_view text) {
    return std::regex_match(text.begin(), text.end(), *compiled);
  };
}

}  // namespace liveconf::detail
