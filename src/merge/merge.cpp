#include "liveconf/merge.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <unordered_map>

#include "merge/incremental_merge.hpp"

namespace liveconf {
namespace {

// Key under which kMergeByKey matches array elements: the display text of the
// element's key field, so 1 and "1" stay distinct.
std::optional<std::string> element_key(const Value& element, const std::string& field) {
  if (!element.is_object()) {
    return std::nullopt;
  }
  const Value* k = element.find_member(field);
  if (k == nullptr) {
    return std::nullopt;
  }
  return k->to_display_string();
}

class Merger {
 public:
  explicit Merger(const MergePolicies& policies) : policies_(policies) {}

  // Merges into a member of the root named `key` (for the policies' paths).
  void merge_member_into(Value& dst, const Value& src, const std::string& key) {
    path_.push_back(&key);
    merge_into(dst, src);
    path_.pop_back();
  }

  void merge_into(Value& dst, const Value& src) {
    if (dst.is_object() && src.is_object() && std::as_const(dst).as_object().empty()) {
      dst = src;  // nothing below to keep: share the higher layer's subtree
      return;
    }
    if (dst.is_object() && src.is_object()) {
      Object& dst_obj = dst.as_object();
      const Object& src_obj = src.as_object();
      dst_obj.reserve(dst_obj.size() + src_obj.size());  // one index, not a rebuild per doubling
      // Each lookup in a large object is a cache miss; ask for the slot of
      // the key a few places ahead, so the misses overlap. Each key is hashed
      // once, when it is prefetched; the hash waits in `ahead` (a ring) until
      // the key is inserted.
      constexpr std::size_t kAhead = 8;
      std::array<Object::HashedKey, kAhead> ahead;
      const std::size_t n = src_obj.size();
      const bool large = n > Object::kIndexThreshold;
      for (std::size_t i = 0; large && i < std::min(kAhead, n); ++i) {
        ahead[i] = Object::hashed(src_obj.entry(i).first);
        dst_obj.prefetch(ahead[i]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const auto& [key, value] = src_obj.entry(i);
        std::pair<Value*, bool> emplaced;
        if (large) {
          const Object::HashedKey hashed = ahead[i % kAhead];
          if (i + kAhead < n) {
            ahead[i % kAhead] = Object::hashed(src_obj.entry(i + kAhead).first);
            dst_obj.prefetch(ahead[i % kAhead]);
          }
          emplaced = dst_obj.try_emplace(hashed, value);
        } else {
          emplaced = dst_obj.try_emplace(key, value);  // hashes only if dst is indexed
        }
        auto [slot, added] = emplaced;
        if (!added) {
          path_.push_back(&key);
          merge_into(*slot, value);
          path_.pop_back();
        }
      }
      // The object now exists because of the higher layer too; report the
      // highest layer that contributed, as explain() does.
      dst.set_origin(src.origin());
      return;
    }
    if (dst.is_array() && src.is_array() && !policies_.empty()) {
      if (const MergePolicy* policy = policies_.find(current_path())) {
        merge_arrays(dst, src, *policy);
        return;
      }
    }
    dst = src;
  }

 private:
  void merge_arrays(Value& dst, const Value& src, const MergePolicy& policy) {
    Value::Array& out = dst.as_array();
    const std::span<const Value> in = src.as_array();
    switch (policy.strategy) {
      case MergeStrategy::kReplace:
        dst = src;
        return;
      case MergeStrategy::kAppend:
        out.insert(out.end(), in.begin(), in.end());
        break;
      case MergeStrategy::kUnion:
        for (const Value& v : in) {
          if (std::find(out.begin(), out.end(), v) == out.end()) {
            out.push_back(v);
          }
        }
        break;
      case MergeStrategy::kMergeByKey: {
        std::unordered_map<std::string, std::size_t> by_key;
        for (std::size_t i = 0; i < out.size(); ++i) {
          if (auto k = element_key(out[i], policy.key)) {
            by_key.emplace(std::move(*k), i);
          }
        }
        for (const Value& v : in) {
          auto k = element_key(v, policy.key);
          auto it = k ? by_key.find(*k) : by_key.end();
          if (it != by_key.end()) {
            const std::string index = std::to_string(it->second);
            path_.push_back(&index);
            merge_into(out[it->second], v);
            path_.pop_back();
          } else {
            if (k) {
              by_key.emplace(std::move(*k), out.size());
            }
            out.push_back(v);
          }
        }
        break;
      }
    }
    dst.set_origin(src.origin());
  }

  // Materialised only when an array meets an array and policies exist: keys are
  // not copied on the hot path.
  KeyPath current_path() const {
    KeyPath p;
    for (const std::string* seg : path_) {
      p.push_back(*seg);
    }
    return p;
  }

  const MergePolicies& policies_;
  std::vector<const std::string*> path_;
};

std::vector<const Layer*> sorted_by_priority(std::span<const Layer* const> layers) {
  std::vector<const Layer*> sorted(layers.begin(), layers.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Layer* a, const Layer* b) { return a->priority < b->priority; });
  return sorted;
}

}  // namespace

bool path_matches(const KeyPath& pattern, const KeyPath& path) noexcept {
  if (pattern.size() != path.size()) {
    return false;
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (pattern[i] != "*" && pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

void MergePolicies::set(KeyPath path, MergePolicy policy) {
  for (auto& [p, existing] : entries_) {
    if (p == path) {
      existing = std::move(policy);
      return;
    }
  }
  entries_.emplace_back(std::move(path), std::move(policy));
}

const MergePolicy* MergePolicies::find(const KeyPath& path) const noexcept {
  for (const auto& [pattern, policy] : entries_) {
    if (path_matches(pattern, path)) {
      return &policy;
    }
  }
  return nullptr;
}

Value merge_layers(std::span<const Layer* const> layers, const MergePolicies& policies) {
  Value result;
  bool first = true;
  Merger merger(policies);
  const std::vector<const Layer*> sorted = sorted_by_priority(layers);
  // Room for every top-level key of every object layer (an upper bound), made
  // when the root is first written: the root then grows once, not once per
  // layer (each growth moves every entry and re-indexes every key).
  std::size_t objects = 0;
  std::size_t room = 0;
  for (const Layer* layer : sorted) {
    if (layer->data.is_object()) {
      ++objects;
      room += layer->data.size();
    }
  }
  for (const Layer* layer : sorted) {
    if (layer->data.is_null()) {
      continue;
    }
    if (first) {
      first = false;
      if (objects > 1 && layer->data.is_object()) {
        result = Value(Object(layer->data.as_object(), room));  // written below: copied now
        result.set_origin(layer->data.origin());
      } else {
        result = layer->data;
      }
    } else {
      merger.merge_into(result, layer->data);
    }
  }
  if (first) {
    result = Value::object();
  }
  return result;
}

Value merge_layers(std::span<const Layer> layers, const MergePolicies& policies) {
  std::vector<const Layer*> ptrs;
  ptrs.reserve(layers.size());
  for (const Layer& l : layers) {
    ptrs.push_back(&l);
  }
  return merge_layers(std::span<const Layer* const>(ptrs), policies);
}

namespace detail {

Value merge_member(std::span<const Value* const> values, const std::string& key,
                   const MergePolicies& policies) {
  if (values.empty()) {
    return Value();
  }
  Value out = *values.front();
  Merger merger(policies);
  for (const Value* v : values.subspan(1)) {
    merger.merge_member_into(out, *v, key);
  }
  return out;
}

void fold_into(Value& result, std::span<const Layer* const> on_top, const MergePolicies& policies) {
  Merger merger(policies);
  for (const Layer* layer : on_top) {
    if (!layer->data.is_null()) {
      merger.merge_into(result, layer->data);
    }
  }
}

}  // namespace detail

Explanation explain(std::span<const Layer* const> layers, const Value& merged, const KeyPath& path,
                    bool sensitive) {
  Explanation out;
  out.path = path;
  out.sensitive = sensitive;
  const Value* effective = merged.find(path);
  if (effective != nullptr) {
    out.effective = *effective;
  }
  std::vector<const Layer*> sorted = sorted_by_priority(layers);
  std::reverse(sorted.begin(), sorted.end());
  bool winner_found = false;
  for (const Layer* layer : sorted) {
    const Value* v = layer->data.find(path);
    if (v == nullptr) {
      continue;
    }
    LayerValue lv{layer->name, layer->priority, *v, false};
    if (!winner_found && effective != nullptr && effective->origin().source() == layer->name) {
      lv.winner = true;
      winner_found = true;
    }
    out.layers.push_back(std::move(lv));
  }
  if (!winner_found && effective != nullptr && !out.layers.empty()) {
    out.layers.front().winner = true;
  }
  if (sensitive) {
    for (LayerValue& lv : out.layers) {
      Origin o = lv.value.origin();
      lv.value = Value(std::string(kMaskedValue));
      lv.value.set_origin(o);
    }
    if (out.effective) {
      Origin o = out.effective->origin();
      out.effective = Value(std::string(kMaskedValue));
      out.effective->set_origin(o);
    }
  }
  return out;
}

Value Explanation::to_value() const {
  Value v = Value::object();
  v["path"] = path.to_string();
  if (effective) {
    v["effective"] = *effective;
  }
  Value out = Value::array();
  for (const LayerValue& lv : layers) {
    Value l = Value::object();
    l["layer"] = lv.layer;
    l["priority"] = lv.priority;
    l["value"] = lv.value;
    l["origin"] = lv.value.origin().location();
    l["winner"] = lv.winner;
    out.push_back(std::move(l));
  }
  v["layers"] = std::move(out);
  return v;
}

std::string Explanation::to_string() const {
  std::string out = path.to_string();
  out += effective ? " = " + effective->to_display_string() : " is not set by any layer";
  out += "\n";
  for (const LayerValue& lv : layers) {
    out += lv.winner ? "  * " : "    ";
    out += lv.layer;
    // The manager's own layers sit at the ends of the range (defaults at
    // INT_MIN, overrides at INT_MAX); their numbers say nothing to a reader.
    if (lv.priority > INT_MIN + 1 && lv.priority < INT_MAX) {
      out += " (priority " + std::to_string(lv.priority) + ")";
    }
    out += ": " + lv.value.to_display_string();
    std::string where = lv.value.origin().location();
    if (!where.empty()) {
      out += "  [" + where + "]";
    }
    out += "\n";
  }
  return out;
}

}  // namespace liveconf
