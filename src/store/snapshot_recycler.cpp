#include "store/snapshot_recycler.hpp"

#include <utility>

namespace liveconf::detail {

SnapshotPtr SnapshotRecycler::make(const std::shared_ptr<SnapshotRecycler>& recycler,
                                   Snapshot::Parts parts) {
  // Not make_shared: the deleter needs the Snapshot itself (not const) to
  // take its list, and a custom deleter needs a control block of its own.
  // Released straight into the shared_ptr: if allocating its control block
  // throws, the shared_ptr calls the deleter itself, so nothing else may own
  // the snapshot then (a unique_ptr still holding it would delete it twice).
  auto snapshot = std::make_unique<Snapshot>(std::move(parts));
  return SnapshotPtr(snapshot.release(), GiveBack{recycler});
}

void SnapshotRecycler::GiveBack::operator()(Snapshot* snapshot) const noexcept {
  if (std::shared_ptr<SnapshotRecycler> recycler = to.lock()) {
    Stack& layers = snapshot->parts_.layers;
    if (!layers.empty()) {
      MutexLock lock(recycler->mu_);
      if (recycler->spare_.empty()) {
        recycler->spare_.swap(layers);
      }
    }
  }
  delete snapshot;  // with its list, if the recycler had one already
}

SnapshotRecycler::Stack SnapshotRecycler::copy_of(
    std::span<const std::shared_ptr<const Layer>> layers) {
  Stack out;
  {
    MutexLock lock(mu_);
    out.swap(spare_);
  }
  // Element-wise assignment: equal pointers are left alone (no count change).
  out.assign(layers.begin(), layers.end());
  return out;
}

}  // namespace liveconf::detail
