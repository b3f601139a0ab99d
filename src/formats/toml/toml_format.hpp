// TOML through toml++. toml++ throws on parse errors; everything it throws is
// caught in toml_format.cpp, and its headers never leave that file.
#pragma once

#include <span>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

/// The "toml" format. Dates, times and date-times become strings in RFC 3339
/// form; null cannot be written (TOML has none).
class TomlFormat final : public Format {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "toml"; }
  [[nodiscard]] std::span<const std::string_view> extensions() const noexcept override;
  [[nodiscard]] Result<Value> parse(std::string_view text,
                                    const ParseOptions& options) const override;
  [[nodiscard]] bool can_emit() const noexcept override { return true; }
  [[nodiscard]] Result<std::string> emit(const Value& value,
                                         const EmitOptions& options) const override;
};

}  // namespace liveconf
