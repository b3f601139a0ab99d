// The YAML 1.2 core schema: how the YAML parser types plain scalars, and how
// the emitter decides which strings need quotes to read back as strings.
//
// Typing follows the YAML 1.2 core schema, for plain scalars only:
//   null, Null, NULL, ~, (empty)            -> null
//   true/True/TRUE, false/False/FALSE       -> bool
//   [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+   -> integer
//   1.5, -2e3, .5, .inf, -.Inf, .nan ...    -> double
//   anything else                           -> string
// A decimal integer outside int64 becomes a double (as in JSON); an octal or
// hex one is an error, since those spell bit patterns that rounding would
// silently change. Quoted, literal and folded scalars are strings. The tags
// !!str !!int !!float !!bool !!null force a type (a value that does not fit is
// an error); any other tag on a scalar (!!timestamp, !custom) leaves it a string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "liveconf/value.hpp"

namespace liveconf::detail::yaml {

// The null words: empty, ~, null, Null, NULL.
[[nodiscard]] bool is_null_word(std::string_view s) noexcept;

// true/True/TRUE or false/False/FALSE; nullopt for anything else.
[[nodiscard]] std::optional<bool> bool_word(std::string_view s) noexcept;

enum class IntMatch { kNo, kYes, kDecimalOverflow, kRadixOverflow };

// Whether `s` spells a core-schema integer; sets `out` on kYes.
[[nodiscard]] IntMatch match_int(std::string_view s, std::int64_t& out);

enum class FloatMatch { kNo, kYes, kOverflow };

// Whether `s` spells a core-schema float (and, with allow_int_form, an integer
// read as a float); sets `out` on kYes.
[[nodiscard]] FloatMatch match_float(std::string_view s, double& out, bool allow_int_form);

// The Value a plain, untagged scalar denotes. Errors only for numbers that
// cannot be represented; the message is then set.
[[nodiscard]] bool resolve_plain(std::string_view s, Value& out, std::string& message);

// Whether a string must be quoted so that it reads back as a string: anything
// the core schema would type, the merge key, and what a YAML 1.1 reader would
// type (yes/no/on/off, 1_000, 12:30, 2001-12-14), so other tools agree too.
[[nodiscard]] bool needs_quotes(std::string_view s);

}  // namespace liveconf::detail::yaml
