// INI: parse with small limits; on success the tree respects the limits, is an
// object whose nodes are objects (sections, dotted sections nested) and
// strings (values are untyped text), and round-trips through JSON, YAML and
// TOML (see text_format_checks.hpp). INI has no emitter of its own.
#include <cstddef>
#include <cstdint>

#include "liveconf/format.hpp"

#include "fuzz_common.hpp"
#include "text_format_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  const ParseOptions options = fuzz::fuzz_parse_options("input.ini");
  Result<Value> tree = find_format("ini")->parse(text, options);
  if (!tree) {
    fuzz::check_parse_error(tree.error(), text);
    return 0;
  }
  fuzz::check_limits(*tree, options);
  LIVECONF_FUZZ_CHECK(tree->is_object() && fuzz::only_objects_and_strings(*tree),
                      fuzz::show(*tree));
  fuzz::check_text_tree_round_trips(*tree);
  return 0;
}
