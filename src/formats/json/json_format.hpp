// JSON (RFC 8259) parser and emitter, written by hand: every node needs its
// line:column, the parser must not recurse (a million nested arrays cannot be
// allowed to overflow the C stack), and nodes are built directly as Values.
#pragma once

#include <span>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

/// The "json" format. Strict RFC 8259: no comments, no trailing commas,
/// duplicate keys are an error, strings must be valid UTF-8. Integers that fit
/// int64 become integers, every other number a double.
class JsonFormat final : public Format {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "json"; }
  [[nodiscard]] std::span<const std::string_view> extensions() const noexcept override;
  [[nodiscard]] Result<Value> parse(std::string_view text,
                                    const ParseOptions& options) const override;
  [[nodiscard]] bool can_emit() const noexcept override { return true; }
  [[nodiscard]] Result<std::string> emit(const Value& value,
                                         const EmitOptions& options) const override;
};

}  // namespace liveconf
