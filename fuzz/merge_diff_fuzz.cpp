// Merging layers and diffing trees. The input is up to three JSON documents
// separated by NUL bytes (JSON text never holds a raw NUL, so no document is
// cut); one that does not parse becomes a null layer, which contributes
// nothing. Layer i gets priority (its size % 3), so equal priorities (stack
// order decides) occur as often as different ones.
//  - diff(x, x) is empty, and merging the single layer x gives x ({} for null);
//  - merge_layers without policies equals a reference merge written here
//    (objects merge key by key, anything else is replaced by the higher layer);
//  - for every pair (a, b) among the layers and the merged tree:
//    diff(a, b) is empty exactly when a == b (origins ignored); every change's
//    old/new value is what a/b hold at its path, and they differ; diff(b, a)
//    has the same paths; applying diff(a, b) to a gives b, up to empty
//    objects (a key that disappears is reported per leaf, so the emptied
//    objects above it stay; diff.hpp documents this), and applying it to a
//    copy of a leaves a itself unchanged (copies share bodies until written);
//  - with sensitive paths, no change shows a value at or below a secret
//    except "***" (or null);
//  - merging with array policies (append, union, merge by key) does not crash,
//    and the result diffs empty against itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/format.hpp"
#include "liveconf/merge.hpp"

#include "fuzz_common.hpp"

namespace {

using namespace liveconf;

void reference_merge(Value& dst, const Value& src) {
  if (dst.is_object() && src.is_object()) {
    for (const auto& [key, value] : src.as_object()) {
      Value* existing = dst.as_object().find(key);
      if (existing != nullptr) {
        reference_merge(*existing, value);
      } else {
        dst.as_object().insert(key, value);
      }
    }
    return;
  }
  dst = src;
}

// Removes object members that are (or become) empty objects; the root stays.
Value without_empty_objects(const Value& v) {
  if (!v.is_object()) {
    return v;
  }
  Value out = Value::object();
  for (const auto& [key, member] : v.as_object()) {
    Value pruned = without_empty_objects(member);
    if (!(pruned.is_object() && pruned.as_object().empty())) {
      out.as_object().insert(key, std::move(pruned));
    }
  }
  return out;
}

std::string show_changes(const ChangeSet& changes) {
  std::string out;
  for (const Change& c : changes) {
    out += "  " + c.to_string() + "\n";
    if (out.size() > 4000) {
      return out + "  ...\n";
    }
  }
  return out;
}

void check_pair(const Value& a, const Value& b) {
  const ChangeSet changes = diff(a, b);
  const std::string context = "--- a ---\n" + fuzz::show(a) + "\n--- b ---\n" + fuzz::show(b) +
                              "\n--- diff ---\n" + show_changes(changes);
  LIVECONF_FUZZ_CHECK(changes.empty() == (a == b), context);

  // `applied` shares a's bodies until written: editing it must not change a.
  const Value a_before = fuzz::deep_copy(a);
  Value applied = a;
  std::set<KeyPath> paths;
  for (const Change& c : changes) {
    const Value* old_node = a.find(c.path);
    const Value* new_node = b.find(c.path);
    LIVECONF_FUZZ_CHECK(c.old_value.has_value() == (old_node != nullptr) &&
                            (!c.old_value || *c.old_value == *old_node),
                        "old value at " + c.path.to_string() + "\n" + context);
    LIVECONF_FUZZ_CHECK(c.new_value.has_value() == (new_node != nullptr) &&
                            (!c.new_value || *c.new_value == *new_node),
                        "new value at " + c.path.to_string() + "\n" + context);
    LIVECONF_FUZZ_CHECK(!(c.old_value && c.new_value && *c.old_value == *c.new_value),
                        "unchanged value reported at " + c.path.to_string() + "\n" + context);
    LIVECONF_FUZZ_CHECK(paths.insert(c.path).second,
                        "path reported twice: " + c.path.to_string() + "\n" + context);
    if (c.new_value) {
      applied.set(c.path, *c.new_value);
    } else {
      applied.erase(c.path);
    }
  }
  LIVECONF_FUZZ_CHECK(a == a_before, "set/erase on a copy changed the original (copy-on-write):\n" +
                                         fuzz::show(a_before) + "\nbecame\n" + fuzz::show(a) +
                                         "\n" + context);
  LIVECONF_FUZZ_CHECK(without_empty_objects(applied) == without_empty_objects(b),
                      "applying the diff gives " + fuzz::show(applied) + "\n" + context);

  const ChangeSet reverse = diff(b, a);
  std::set<KeyPath> reverse_paths;
  for (const Change& c : reverse) {
    reverse_paths.insert(c.path);
  }
  LIVECONF_FUZZ_CHECK(reverse_paths == paths,
                      "diff(b, a) has other paths:\n" + show_changes(reverse) + context);
}

// Every scalar at or below a sensitive path within `v` (found at `path`) is masked.
bool masked_below(const Value& v, KeyPath& path, const SensitivePaths& sensitive) {
  if (v.is_object()) {
    for (const auto& [key, member] : v.as_object()) {
      path.push_back(key);
      const bool ok = masked_below(member, path, sensitive);
      path.pop_back();
      if (!ok) {
        return false;
      }
    }
    return true;
  }
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.as_array().size(); ++i) {
      path.push_back(std::to_string(i));
      const bool ok = masked_below(v.as_array()[i], path, sensitive);
      path.pop_back();
      if (!ok) {
        return false;
      }
    }
    return true;
  }
  return !sensitive.matches(path) || v.is_null() ||
         (v.is_string() && v.as_string() == kMaskedValue);
}

