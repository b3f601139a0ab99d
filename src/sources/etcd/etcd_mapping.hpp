// etcd keys and values -> a configuration tree. Pure functions (no gRPC), so
// unit tests and the fuzzer reach them directly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "liveconf/format.hpp"
#include "liveconf/path.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::detail {

/// One key of the mirror: its raw bytes, its revision and (tree layout) the
/// value it parses to, with its origin (key, revision) on every node.
struct EtcdEntry {
  std::string value;
  std::int64_t mod_revision = 0;
  Value parsed;
};
using EtcdMirror = std::map<std::string, EtcdEntry>;

/// "host:port" for gRPC from "http://host:port", "https://host:port" or
/// "host:port"; sets `tls` when the scheme is https. Errors: kValidation.
[[nodiscard]] Result<std::string> etcd_target(std::string_view endpoint, bool& tls);

/// The end of the range covering every key that starts with `prefix`
/// (etcd's "prefix + 1" rule); "\0" for an empty prefix (all keys).
[[nodiscard]] std::string etcd_prefix_end(std::string_view prefix);

/// The tree-layout prefix: "/" appended unless empty or already there.
[[nodiscard]] std::string etcd_tree_prefix(std::string_view prefix);

/// The config path of `key` under `prefix`: the rest split at "/", empty
/// segments skipped ("/app//db/port" -> db.port). Empty for the prefix itself.
[[nodiscard]] KeyPath etcd_key_path(std::string_view key, std::string_view prefix);

/// A value as the tree layout reads it: JSON (a scalar or a document) when
/// the whole text is JSON, else the text as a string. Every node gets the
/// origin `source` / `key` @ `revision`.
[[nodiscard]] Value etcd_parse_value(std::string_view text, const std::string& source,
                                     const std::string& key, std::int64_t revision,
                                     const ParseOptions& options);

/// The tree of every key in `mirror`. A key whose value is an object may
/// have deeper keys that set members inside it; a key under a scalar is a
/// conflict. Errors: kValidation naming both keys; kValidation for a key
/// that maps to no path (the prefix itself).
[[nodiscard]] Result<Value> etcd_build_tree(const EtcdMirror& mirror, std::string_view prefix);

/// The document layout: `key`'s value parsed with `format`. Errors: kParse
/// with the key and the line/column inside the value.
[[nodiscard]] Result<Value> etcd_parse_document(const EtcdEntry& entry, const std::string& source,
                                                const std::string& key, const Format& format,
                                                const ParseOptions& options);

}  // namespace liveconf::detail
