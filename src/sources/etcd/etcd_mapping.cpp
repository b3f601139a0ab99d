#include "sources/etcd/etcd_mapping.hpp"

#include <utility>
#include <vector>

namespace liveconf::detail {
namespace {

std::shared_ptr<const OriginInfo> key_origin(const std::string& source, const std::string& key,
                                             std::int64_t revision) {
  auto info = std::make_shared<OriginInfo>();
  info->source = source;
  info->remote_key = key;
  info->revision = revision;
  return info;
}

// Merges `doc` (key `key`'s value at `path`) into `node`, an object made for
// deeper keys: their values win; members only the document has are added.
Status fill_around(Value& node, const Value& doc, const std::string& key, const KeyPath& path) {
  if (!doc.is_object()) {
    return Error(ErrorCode::kValidation,
                 "etcd key \"" + key + "\" holds " + std::string(doc.type_name()) +
                     ", but other etcd keys set values under " + path.to_string(),
                 doc.origin(), path);
  }
  for (const auto& [name, member] : doc.as_object()) {
    Value& slot = node.as_object()[name];
    if (slot.is_null()) {
      slot = member;
    } else if (slot.origin().remote_key().empty()) {
      if (Status st = fill_around(slot, member, key, path.child(name)); !st.ok()) {
        return st;
      }
    }
  }
  return ok_status();
}

}  // namespace

Result<std::string> etcd_target(std::string_view endpoint, bool& tls) {
  if (endpoint.find('@') != std::string_view::npos) {
    // user:password@host would put a password into every error that names
    // the endpoint; the message does not repeat it.
    return Error(ErrorCode::kValidation,
                 "etcd endpoint: credentials in the URL are not supported; use the username "
                 "and password options (CLI: --etcd-user and $LIVECONF_ETCD_PASSWORD)");
  }
  std::string_view rest = endpoint;
  if (rest.starts_with("https://")) {
    tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return Error(ErrorCode::kValidation, "etcd endpoint \"" + std::string(endpoint) +
                                             "\": only http:// and https:// are supported");
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Error(ErrorCode::kValidation,
                 "etcd endpoint \"" + std::string(endpoint) + "\" is not host:port");
  }
  std::string target(rest);
  if (target.find(':') == std::string::npos) {
    target += ":2379";
  }
  return target;
}

std::string etcd_prefix_end(std::string_view prefix) {
  std::string end(prefix);
  // Drop trailing 0xff bytes, then increment the last byte: the first key
  // that does not start with `prefix`.
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // no upper bound: every key from `prefix` on
}

std::string etcd_tree_prefix(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && p.back() != '/') {
    p += '/';
  }
  return p;
}

KeyPath etcd_key_path(std::string_view key, std::string_view prefix) {
  std::string_view rest = key.substr(std::min(prefix.size(), key.size()));
  std::vector<std::string> segments;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (!segment.empty()) {
      segments.emplace_back(segment);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  return KeyPath::from_segments(std::move(segments));
}

Value etcd_parse_value(std::string_view text, const std::string& source, const std::string& key,
                       std::int64_t revision, const ParseOptions& options) {
  auto info = key_origin(source, key, revision);
  const Format* json = find_format("json");
  ParseOptions opts = options;
  opts.origin = info;
  opts.allow_empty = false;
  if (json != nullptr) {
    Result<Value> parsed = json->parse(text, opts);
    if (parsed) {
      // One origin for every node: the key and its revision say where it came
      // from; a position inside a one-line value adds nothing.
      parsed->set_origin_recursive(Origin(info));
      return std::move(*parsed);
    }
  }
  Value v{std::string(text)};
  v.set_origin(Origin(info));
  return v;
}

namespace {
// A place no key has set yet: operator[] made it. A key whose value is JSON
// null sets a null that names its key, and is a value like any other.
bool unset(const Value& v) { return v.is_null() && v.origin().remote_key().empty(); }
}  // namespace

Result<Value> etcd_build_tree(const EtcdMirror& mirror, std::string_view prefix) {
  Value root = Value::object();
  for (const auto& [key, entry] : mirror) {
    const KeyPath path = etcd_key_path(key, prefix);
    if (path.empty()) {
      return Error(ErrorCode::kValidation,
                   "etcd key \"" + key + "\" maps to no configuration path (it is the prefix)",
                   entry.parsed.origin());
    }
    // Keys come in byte order, so "/app/db" is placed before "/app/db/port":
    // walk down, refusing to pass through a scalar another key set.
    Value* node = &root;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      Value& child = node->as_object()[path[i]];
      if (unset(child)) {
        child = Value::object();
      } else if (!child.is_object()) {
        return Error(ErrorCode::kValidation,
                     "etcd key \"" + key + "\" is under \"" + child.origin().remote_key() +
                         "\", which holds a " + std::string(child.type_name()) + ", not an object",
                     entry.parsed.origin(), path);
      }
      node = &child;
    }
    Value& leaf = node->as_object()[path.back()];
    if (unset(leaf)) {
      leaf = entry.parsed;
      continue;
    }
    const std::string& other = leaf.origin().remote_key();
    if (other.empty()) {
      // Objects made for deeper keys that came first ("/app//db/port" sorts
      // before "/app/db"): this key's document fills in around them.
      if (Status st = fill_around(leaf, entry.parsed, key, path); !st.ok()) {
        return st.error();
      }
      continue;
    }
    const KeyPath other_path = etcd_key_path(other, prefix);
    if (other_path.size() >= path.size() || !path.starts_with(other_path)) {
      return Error(ErrorCode::kValidation,
                   "etcd keys \"" + other + "\" and \"" + key + "\" both set " + path.to_string(),
                   entry.parsed.origin(), path);
    }
    // Set by an ancestor key's document ("/app/db" = {"port": 1}): the
    // deeper, more specific key wins.
    leaf = entry.parsed;
  }
  return root;
}

Result<Value> etcd_parse_document(const EtcdEntry& entry, const std::string& source,
                                  const std::string& key, const Format& format,
                                  const ParseOptions& options) {
  ParseOptions opts = options;
  opts.origin = key_origin(source, key, entry.mod_revision);
  return format.parse(entry.value, opts);
}

}  // namespace liveconf::detail
