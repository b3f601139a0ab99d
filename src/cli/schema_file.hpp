// `liveconf --schema FILE`: types, defaults, secrets and validation for a
// config that has no C++ struct, written as a subset of JSON Schema (JSON or
// YAML). It is turned into a liveconf::Schema at run time, so the environment
// source, binding errors, secrets and explain behave exactly as for a
// described struct. docs/cli.md lists the supported keywords.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "liveconf/bind.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::cli {

struct SchemaFile {
  std::shared_ptr<const Schema> schema;  // the root; nested schemas live as long
  Value defaults;                        // the "default" values, as a tree
  bool strict = false;                   // additionalProperties: false somewhere
};

/// Reads and compiles a schema file (JSON, or YAML by extension). Errors name
/// the file, line and keyword: unsupported keywords are errors, not ignored.
[[nodiscard]] Result<SchemaFile> load_schema_file(const std::filesystem::path& path);

/// Compiles a parsed schema document.
[[nodiscard]] Result<SchemaFile> compile_schema(const Value& document);

}  // namespace liveconf::cli
