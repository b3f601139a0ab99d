#include "formats/yaml/yaml_format.hpp"

#include <array>

// YAML through libyaml's event API, rather than yaml-cpp: libyaml's parser is
// iterative (deep nesting costs heap, and we stop it at max_depth), gives a
// mark for every event, and leaves anchors and aliases to us, so alias
// expansion is counted and capped before it is materialised. yaml-cpp's
// recursive-descent parser has had stack-overflow CVEs on deep nesting and
// expands aliases with no budget.
//
// How plain scalars are typed is in yaml_schema.hpp; the parser and emitter
// are in yaml_parser.cpp and yaml_emitter.cpp.

namespace liveconf {
namespace {

constexpr std::array<std::string_view, 2> kYamlExtensions = {"yaml", "yml"};

}  // namespace

std::span<const std::string_view> YamlFormat::extensions() const noexcept {
  return kYamlExtensions;
}

}  // namespace liveconf
