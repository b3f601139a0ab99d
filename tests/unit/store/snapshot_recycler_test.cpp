// SnapshotRecycler: a snapshot it made gives its layer list back when the
// last holder lets it go, and the next copy is written over that list; a
// snapshot still held keeps its own.
#include "store/snapshot_recycler.hpp"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace liveconf::detail {
namespace {

std::vector<std::shared_ptr<const Layer>> stack_of(int n, const std::string& tag) {
  std::vector<std::shared_ptr<const Layer>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_shared<const Layer>(
        Layer{"l" + std::to_string(i), 0, Value(tag + std::to_string(i)), tag}));
  }
  return out;
}

SnapshotPtr snapshot_of(const std::shared_ptr<SnapshotRecycler>& recycler,
                        std::vector<std::shared_ptr<const Layer>> layers) {
  Snapshot::Parts parts;
  parts.config_name = "recycled";
  parts.tree = Value::object();
  parts.layers = std::move(layers);
  return SnapshotRecycler::make(recycler, std::move(parts));
}

TEST(SnapshotRecyclerTest, TheNextCopyIsWrittenOverTheListOfASnapshotLetGo) {
  auto recycler = std::make_shared<SnapshotRecycler>();
  const auto live = stack_of(100, "a");
  SnapshotPtr first = snapshot_of(recycler, recycler->copy_of(live));
  const std::shared_ptr<const Layer>* first_list = first->layers().data();
  ASSERT_EQ(first->layers().size(), 100u);
  first.reset();  // gives its list back

  auto changed = live;
  changed[42] = std::make_shared<const Layer>(Layer{"l42", 0, Value("new"), "b"});
  std::vector<std::shared_ptr<const Layer>> next = recycler->copy_of(changed);
  EXPECT_EQ(next.data(), first_list) << "the list given back was not reused";
  ASSERT_EQ(next.size(), changed.size());
  for (std::size_t i = 0; i < next.size(); ++i) {
    EXPECT_EQ(next[i], changed[i]) << i;
  }
  EXPECT_EQ(live[42].use_count(), 1) << "the replaced layer is still held by the reused list";
}

TEST(SnapshotRecyclerTest, AHeldSnapshotKeepsItsListAndOnlyOneListIsKept) {
  auto recycler = std::make_shared<SnapshotRecycler>();
  const auto a = stack_of(10, "a");
  const auto b = stack_of(12, "b");
  SnapshotPtr held = snapshot_of(recycler, recycler->copy_of(a));
  SnapshotPtr gone1 = snapshot_of(recycler, recycler->copy_of(b));
  SnapshotPtr gone2 = snapshot_of(recycler, recycler->copy_of(b));
  gone1.reset();
  gone2.reset();  // the recycler already has a list: this one is destroyed
  EXPECT_EQ(b[0].use_count(), 2) << "more than one list was kept";
  const auto next = recycler->copy_of(a);  // 12 given back, 10 wanted
  ASSERT_EQ(next.size(), 10u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(next[i], a[i]);
    EXPECT_EQ(held->layers()[i], a[i]) << "a held snapshot's list changed";
  }
  EXPECT_EQ(b[0].use_count(), 1);
}

// Snapshots let go on other threads (readers, the dispatcher) while the
// update thread copies: the list changes hands under the recycler's lock.
TEST(SnapshotRecyclerTest, SnapshotsLetGoOnOtherThreadsWhileCopying) {
  auto recycler = std::make_shared<SnapshotRecycler>();
  const auto live = stack_of(50, "a");
  for (int round = 0; round < 200; ++round) {
    SnapshotPtr s = snapshot_of(recycler, recycler->copy_of(live));
    std::thread reader([s = std::move(s)]() mutable {
      EXPECT_EQ(s->layers().size(), 50u);
      s.reset();
    });
    const auto copy = recycler->copy_of(live);
    EXPECT_EQ(copy.size(), live.size());
    reader.join();
  }
  // Outliving the recycler is fine: the list is then simply destroyed.
  SnapshotPtr last = snapshot_of(recycler, recycler->copy_of(live));
  recycler.reset();
  last.reset();
  EXPECT_EQ(live[0].use_count(), 1);
}

}  // namespace
}  // namespace liveconf::detail
