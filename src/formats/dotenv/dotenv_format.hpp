// A hand-written .env parser for the docker-compose / python-dotenv dialect.
#pragma once

#include <span>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

/// The "env" format (files named .env, *.env, .env.*): a flat object of
/// KEY -> string. `${VAR}` refers only to keys defined earlier in the same
/// file. Parse only: can_emit() is false.
class DotenvFormat final : public Format {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "env"; }
  [[nodiscard]] std::span<const std::string_view> extensions() const noexcept override;
  [[nodiscard]] Result<Value> parse(std::string_view text,
                                    const ParseOptions& options) const override;
};

}  // namespace liveconf
