// YAML: parse with small limits (aliases, merge keys and tags included); on
// success the tree respects the limits, emits (indent 2 and 4) to text that
// parses back to an equal tree (NaN equal to NaN: .nan must survive), emits
// the same text again from that tree, and its display string is JSON for it
// when every number is finite. The YAML emitter refuses only text that is not
// valid UTF-8, which the parser never produces, so no refusal is allowed.
#include <cstddef>
#include <cstdint>

#include "liveconf/format.hpp"

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  const Format& yaml = *find_format("yaml");
  const ParseOptions options = fuzz::fuzz_parse_options("input.yaml");
  Result<Value> tree = yaml.parse(text, options);
  if (!tree) {
    fuzz::check_parse_error(tree.error(), text);
    return 0;
  }
  fuzz::check_limits(*tree, options);
  const auto never = [](const Value&, const Error&) { return false; };
  fuzz::check_round_trip(yaml, *tree, 2, never);
  fuzz::check_round_trip(yaml, *tree, 4, never);
  fuzz::check_display_string_is_json(*tree);
  return 0;
}
