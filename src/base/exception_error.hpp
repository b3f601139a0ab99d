// What an exception escaping user code (a Source, a validator, a parser, a
// callback) or an allocation becomes, where the library turns it into an error.
#pragma once

#include <string_view>

#include "liveconf/status.hpp"

namespace liveconf::detail {

/// Call inside a catch block. Out of memory is transient (kUnavailable: the
/// caller may retry); anything else is kInternal, naming what was thrown and
/// `during` what ("while loading file:/etc/app.yaml").
[[nodiscard]] Error current_exception_error(std::string_view during);

}  // namespace liveconf::detail
