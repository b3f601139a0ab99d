// YAML through libyaml's event parser and emitter. The event API is iterative
// (nesting costs heap, not C stack), reports a mark for every node, and lets us
// expand aliases ourselves, so an alias bomb is stopped by a budget instead of
// being materialised. libyaml's headers stay inside yaml_parser.cpp and yaml_emitter.cpp.
#pragma once

#include <span>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

/// The "yaml" format (files .yaml, .yml). One document per file; plain scalars
/// are typed by the YAML 1.2 core schema, quoted and block scalars are strings;
/// anchors, aliases and merge keys (`<<`) are expanded.
class YamlFormat final : public Format {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "yaml"; }
  [[nodiscard]] std::span<const std::string_view> extensions() const noexcept override;
  [[nodiscard]] Result<Value> parse(std::string_view text,
                                    const ParseOptions& options) const override;
  [[nodiscard]] bool can_emit() const noexcept override { return true; }
  [[nodiscard]] Result<std::string> emit(const Value& value,
                                         const EmitOptions& options) const override;
};

}  // namespace liveconf
