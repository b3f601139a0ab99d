#include "merge/incremental_merge.hpp"

#include <algorithm>
#include <climits>
#include <unordered_set>
#include <utility>

namespace liveconf::detail {
namespace {

// The same top-level keys in the same order (values may differ).
bool same_keys(const Value& a, const Value& b) {
  const Object& x = a.as_object();
  const Object& y = b.as_object();
  if (x.size() != y.size()) {
    return false;
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x.entry(i).first != y.entry(i).first) {
      return false;
    }
  }
  return true;
}

}  // namespace

void IncrementalMerge::reset() {
  sorted_.clear();
  merged_ = Value();
  spare_ = Value();
  spare_keys_.clear();
  policies_ = nullptr;
  valid_ = false;
  in_order_ = false;
  all_objects_ = false;
  any_data_ = false;
  key_layers_.clear();
  indexed_ = false;
}

IncrementalMerge::Stack IncrementalMerge::View::copy() const {
  Stack out;
  out.reserve(size());
  for (std::size_t k = 0; k < size(); ++k) {
    out.push_back((*this)[k]);
  }
  return out;
}

Value IncrementalMerge::merge(std::span<const std::shared_ptr<const Layer>> layers,
                              const MergePolicies& policies) {
  try {
    std::vector<std::size_t> changed;
    if (&policies == policies_ && replaced_in_order(layers, changed)) {
      // The usual change: a layer or two replaced in a stack in order.
      const View same{layers, {}};
      if (patchable_at(same, changed)) {
        last_was_patch_ = true;
        return changed.empty() ? merged_ : patch(same, changed, policies);
      }
      return merge_in_full(same, policies);
    }
    View sorted{layers, {}};
    // merge_layers() sorts stably by priority; a stack is usually sorted already.
    auto by_priority = [&](const auto& a, const auto& b) { return a->priority < b->priority; };
    if (!std::is_sorted(layers.begin(), layers.end(), by_priority)) {
      sorted.order.resize(layers.size());
      for (std::uint32_t i = 0; i < sorted.order.size(); ++i) {
        sorted.order[i] = i;
      }
      std::stable_sort(sorted.order.begin(), sorted.order.end(),
                       [&](std::uint32_t a, std::uint32_t b) {
                         return layers[a]->priority < layers[b]->priority;
                       });
    }
    return merge_sorted(sorted, policies);
  } catch (...) {
    reset();  // maybe half-updated: start again from a full merge next time
    throw;
  }
}

Value IncrementalMerge::merge_sorted(const View& sorted, const MergePolicies& policies) {
  if (&policies == policies_ && extends(sorted)) {
    Value merged = merge_on_top(sorted, policies);
    in_order_ = in_order_ && sorted.order.empty();
    return merged;
  }
  std::vector<std::size_t> changed;
  if (&policies != policies_ || !patchable(sorted, changed)) {
    return merge_in_full(sorted, policies);
  }
  last_was_patch_ = true;
  Value merged = changed.empty() ? merged_ : patch(sorted, changed, policies);
  in_order_ = sorted.order.empty();
  return merged;
}

bool IncrementalMerge::replaced_in_order(std::span<const std::shared_ptr<const Layer>> layers,
                                         std::vector<std::size_t>& changed) const {
  if (!valid_ || !in_order_ || layers.size() != sorted_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].get() == sorted_[i].get()) {
      continue;
    }
    if (changed.size() == kMaxPatchedLayers || layers[i]->priority != sorted_[i]->priority) {
      return false;
    }
    changed.push_back(i);
  }
  return true;
}

