// SnapshotRecycler: gives the next snapshot of a config the layer list of a
// snapshot that was let go. A stack of 10,000 layers where one file changed
// is 9,999 of the same pointers: copying the live list for the next snapshot
// takes a reference-count increment per layer, and letting the old snapshot
// go a decrement per layer, on whatever thread drops it last (usually the
// dispatcher's, after the subscribers' calls). Instead a snapshot made here
// hands its list back when it is destroyed, and the next copy writes the live
// list over it: a shared_ptr assigned the pointer it already holds does
// nothing, so only the layers that differ are touched.
//
// What it keeps: at most one list, so at most one generation's replaced
// layers outlive their snapshot, until the next change takes the list.
//
// Thread-safety: copy_of() on the update thread; the deleter on any thread.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "liveconf/snapshot.hpp"

#include "base/mutex.hpp"

namespace liveconf::detail {

class SnapshotRecycler {
 public:
  using Stack = std::vector<std::shared_ptr<const Layer>>;

  /// A snapshot of `parts` whose layer list comes back to `recycler` (if it
  /// still exists) when the last holder lets it go.
  [[nodiscard]] static SnapshotPtr make(const std::shared_ptr<SnapshotRecycler>& recycler,
                                        Snapshot::Parts parts);

  /// A new list equal to `layers`, written over a list given back if there is one.
  [[nodiscard]] Stack copy_of(std::span<const std::shared_ptr<const Layer>> layers);

 private:
  struct GiveBack {
    std::weak_ptr<SnapshotRecycler> to;
    void operator()(Snapshot* snapshot) const noexcept;
  };

  Mutex mu_;
  Stack spare_ LIVECONF_GUARDED_BY(mu_);
};

}  // namespace liveconf::detail
