// The etcd source's decoding of keys and values into a configuration tree
// (src/sources/etcd/etcd_mapping.cpp): what a watch response or a Range page
// carries after protobuf has split it into keys, values and revisions.
// Input: NUL-separated records "key\0value\0key\0value...", keys put under
// the prefix "/f/" (a record's key may contain any bytes, "/" runs included).
//  - every value parses: JSON when the whole text is JSON, else the same text
//    as a string; every node's origin names its key and revision;
//  - etcd_key_path never yields an empty segment;
//  - etcd_build_tree either fails with kValidation naming a key of the input,
//    or gives an object in which each key's path holds that key's value,
//    unless a deeper key (a longer path below it) overrode part of it;
//  - etcd_prefix_end bounds every key with the prefix: prefix <= key < end.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "sources/etcd/etcd_mapping.hpp"

namespace {

using liveconf::KeyPath;
using liveconf::Value;
using liveconf::detail::EtcdEntry;
using liveconf::detail::EtcdMirror;

constexpr std::string_view kPrefix = "/f/";

// Whether another key's path lies strictly below `key`'s ("/f/db" and
// "/f//db/port" both count: empty segments are skipped).
bool has_deeper_key(const std::string& key, const EtcdMirror& mirror) {
  const KeyPath path = liveconf::detail::etcd_key_path(key, kPrefix);
  for (const auto& [other, entry] : mirror) {
    const KeyPath other_path = liveconf::detail::etcd_key_path(other, kPrefix);
    if (other_path.size() > path.size() && other_path.starts_with(path)) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = liveconf::fuzz::as_text(data, size);
  if (text.size() > 64 * 1024) {
    return 0;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\0') {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::string end = liveconf::detail::etcd_prefix_end(kPrefix);
  EtcdMirror mirror;
  std::int64_t revision = 1;
  for (std::size_t i = 0; i + 1 < parts.size() && mirror.size() < 64; i += 2) {
    const std::string key = std::string(kPrefix) + parts[i];
    LIVECONF_FUZZ_CHECK(key >= kPrefix && key < end, "prefix end " + end + " for " + key);
    EtcdEntry e;
    e.value = parts[i + 1];
    e.mod_revision = revision++;
    e.parsed = liveconf::detail::etcd_parse_value(e.value, "etcd:/f/", key, e.mod_revision,
                                                  liveconf::fuzz::fuzz_parse_options("etcd"));
    LIVECONF_FUZZ_CHECK(e.parsed.origin().remote_key() == key, key);
    LIVECONF_FUZZ_CHECK(!e.parsed.is_string() || e.parsed.as_string() == e.value ||
                            e.value.find('"') != std::string::npos,
                        "a non-JSON value must stay its text: " + e.value);
    const KeyPath path = liveconf::detail::etcd_key_path(key, kPrefix);
    for (const std::string& segment : path.segments()) {
      LIVECONF_FUZZ_CHECK(!segment.empty(), "empty segment in " + key);
    }
    mirror[key] = std::move(e);
  }
  liveconf::Result<Value> tree = liveconf::detail::etcd_build_tree(mirror, kPrefix);
  if (!tree) {
    LIVECONF_FUZZ_CHECK(tree.error().code() == liveconf::ErrorCode::kValidation,
                        tree.error().to_string());
    LIVECONF_FUZZ_CHECK(tree.error().message().find("etcd key") != std::string::npos,
                        tree.error().to_string());
    return 0;
  }
  LIVECONF_FUZZ_CHECK(tree->is_object(), liveconf::fuzz::show(*tree));
  for (const auto& [key, entry] : mirror) {
    const KeyPath path = liveconf::detail::etcd_key_path(key, kPrefix);
    const Value* at = tree->find(path);
    LIVECONF_FUZZ_CHECK(at != nullptr, "no value for " + key);
    if (!has_deeper_key(key, mirror)) {
      LIVECONF_FUZZ_CHECK(*at == entry.parsed, key + ": " + liveconf::fuzz::show(*at));
    }
  }
  return 0;
}
