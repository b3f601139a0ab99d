#include "liveconf/diff.hpp"

#include <algorithm>

namespace liveconf {
namespace {

bool prefix_matches(const KeyPath& pattern, const KeyPath& path, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (pattern[i] != "*" && pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

void mask_all(Value& v) {
  if (v.is_object()) {
    Object& obj = v.as_object();
    for (std::size_t i = 0; i < obj.size(); ++i) {
      mask_all(obj.value_at(i));
    }
  } else if (v.is_array()) {
    for (Value& e : v.as_array()) {
      mask_all(e);
    }
  } else if (!v.is_null()) {
    Origin o = v.origin();
    v = Value(std::string(kMaskedValue));
    v.set_origin(std::move(o));
  }
}

void mask_walk(Value& v, KeyPath& path, const SensitivePaths& sensitive) {
  if (sensitive.matches(path)) {
    mask_all(v);
    return;
  }
  if (!sensitive.covers_descendant(path)) {
    return;
  }
  if (v.is_object()) {
    Object& obj = v.as_object();
    for (std::size_t i = 0; i < obj.size(); ++i) {
      path.push_back(obj.entry(i).first);
      mask_walk(obj.value_at(i), path, sensitive);
      path.pop_back();
    }
  } else if (v.is_array()) {
    Value::Array& arr = v.as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      path.push_back(std::to_string(i));
      mask_walk(arr[i], path, sensitive);
      path.pop_back();
    }
  }
}

class Differ {
 public:
  Differ(const DiffOptions& options, std::vector<Change>& out) : options_(options), out_(out) {}

  void compare(const Value* a, const Value* b) {
    if (a != nullptr && b != nullptr && a->shares_body_with(*b)) {
      return;  // one shared subtree (an unchanged layer): equal without a walk
    }
    if (restricted() && ((a != nullptr && a->is_object()) || (b != nullptr && b->is_object()))) {
      // Above options_.under, an object leads there only through one key: the
      // changes elsewhere do not touch it. Anything else is compared as it
      // would be (a change at an ancestor touches the path too).
      const std::string& key = (*options_.under)[path_.size()];
      const Value* x = a != nullptr && a->is_object() ? a->as_object().find(key) : nullptr;
      const Value* y = b != nullptr && b->is_object() ? b->as_object().find(key) : nullptr;
      const bool objects_both = a != nullptr && b != nullptr && a->is_object() && b->is_object();
      if (objects_both || (a == nullptr && !b->as_object().empty()) ||
          (b == nullptr && !a->as_object().empty())) {
        if (x != nullptr || y != nullptr) {
          path_.push_back(&key);
          compare(x, y);
          path_.pop_back();
        }
        return;
      }
    }
    if (a != nullptr && b != nullptr && a->is_object() && b->is_object()) {
      const Object& ao = a->as_object();
      const Object& bo = b->as_object();
      // Two versions of one object usually list the same keys in the same
      // order: pair them by position, and look a key up only where they differ.
      std::size_t aligned = 0;
      for (std::size_t i = 0; i < bo.size(); ++i) {
        const auto& [key, value] = bo.entry(i);
        const bool same_place = i < ao.size() && ao.entry(i).first == key;
        aligned += same_place ? 1 : 0;
        path_.push_back(&key);
        compare(same_place ? &ao.entry(i).second : ao.find(key), &value);
        path_.pop_back();
      }
      if (aligned == ao.size()) {
        return;  // every key of `a` was paired: none went away
      }
      for (const auto& [key, value] : ao) {
        if (!bo.contains(key)) {
          path_.push_back(&key);
          compare(&value, nullptr);
          path_.pop_back();
        }
      }
      return;
    }
    // An object on one side only: report each leaf that appeared or went away,
    // so a subscriber to "db.port" hears about it. An empty object is a leaf.
    if (a == nullptr && b != nullptr && b->is_object() && !b->as_object().empty()) {
      for (const auto& [key, value] : b->as_object()) {
        path_.push_back(&key);
        compare(nullptr, &value);
        path_.pop_back();
      }
      return;
    }
    if (b == nullptr && a != nullptr && a->is_object() && !a->as_object().empty()) {
      for (const auto& [key, value] : a->as_object()) {
        path_.push_back(&key);
        compare(&value, nullptr);
        path_.pop_back();
      }
      return;
    }
    if (a != nullptr && b != nullptr && *a == *b) {
      return;
    }
    emit(a, b);
  }

 private:
  void emit(const Value* a, const Value* b) {
    Change c;
    for (const std::string* seg : path_) {
      c.path.push_back(*seg);
    }
    const KeyPath& path = c.path;
    if (a != nullptr) {
      c.old_value = *a;
      c.old_source = a->origin().source();
    }
    if (b != nullptr) {
      c.new_value = *b;
      c.new_source = b->origin().source();
    }
    if (options_.sensitive != nullptr &&
        (options_.sensitive->matches(path) || options_.sensitive->covers_descendant(path))) {
      c.sensitive = true;
      if (c.old_value) {
        KeyPath p = path;
        mask_walk(*c.old_value, p, *options_.sensitive);
      }
      if (c.new_value) {
        KeyPath p = path;
        mask_walk(*c.new_value, p, *options_.sensitive);
      }
    }
    if (options_.restart_pending != nullptr) {
      for (const KeyPath& pending : *options_.restart_pending) {
        if (path.starts_with(pending)) {
          c.restart_required = true;
        }
      }
    }
    out_.push_back(std::move(c));
  }

  // Still above options_.under: only the member on its way is compared.
  [[nodiscard]] bool restricted() const noexcept {
    return options_.under != nullptr && path_.size() < options_.under->size();
  }

  const DiffOptions& options_;
  std::vector<Change>& out_;
  // Keys are borrowed from the trees; a KeyPath is built only for a change.
  std::vector<const std::string*> path_;
};

}  // namespace

void SensitivePaths::add(KeyPath pattern) {
  if (std::find(patterns_.begin(), patterns_.end(), pattern) == patterns_.end()) {
    patterns_.push_back(std::move(pattern));
  }
}

bool SensitivePaths::matches(const KeyPath& path) const noexcept {
  for (const KeyPath& p : patterns_) {
    if (p.size() <= path.size() && prefix_matches(p, path, p.size())) {
      return true;
    }
  }
  return false;
}

bool SensitivePaths::covers_descendant(const KeyPath& path) const noexcept {
  for (const KeyPath& p : patterns_) {
    if (p.size() >= path.size() && prefix_matches(p, path, path.size())) {
      return true;
    }
  }
  return false;
}

void mask_sensitive(Value& tree, const SensitivePaths& sensitive) {
  if (sensitive.empty()) {
    return;
  }
  KeyPath path;
  mask_walk(tree, path, sensitive);
}

std::string Change::to_string() const {
  std::string out = path.to_string() + ": ";
  out += old_value ? old_value->to_display_string() : "(absent)";
  out += " -> ";
  out += new_value ? new_value->to_display_string() : "(absent)";
  if (sensitive) {
    out += " (secret changed)";
  }
  if (restart_required) {
    out += " (takes effect after restart)";
  }
  return out;
}

const Change* ChangeSet::find(const KeyPath& path) const noexcept {
  for (const Change& c : changes_) {
    if (c.path == path) {
      return &c;
    }
  }
  return nullptr;
}

bool ChangeSet::touches(const KeyPath& prefix) const noexcept {
  return std::any_of(changes_.begin(), changes_.end(), [&](const Change& c) {
    return c.path.starts_with(prefix) || prefix.starts_with(c.path);
  });
}

ChangeSet ChangeSet::filter(const KeyPath& prefix) const {
  ChangeSet out;
  for (const Change& c : changes_) {
    if (c.path.starts_with(prefix) || prefix.starts_with(c.path)) {
      out.push_back(c);
    }
  }
  return out;
}

ChangeSet diff(const Value& old_tree, const Value& new_tree, const DiffOptions& options) {
  std::vector<Change> out;
  Differ(options, out).compare(&old_tree, &new_tree);
  return ChangeSet(std::move(out));
}

}  // namespace liveconf
