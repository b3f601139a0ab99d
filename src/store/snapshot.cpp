#include "liveconf/snapshot.hpp"

namespace liveconf {

const MergePolicies& Snapshot::merge_policies() const noexcept {
  static const MergePolicies kNone;
  return parts_.policies ? *parts_.policies : kNone;
}

Value Snapshot::masked_tree() const {
  Value out = parts_.tree;
  mask_sensitive(out, parts_.sensitive);
  return out;
}

std::vector<LayerVersion> Snapshot::layer_versions() const {
  std::vector<LayerVersion> out;
  out.reserve(parts_.layers.size());
  for (const auto& layer : parts_.layers) {
    out.push_back(LayerVersion{layer->name, layer->priority, layer->version});
  }
  return out;
}

Explanation Snapshot::explain(const KeyPath& path) const {
  std::vector<const Layer*> ptrs;
  ptrs.reserve(parts_.layers.size());
  for (const auto& layer : parts_.layers) {
    ptrs.push_back(layer.get());
  }
  const bool secret = parts_.sensitive.matches(path) || parts_.sensitive.covers_descendant(path);
  Explanation e = liveconf::explain(ptrs, parts_.tree, path, false);
  if (secret) {
    // Mask only what is secret: a parent object shows its other keys.
    for (LayerValue& lv : e.layers) {
      KeyPath p = path;
      Value wrapped;
      wrapped.set(p, std::move(lv.value));
      mask_sensitive(wrapped, parts_.sensitive);
      lv.value = std::move(*wrapped.find_mutable(p));
    }
    if (e.effective) {
      Value wrapped;
      wrapped.set(path, std::move(*e.effective));
      mask_sensitive(wrapped, parts_.sensitive);
      e.effective = std::move(*wrapped.find_mutable(path));
    }
    e.sensitive = true;
  }
  return e;
}

}  // namespace liveconf
