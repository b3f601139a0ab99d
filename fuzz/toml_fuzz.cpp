// TOML: parse with small limits; on success the tree respects the limits,
// emits (indent 2 and 0) to text that parses back to an equal tree (NaN equal
// to NaN), emits the same text again from that tree, and its display string is
// JSON for it when every number is finite.
//
// What TOML legitimately cannot round-trip, and why it does not arise here:
//  - a top-level non-table and null values: a parsed TOML document is always
//    a table without nulls, so emit() never refuses for these reasons;
//  - doubles: emit() writes 17 significant digits, which read back as the
//    same double, so doubles are compared exactly;
//  - dates and times parse to strings (RFC 3339 text) and come back as strings.
// The one documented refusal: toml++ 3.3 would write a key holding a quote,
// tab or line feed (and otherwise only bare-key characters) unquoted, so
// emit() refuses such keys with kType; that case is skipped, nothing else is.
#include <cstddef>
#include <cstdint>

#include "liveconf/format.hpp"

#include "fuzz_common.hpp"

namespace {

bool documented_refusal(const liveconf::Value&, const liveconf::Error& error) {
  return error.code() == liveconf::ErrorCode::kType &&
         error.message().starts_with("TOML key cannot be written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  const Format& toml = *find_format("toml");
  const ParseOptions options = fuzz::fuzz_parse_options("input.toml");
  Result<Value> tree = toml.parse(text, options);
  if (!tree) {
    fuzz::check_parse_error(tree.error(), text);
    return 0;
  }
  fuzz::check_limits(*tree, options);
  LIVECONF_FUZZ_CHECK(tree->is_object(), "TOML root is a " + std::string(tree->type_name()));
  fuzz::check_round_trip(toml, *tree, 2, documented_refusal);
  fuzz::check_round_trip(toml, *tree, 0, documented_refusal);
  fuzz::check_display_string_is_json(*tree);
  return 0;
}
