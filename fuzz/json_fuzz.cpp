// JSON: parse with small limits; on success the tree respects the limits,
// emits (indent 2 and 0) to text that parses back to an equal tree, emits the
// same text again from that tree, and its display string is JSON for it too.
// JSON can emit everything it parses (its numbers are always finite), so no
// emit refusal is allowed.
#include <cstddef>
#include <cstdint>

#include "liveconf/format.hpp"

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  const Format& json = *find_format("json");
  const ParseOptions options = fuzz::fuzz_parse_options("input.json");
  Result<Value> tree = json.parse(text, options);
  if (!tree) {
    fuzz::check_parse_error(tree.error(), text);
    return 0;
  }
  fuzz::check_limits(*tree, options);
  const auto never = [](const Value&, const Error&) { return false; };
  fuzz::check_round_trip(json, *tree, 2, never);
  fuzz::check_round_trip(json, *tree, 0, never);
  fuzz::check_display_string_is_json(*tree);
  return 0;
}
