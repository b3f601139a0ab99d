// File: liveconf/format.hpp
//
// Formats turn text into a Value tree (with file:line:col on every node) and,
// for JSON, YAML and TOML, a Value tree back into text.
//
//   const liveconf::Format* json = liveconf::find_format("json");
//   liveconf::ParseOptions opts;
//   opts.origin = liveconf::make_file_origin("file:app.json", "app.json");
//   liveconf::Result<liveconf::Value> tree = json->parse(R"({"port": 8080})", opts);
//   tree->find("port")->origin().to_string();   // "app.json:1:10, layer \"file:app.json\""
//
// Built-in formats: "json", "yaml", "toml", "ini", "env" (.env files). INI and
// .env values are untyped text, so they parse to strings; binding to a typed
// field converts them (see bind.hpp).
//
// Limits: every parse enforces ParseOptions' byte, nesting-depth and node
// limits with a kParse error naming the position, so hostile input (a million
// nested arrays, a YAML alias bomb) costs bounded memory and no stack.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// Options for one parse.
struct ParseOptions {
  /// Shared by every node parsed; its `file` names the input in errors.
  std::shared_ptr<const OriginInfo> origin;
  /// Larger inputs are refused before parsing.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// Deeper nesting of arrays/objects is refused.
  std::size_t max_depth = 128;
  /// More nodes in the result (YAML alias expansion included) are refused.
  std::size_t max_nodes = std::size_t{8} << 20;
  /// Whether whitespace/comment-only input is an empty object (true) or an
  /// error (false, the default: a truncated write reads as empty).
  bool allow_empty = false;
};

/// Options for one emit.
struct EmitOptions {
  /// Spaces per level; JSON with indent 0 is emitted on one line.
  int indent = 2;
};

/// A configuration file format. Implementations are stateless and may be used
/// from many threads at once.
class LIVECONF_API Format {
 public:
  virtual ~Format() = default;
  /// Short lower-case name: "json", "yaml", "toml", "ini", "env".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// File extensions without the dot ("yaml", "yml"), or file names (".env").
  [[nodiscard]] virtual std::span<const std::string_view> extensions() const noexcept = 0;
  /// Parses `text`. Errors: kParse with origin file:line:col of the problem.
  [[nodiscard]] virtual Result<Value> parse(std::string_view text,
                                            const ParseOptions& options) const = 0;
  /// Whether emit() is supported.
  [[nodiscard]] virtual bool can_emit() const noexcept { return false; }
  /// Writes `value` as text in this format. Errors: kType when the format
  /// cannot represent a value (TOML has no null), naming its path; kInternal
  /// when the format cannot emit at all.
  [[nodiscard]] virtual Result<std::string> emit(const Value& value,
                                                 const EmitOptions& options) const;
};

/// The built-in format called `name` ("json", "yaml"/"yml", "toml", "ini", "env"/"dotenv"), or
/// nullptr.
[[nodiscard]] LIVECONF_API const Format* find_format(std::string_view name) noexcept;
/// The built-in format for a file path, by extension or name (".env", "app.env"); nullptr if
/// unknown.
[[nodiscard]] LIVECONF_API const Format* format_for_path(std::string_view path) noexcept;

/// An OriginInfo for a file: `source` names the layer, `file` the path shown in errors.
[[nodiscard]] LIVECONF_API std::shared_ptr<const OriginInfo> make_file_origin(std::string source,
                                                                              std::string file);

}  // namespace liveconf