void check_masking(const Value& a, const Value& b) {
  SensitivePaths sensitive;
  sensitive.add(KeyPath("password"));
  sensitive.add(KeyPath("*.secret"));
  sensitive.add(KeyPath("db.*.token"));
  DiffOptions options;
  options.sensitive = &sensitive;
  for (const Change& c : diff(a, b, options)) {
    for (const std::optional<Value>* side : {&c.old_value, &c.new_value}) {
      if (side->has_value()) {
        KeyPath p = c.path;
        LIVECONF_FUZZ_CHECK(masked_below(**side, p, sensitive), "secret shown in " + c.to_string());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const Format& json = *find_format("json");

  std::vector<Layer> layers;
  std::size_t start = 0;
  while (start <= text.size() && layers.size() < 3) {
    std::size_t end = text.find('\0', start);
    if (end == std::string_view::npos || layers.size() == 2) {
      end = text.size();
    }
    const std::string_view doc = text.substr(start, end - start);
    const std::string name = "layer" + std::to_string(layers.size());
    Result<Value> tree = json.parse(doc, fuzz::fuzz_parse_options(name + ".json"));
    Layer layer;
    layer.name = name;
    layer.priority = static_cast<int>(doc.size() % 3);
    if (tree) {
      layer.data = std::move(*tree);
    }
    layers.push_back(std::move(layer));
    start = end + 1;
  }

  const MergePolicies no_policies;
  for (const Layer& layer : layers) {
    LIVECONF_FUZZ_CHECK(diff(layer.data, layer.data).empty(), fuzz::show(layer.data));
    const Value alone = merge_layers(std::span<const Layer>(&layer, 1), no_policies);
    const Value expected = layer.data.is_null() ? Value::object() : layer.data;
    LIVECONF_FUZZ_CHECK(alone == expected,
                        fuzz::show(layer.data) + " merged alone gives " + fuzz::show(alone));
  }

  const Value merged = merge_layers(layers, no_policies);
  std::vector<const Layer*> order;
  for (const Layer& layer : layers) {
    order.push_back(&layer);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Layer* x, const Layer* y) { return x->priority < y->priority; });
  Value expected;
  bool first = true;
  for (const Layer* layer : order) {
    if (layer->data.is_null()) {
      continue;
    }
    if (first) {
      expected = layer->data;
      first = false;
    } else {
      reference_merge(expected, layer->data);
    }
  }
  if (first) {
    expected = Value::object();
  }
  LIVECONF_FUZZ_CHECK(merged == expected,
                      "merged " + fuzz::show(merged) + "\nexpected " + fuzz::show(expected));

  std::vector<const Value*> trees = {&merged};
  for (const Layer& layer : layers) {
    trees.push_back(&layer.data);
  }
  for (const Value* a : trees) {
    for (const Value* b : trees) {
      check_pair(*a, *b);
      check_masking(*a, *b);
    }
  }

  MergePolicies policies;
  policies.set(KeyPath("list"), MergePolicy{MergeStrategy::kAppend, {}});
  policies.set(KeyPath("set"), MergePolicy{MergeStrategy::kUnion, {}});
  policies.set(KeyPath("items"), MergePolicy{MergeStrategy::kMergeByKey, "name"});
  policies.set(KeyPath("*.items"), MergePolicy{MergeStrategy::kMergeByKey, "id"});
  policies.set(KeyPath("*.*"), MergePolicy{MergeStrategy::kUnion, {}});
  const Value with_policies = merge_layers(layers, policies);
  LIVECONF_FUZZ_CHECK(diff(with_policies, with_policies).empty(), fuzz::show(with_policies));
  return 0;
}
