// SnapshotCell: the publish/load cell, in whichever form the standard library
// allows (std::atomic<std::shared_ptr> or the mutex fallback).
#include <atomic>
#include <memory>
#include <thread>
#include <version>

#include <gtest/gtest.h>

#include "liveconf/store.hpp"

namespace liveconf {
namespace {

using detail::SnapshotCell;

SnapshotPtr snapshot_at(std::uint64_t generation) {
  Snapshot::Parts parts;
  parts.config_name = "cell";
  parts.generation = generation;
  parts.tree = Value::object();
  parts.tree["generation"] = static_cast<std::int64_t>(generation);
  return std::make_shared<const Snapshot>(std::move(parts));
}

TEST(SnapshotCellTest, LockedExactlyWithoutAtomicSharedPtrOrUnderTsan) {
#if defined(LIVECONF_TSAN_CELL) || !defined(__cpp_lib_atomic_shared_ptr)
  EXPECT_TRUE(SnapshotCell::kLocked);
#else
  EXPECT_FALSE(SnapshotCell::kLocked);
#endif
#if defined(_LIBCPP_VERSION) && !defined(__cpp_lib_atomic_shared_ptr)
  // libc++ (14 and later so far) has no std::atomic<std::shared_ptr>: llvm#99980.
  EXPECT_TRUE(SnapshotCell::kLocked);
#endif
}

TEST(SnapshotCellTest, StartsEmpty) {
  const SnapshotCell cell;
  EXPECT_EQ(cell.load(), nullptr);
  EXPECT_EQ(cell.generation(), 0u);
}

TEST(SnapshotCellTest, LoadReturnsTheLastPublished) {
  SnapshotCell cell;
  const SnapshotPtr first = snapshot_at(1);
  cell.publish(first);
  EXPECT_EQ(cell.load(), first);
  EXPECT_EQ(cell.generation(), 1u);
  const SnapshotPtr second = snapshot_at(2);
  cell.publish(second);
  EXPECT_EQ(cell.load(), second);
  EXPECT_EQ(cell.generation(), 2u);
  // The replaced snapshot stays valid for whoever still holds it.
  EXPECT_EQ(first->generation(), 1u);
}

// A reader sees generations only grow, and every loaded snapshot is whole
// (its tree agrees with its generation). Run under TSan in CI.
TEST(SnapshotCellTest, ReadersSeeWholeSnapshotsInOrder) {
  constexpr std::uint64_t kPublishes = 2000;
  SnapshotCell cell;
  cell.publish(snapshot_at(1));
  std::atomic<bool> torn{false};
  std::atomic<bool> backwards{false};
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (last < kPublishes) {
      const SnapshotPtr s = cell.load();
      const Value* g = s->find(KeyPath::parse("generation").value());
      if (g == nullptr || !g->is_int() ||
          static_cast<std::uint64_t>(g->as_int()) != s->generation()) {
        torn = true;
        return;
      }
      if (s->generation() < last) {
        backwards = true;
        return;
      }
      last = s->generation();
    }
  });
  for (std::uint64_t g = 2; g <= kPublishes; ++g) {
    cell.publish(snapshot_at(g));
  }
  reader.join();
  EXPECT_FALSE(torn);
  EXPECT_FALSE(backwards);
  EXPECT_EQ(cell.load()->generation(), kPublishes);
}

}  // namespace
}  // namespace liveconf
