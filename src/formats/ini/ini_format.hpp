// A hand-written INI parser (sections, key = value, comments). Values are
// strings; binding converts them to the field's type.
#pragma once

#include <span>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

/// The "ini" format (files .ini, .cfg). `[a.b]` nests: section "a.b" is the
/// object b inside the object a. Parse only: can_emit() is false.
class IniFormat final : public Format {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "ini"; }
  [[nodiscard]] std::span<const std::string_view> extensions() const noexcept override;
  [[nodiscard]] Result<Value> parse(std::string_view text,
                                    const ParseOptions& options) const override;
};

}  // namespace liveconf