Value IncrementalMerge::patch(const View& sorted, const std::vector<std::size_t>& changed,
                              const MergePolicies& policies) {
  build_key_index();

  // The keys to merge again: every top-level key of a changed layer (the
  // same before and after, patchable() checked).
  std::vector<const std::string*> keys;
  std::unordered_set<std::string_view> listed;
  for (std::size_t i : changed) {
    for (const auto& [key, value] : sorted[i]->data.as_object()) {
      if (listed.insert(key).second) {
        keys.push_back(&key);
      }
    }
    sorted_[i] = sorted[i];
  }
  Value result = take_root();
  Object& root = result.as_object();
  std::vector<const Value*> values;
  for (const std::string* key : keys) {
    values.clear();
    for (std::uint32_t position : key_layers_.at(*key)) {
      values.push_back(sorted_[position]->data.find_member(*key));
    }
    *root.find(*key) = merge_member(values, *key, policies);
  }
  // The root carries the origin of the highest layer that has data, as
  // merge_layers() leaves it.
  for (auto it = sorted_.rbegin(); it != sorted_.rend(); ++it) {
    if (!(*it)->data.is_null()) {
      result.set_origin((*it)->data.origin());
      break;
    }
  }
  std::vector<std::string> spare_keys;
  spare_keys.reserve(keys.size());
  for (const std::string* key : keys) {
    spare_keys.push_back(*key);
  }
  keep_spare(std::move(spare_keys));
  merged_ = result;
  return result;
}

Value IncrementalMerge::take_root() {
  Value result;
  if (spare_.is_object() && spare_.owns_body_alone()) {
    // The root from before merged_, held by nothing else: bring it up to
    // merged_ (the keys that differ or were added), then write it in place.
    result = std::move(spare_);
    Object& older = result.as_object();                      // the body is ours alone: not copied
    const Object& now = std::as_const(merged_).as_object();  // (not unshared either)
    for (const std::string& key : spare_keys_) {
      *older.try_emplace(key).first = *now.find(key);
    }
    result.set_origin(merged_.origin());
  } else {
    result = merged_;  // the root's entries are copied when written; members stay shared
  }
  spare_ = Value();
  spare_keys_.clear();
  return result;
}

void IncrementalMerge::keep_spare(std::vector<std::string> keys) {
  spare_ = std::move(merged_);
  spare_keys_ = std::move(keys);
  if (!spare_.is_object()) {
    spare_ = Value();
    spare_keys_.clear();
  }
}

Value IncrementalMerge::merge_in_full(const View& sorted, const MergePolicies& policies) {
  reset();
  last_was_patch_ = false;
  std::vector<const Layer*> ptrs;
  ptrs.reserve(sorted.size());
  bool all_objects = true;
  bool any_data = false;
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    const auto& l = sorted[k];
    ptrs.push_back(l.get());
    all_objects = all_objects && (l->data.is_null() || l->data.is_object());
    any_data = any_data || !l->data.is_null();
  }
  Value merged = merge_layers(std::span<const Layer* const>(ptrs), policies);
  sorted_ = sorted.copy();
  merged_ = merged;
  policies_ = &policies;
  in_order_ = sorted.order.empty();
  all_objects_ = all_objects;
  any_data_ = any_data;
  valid_ = true;
  return merged;
}

// The same stack with layers added on top (a source added last, of a
// priority no lower than any below): merge_layers() would fold the same
// layers in the same order, so folding the new ones into the last result
// gives what it gives.
bool IncrementalMerge::extends(const View& sorted) const {
  if (!valid_ || sorted.size() <= sorted_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < sorted_.size(); ++i) {
    if (sorted[i].get() != sorted_[i].get()) {
      return false;
    }
  }
  return true;
}

