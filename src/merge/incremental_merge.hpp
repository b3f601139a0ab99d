// IncrementalMerge: merge_layers() for a stack that changes a few layers at a
// time. It keeps the stack it merged last and the result; when the new stack
// differs only in the contents of a few layers that keep their top-level keys
// (the usual edit: a value changes in one file of a conf.d directory), it
// re-merges only those keys, each over just the layers that have it, and
// patches the previous result. Layers added on top of the stack (a source
// added last) are folded into the previous result. Anything else (a layer added, removed or
// reordered, a key added or removed, a non-object layer, too many changes)
// merges in full. The result is the same Value, origins and key order
// included, as merge_layers() over the same stack; the tests hold it to that.
//
// Thread-safety: none; one owner (a config's update thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "liveconf/merge.hpp"

namespace liveconf::detail {

/// The merge of one member across layers: `values` (lowest priority first)
/// folded as merge_layers() folds the member `key` of the root.
[[nodiscard]] Value merge_member(std::span<const Value* const> values, const std::string& key,
                                 const MergePolicies& policies);

/// Folds `on_top` (in merge order, all of a priority no lower than what
/// `result` holds) into `result` as merge_layers() folds the layers after its
/// first: merge_layers({R} + on_top) equals R with fold_into(R, on_top), for
/// R what merge_layers() gave for the layers below. Writes in place where
/// `result`'s containers are held by nothing else, and copies them first
/// where they are.
void fold_into(Value& result, std::span<const Layer* const> on_top, const MergePolicies& policies);

class IncrementalMerge {
 public:
  /// At most this many changed layers are patched; more merge in full.
  static constexpr std::size_t kMaxPatchedLayers = 64;

  /// merge_layers(layers, policies), reusing the last result where it can.
  /// `policies` must be the same object (and unchanged) between calls for
  /// reuse; another object merges in full.
  [[nodiscard]] Value merge(std::span<const std::shared_ptr<const Layer>> layers,
                            const MergePolicies& policies);

  /// How the last merge() was done, for tests and benchmarks.
  [[nodiscard]] bool last_was_patch() const noexcept { return last_was_patch_; }
  /// Forgets the last result: the next merge() is a full one.
  void reset();

 private:
  using Stack = std::vector<std::shared_ptr<const Layer>>;

  // A stack in merge order without copying it: layers[order[k]] is the k-th,
  // or layers[k] when `order` is empty (the stack was in order as given).
  struct View {
    std::span<const std::shared_ptr<const Layer>> layers;
    std::vector<std::uint32_t> order;
    [[nodiscard]] std::size_t size() const noexcept { return layers.size(); }
    [[nodiscard]] const std::shared_ptr<const Layer>& operator[](std::size_t k) const {
      return order.empty() ? layers[k] : layers[order[k]];
    }
    [[nodiscard]] Stack copy() const;
  };

  Value merge_sorted(const View& sorted, const MergePolicies& policies);
  // The positions where `layers` differs from sorted_, when sorted_ was the
  // last stack as given and every differing layer keeps its priority (so
  // `layers` is in order too): false otherwise, or past kMaxPatchedLayers.
  [[nodiscard]] bool replaced_in_order(std::span<const std::shared_ptr<const Layer>> layers,
                                       std::vector<std::size_t>& changed) const;
  Value merge_in_full(const View& sorted, const MergePolicies& policies);
  [[nodiscard]] bool extends(const View& sorted) const;
  Value merge_on_top(const View& sorted, const MergePolicies& policies);
  // The positions of `sorted` that differ from sorted_, if they can be patched.
  [[nodiscard]] bool patchable(const View& sorted, std::vector<std::size_t>& changed) const;
  // Whether the layers at `changed` (the only ones that differ) can be patched.
  [[nodiscard]] bool patchable_at(const View& sorted,
                                  const std::vector<std::size_t>& changed) const;
  Value patch(const View& sorted, const std::vector<std::size_t>& changed,
              const MergePolicies& policies);
  // spare_ brought up to merged_ when nothing else holds it (then it is
  // written in place), else a copy of merged_'s root; spare_ is left null.
  Value take_root();
  // Makes merged_ (the result before this step's) the spare for the next
  // step, with `keys`: the top-level keys whose values this step may have
  // changed or added, in the order it met them. The caller then sets merged_.
  void keep_spare(std::vector<std::string> keys);
  void build_key_index();

  // The stack merged last, sorted by priority (stable). Held, so a pointer
  // equal to one in here is the very same layer (its address not reused).
  Stack sorted_;
  Value merged_;
  // The result before merged_, and the top-level keys whose values differ
  // between the two (merged_ was patched from it), or null when merged_ came
  // from a full merge. The result just returned is shared with the snapshot
  // that publishes it, so patching it means copying its root (every
  // top-level entry). By the next patch the snapshot before it is usually
  // gone: then this root is held by nothing else, and is brought up to
  // merged_ by copying `spare_keys_` members and patched in place. Patching a
  // 10,000-key root then costs the changed keys, not 10,000 entry copies.
  // Folding layers added on top does the same (a source added per directory
  // at start-up): its keys may be new to the spare, and are appended in the
  // order the fold met them, which is the order merged_ has them in.
  Value spare_;
  std::vector<std::string> spare_keys_;
  const MergePolicies* policies_ = nullptr;
  bool valid_ = false;
  // sorted_ is the last stack in the order it was given (it was sorted): the
  // next one, usually the same stack with a layer or two replaced, is then
  // compared pointer by pointer, with no sort or priority read over it all.
  bool in_order_ = false;
  bool all_objects_ = false;  // every layer's data is an object or null
  bool any_data_ = false;     // some layer's data is not null
  // Top-level key -> positions in sorted_ of the layers that have it
  // (ascending); built on the first patch after a full merge.
  std::unordered_map<std::string, std::vector<std::uint32_t>> key_layers_;
  bool indexed_ = false;
  bool last_was_patch_ = false;
};

}  // namespace liveconf::detail
