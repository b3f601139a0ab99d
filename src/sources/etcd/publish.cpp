// Safe publishing (docs/fleet.md, `liveconf publish`): a configuration becomes
// the keys under a prefix in one transaction, guarded by what was read.
#include <algorithm>
#include <map>

#include "liveconf/etcd.hpp"

#include "sources/etcd/etcd_mapping.hpp"

namespace liveconf {
namespace {

constexpr std::string_view kSource = "publish";

// `config` as keys under `prefix` (tree layout). Objects become key segments;
// an empty object, an array and every scalar are one key's value.
Status flatten(const Value& node, const std::string& key, const KeyPath& path,
               std::map<std::string, std::string>& out) {
  if (node.is_object() && node.size() > 0) {
    for (const auto& [name, child] : node.as_object()) {
      if (name.empty() || name.find('/') != std::string::npos) {
        return Error(ErrorCode::kValidation,
                     "cannot publish " + path.child(name).to_string() +
                         " to etcd: a key segment may not be empty or contain \"/\"",
                     child.origin(), path.child(name));
      }
      if (Status st = flatten(child, key + name + "/", path.child(name), out); !st.ok()) {
        return st;
      }
    }
    return ok_status();
  }
  std::string text;
  if (node.is_string()) {
    // As it is, unless it would read back as something else ("42", "true",
    // "\"x\""): then as a JSON string.
    const Value back = detail::etcd_parse_value(node.as_string(), "", "", 0, ParseOptions{});
    text = back.is_string() && back.as_string() == node.as_string()
               ? node.as_string()
               : find_format("json")->emit(node, EmitOptions{0}).value();
  } else {
    Result<std::string> json = find_format("json")->emit(node, EmitOptions{0});
    if (!json) {
      return json.error();
    }
    text = std::move(*json);
  }
  out[key.substr(0, key.size() - 1)] = std::move(text);  // without the trailing "/"
  return ok_status();
}

// Where two trees differ first (for the read-back check's message).
std::string first_difference(const Value& a, const Value& b, const KeyPath& path) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [name, child] : a.as_object()) {
      const Value* other = b.find_member(name);
      if (other == nullptr) {
        return path.child(name).to_string();
      }
      if (!(child == *other)) {
        return first_difference(child, *other, path.child(name));
      }
    }
    for (const auto& [name, child] : b.as_object()) {
      if (a.find_member(name) == nullptr) {
        return path.child(name).to_string();
      }
    }
  }
  return path.empty() ? std::string("(the root)") : path.to_string();
}

}  // namespace

Result<EtcdPublishPlan> plan_etcd_publish(EtcdClient& client, std::string prefix, EtcdLayout layout,
                                          const Value& config, std::string_view document_text) {
  EtcdPublishPlan plan;
  plan.layout = layout;
  std::map<std::string, std::string> wanted;
  if (layout == EtcdLayout::kTree) {
    plan.prefix = detail::etcd_tree_prefix(prefix);
    if (plan.prefix.empty()) {
      return Error(ErrorCode::kValidation, "publish: the prefix is empty");
    }
    if (!config.is_object()) {
      return Error(ErrorCode::kValidation, "publish: the configuration is a " +
                                               std::string(config.type_name()) +
                                               ", not an object: the tree layout needs keys");
    }
    if (Status st = flatten(config, plan.prefix, KeyPath(), wanted); !st.ok()) {
      return st.error();
    }
    // What the fleet will read back must be exactly the configuration.
    detail::EtcdMirror mirror;
    for (const auto& [key, text] : wanted) {
      mirror[key] = detail::EtcdEntry{
          text, 1, detail::etcd_parse_value(text, std::string(kSource), key, 1, ParseOptions{})};
    }
    Result<Value> back = detail::etcd_build_tree(mirror, plan.prefix);
    if (!back) {
      return std::move(back).error();
    }
    if (!(*back == config)) {
      return Error(ErrorCode::kValidation,
                   "publish: " + first_difference(config, *back, KeyPath()) +
                       " would not read back from etcd as it is in the document");
    }
  } else {
    plan.prefix = std::move(prefix);
    if (plan.prefix.empty()) {
      return Error(ErrorCode::kValidation, "publish: the document key is empty");
    }
    wanted[plan.prefix] = std::string(document_text);
  }

  Result<std::vector<EtcdKeyValue>> current = client.get(plan.prefix, layout == EtcdLayout::kTree);
  if (!current) {
    return std::move(current).error();
  }
  Result<std::int64_t> revision = client.revision();
  if (!revision) {
    return std::move(revision).error();
  }
  // The keys and the revision come from two reads; the guard below covers
  // both: a key that changed after the first is caught by its mod revision.
  plan.revision = *revision;
  plan.current = std::move(*current);
  std::map<std::string, const EtcdKeyValue*> now;
  for (const EtcdKeyValue& kv : plan.current) {
    now[kv.key] = &kv;
  }
  for (const auto& [key, text] : wanted) {
    auto it = now.find(key);
    if (it != now.end() && it->second->value == text) {
      ++plan.unchanged;
    } else {
      plan.writes.push_back(EtcdWrite{EtcdWrite::Kind::kPut, key, text, 0});
    }
  }
  for (const EtcdKeyValue& kv : plan.current) {
    if (wanted.count(kv.key) == 0) {
      plan.writes.push_back(EtcdWrite{EtcdWrite::Kind::kDelete, kv.key, {}, 0});
    }
  }
  std::sort(plan.writes.begin(), plan.writes.end(),
            [](const EtcdWrite& a, const EtcdWrite& b) { return a.key < b.key; });
  return plan;
}

Result<std::int64_t> publish_to_etcd(EtcdClient& client, const EtcdPublishPlan& plan) {
  if (plan.writes.empty()) {
    return plan.revision;
  }
  std::vector<EtcdCompare> guard;
  // No key under the prefix created or changed after the plan's read...
  EtcdCompare none_newer;
  none_newer.key = plan.prefix;
  if (plan.layout == EtcdLayout::kTree) {
    none_newer.range_end = detail::etcd_prefix_end(plan.prefix);
  }
  none_newer.op = EtcdCompare::Op::kLess;
  none_newer.mod_revision = plan.revision + 1;
  guard.push_back(std::move(none_newer));
  // ...and none deleted (a deleted key's mod revision reads 0).
  for (const EtcdKeyValue& kv : plan.current) {
    guard.push_back(EtcdCompare{kv.key, {}, EtcdCompare::Op::kEqual, kv.mod_revision});
  }
  Result<std::int64_t> done = client.commit_if(guard, plan.writes);
  if (!done && done.error().code() == ErrorCode::kFailedPrecondition) {
    return Error(ErrorCode::kFailedPrecondition,
                 "publish to " + plan.prefix + ": someone else wrote under it after revision " +
                     std::to_string(plan.revision) + "; nothing was written (" +
                     done.error().message() + ")");
  }
  return done;
}

}  // namespace liveconf
