// `liveconf --schema FILE`: the library's run-time JSON Schema compiler
// (liveconf/json_schema.hpp) under the names the CLI uses.
#pragma once

#include <filesystem>

#include "liveconf/json_schema.hpp"

namespace liveconf::cli {

using SchemaFile = JsonSchema;

[[nodiscard]] inline Result<SchemaFile> load_schema_file(const std::filesystem::path& path) {
  return load_json_schema_file(path);
}

[[nodiscard]] inline Result<SchemaFile> compile_schema(const Value& document) {
  return compile_json_schema(document);
}

}  // namespace liveconf::cli
