// .env: parse with small limits (quoting, escapes, ${VAR} expansion); on
// success the tree respects the limits, is a flat object of strings (keys as
// written: nesting such as DB__PORT is the binder's business), and
// round-trips through JSON, YAML and TOML (see text_format_checks.hpp).
// .env has no emitter of its own.
#include <cstddef>
#include <cstdint>

#include "liveconf/format.hpp"

#include "fuzz_common.hpp"
#include "text_format_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  const ParseOptions options = fuzz::fuzz_parse_options("input.env");
  Result<Value> tree = find_format("env")->parse(text, options);
  if (!tree) {
    fuzz::check_parse_error(tree.error(), text);
    return 0;
  }
  fuzz::check_limits(*tree, options);
  LIVECONF_FUZZ_CHECK(tree->is_object(), fuzz::show(*tree));
  for (const auto& [key, value] : tree->as_object()) {
    LIVECONF_FUZZ_CHECK(!key.empty() && value.is_string(), key + " = " + fuzz::show(value));
  }
  fuzz::check_text_tree_round_trips(*tree);
  return 0;
}