Value IncrementalMerge::merge_on_top(const View& sorted, const MergePolicies& policies) {
  // The usual case (an object root, objects added on top): fold the new
  // layers into a root of our own, which is the root before the last one
  // brought up to date when nothing holds it any more (as patch() does),
  // so adding 100 directories one by one does not copy the root 100 times.
  bool objects_on_top = merged_.is_object();
  std::vector<std::string> added_keys;  // the new layers' top-level keys, as the fold meets them
  std::unordered_set<std::string_view> listed;
  for (std::size_t i = sorted_.size(); objects_on_top && i < sorted.size(); ++i) {
    const Value& data = sorted[i]->data;
    if (data.is_object()) {
      for (const auto& [key, value] : data.as_object()) {
        if (listed.insert(key).second) {
          added_keys.push_back(key);
        }
      }
    } else {
      objects_on_top = data.is_null();
    }
  }
  if (objects_on_top) {
    bool no_new_data = true;  // whether no new layer has data
    std::vector<const Layer*> on_top;
    on_top.reserve(sorted.size() - sorted_.size());
    for (std::size_t i = sorted_.size(); i < sorted.size(); ++i) {
      on_top.push_back(sorted[i].get());
      no_new_data = no_new_data && sorted[i]->data.is_null();
    }
    Value merged = take_root();
    fold_into(merged, on_top, policies);
    for (std::size_t k = sorted_.size(); k < sorted.size(); ++k) {
      sorted_.push_back(sorted[k]);
    }
    keep_spare(std::move(added_keys));
    merged_ = merged;
    any_data_ = any_data_ || !no_new_data;  // all_objects_ holds: objects and nulls were added
    indexed_ = false;
    key_layers_.clear();
    last_was_patch_ = true;
    return merged;
  }
  std::vector<const Layer*> ptrs;
  ptrs.reserve(sorted.size() - sorted_.size() + 1);
  // The last result is the first "layer" of the fold: merge_layers() over it
  // and the new layers folds exactly as over the whole stack (INT_MIN and
  // first: the stable sort keeps it first). Without data below, the fold
  // starts from the first new layer with data, as it would.
  const Layer below{"", INT_MIN, merged_, ""};
  if (any_data_) {
    ptrs.push_back(&below);
  }
  bool all_objects = all_objects_;
  bool any_data = any_data_;
  for (std::size_t i = sorted_.size(); i < sorted.size(); ++i) {
    const Value& data = sorted[i]->data;
    ptrs.push_back(sorted[i].get());
    all_objects = all_objects && (data.is_null() || data.is_object());
    any_data = any_data || !data.is_null();
  }
  Value merged = merge_layers(std::span<const Layer* const>(ptrs), policies);
  for (std::size_t k = sorted_.size(); k < sorted.size(); ++k) {
    sorted_.push_back(sorted[k]);
  }
  spare_ = Value();  // new keys: the root before cannot be brought up to this one
  spare_keys_.clear();
  merged_ = merged;
  all_objects_ = all_objects;
  any_data_ = any_data;
  indexed_ = false;
  key_layers_.clear();
  last_was_patch_ = true;
  return merged;
}

bool IncrementalMerge::patchable(const View& sorted, std::vector<std::size_t>& changed) const {
  if (!valid_ || sorted.size() != sorted_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].get() != sorted_[i].get()) {
      if (changed.size() == kMaxPatchedLayers) {
        return false;
      }
      changed.push_back(i);
    }
  }
  return patchable_at(sorted, changed);
}

bool IncrementalMerge::patchable_at(const View& sorted,
                                    const std::vector<std::size_t>& changed) const {
  // With no data at all the result is a fresh empty object, not any layer's:
  // leave that case to full merges.
  if (!valid_ || !all_objects_ || !any_data_ || sorted.size() != sorted_.size()) {
    return false;
  }
  for (std::size_t i : changed) {
    const Layer* now = sorted[i].get();
    const Layer* was = sorted_[i].get();
    if (now->name != was->name || now->priority != was->priority || !now->data.is_object() ||
        !was->data.is_object() || !same_keys(now->data, was->data)) {
      return false;
    }
  }
  return true;
}

void IncrementalMerge::build_key_index() {
  if (indexed_) {
    return;
  }
  key_layers_.clear();
  for (std::size_t i = 0; i < sorted_.size(); ++i) {
    if (sorted_[i]->data.is_null()) {
      continue;
    }
    for (const auto& [key, value] : sorted_[i]->data.as_object()) {
      key_layers_[key].push_back(static_cast<std::uint32_t>(i));
    }
  }
  indexed_ = true;
}

}  // namespace liveconf::detail
