// File: liveconf/json_schema.hpp
//
// A configuration described at run time by a subset of JSON Schema (JSON or
// YAML), compiled into a liveconf::Schema: types, defaults, descriptions,
// secrets, environment variable names and validation, for a config that has
// no C++ struct. The CLI's `--schema FILE` and the Python module (whose
// classes' annotations become such a document) both use it, so binding
// errors, secrets, the environment source and explain behave exactly as for
// a described struct. docs/cli.md lists the supported keywords; an
// unsupported keyword is an error, never ignored.
//
//   liveconf::Result<liveconf::JsonSchema> s =
//       liveconf::load_json_schema_file("/etc/app/schema.yaml");
//   if (!s) {
//     std::cerr << s.error().to_string() << "\n";  // names the file, line and keyword
//     return 1;
//   }
//   liveconf::RegisterOptions options;
//   options.strict = s->strict;
//   liveconf::Status st = manager.register_schema("app", s->schema, s->defaults, options);
//   // manager.get<liveconf::Value>("app") is the converted, validated tree.
//
// Thread-safety: the functions may be called from any thread; a compiled
// Schema is immutable.
#pragma once

#include <filesystem>
#include <memory>

#include "liveconf/bind.hpp"
#include "liveconf/export.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// A compiled schema document.
struct JsonSchema {
  std::shared_ptr<const Schema> schema;  // the root; nested schemas live as long
  Value defaults;                        // the "default" values, as a tree (an object)
  bool strict = false;                   // additionalProperties: false somewhere
};

/// Compiles a parsed schema document (an object schema with "properties").
/// Errors: kValidation naming the keyword and, through the document's
/// origins, its file, line and column.
[[nodiscard]] LIVECONF_API Result<JsonSchema> compile_json_schema(const Value& document);

/// Reads and compiles a schema file (YAML by extension, JSON otherwise).
/// Errors: kNotFound for an unreadable file, the parser's error, or as
/// compile_json_schema.
[[nodiscard]] LIVECONF_API Result<JsonSchema> load_json_schema_file(
    const std::filesystem::path& path);

}  // namespace liveconf
