// Trees whose bodies live in a parser's arena (value/tree_building.hpp):
// they are copied before any write, a copy or a moved-out container never
// points into the arena, any subtree keeps the arena alive after its tree is
// gone, and the tree may die on another thread. The ASan stage checks every
// free (and that a failed parse leaks nothing); the TSan stage the threads.
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/value.hpp"

#include "value/tree_building.hpp"

namespace liveconf {
namespace {

Value parse_json(const std::string& text) {
  ParseOptions options;
  options.origin = make_file_origin("file:arena.json", "arena.json");
  auto parsed = find_format("json")->parse(text, options);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().to_string());
  return parsed.ok() ? std::move(parsed).value() : Value();
}

const std::string kLong = "a string longer than the fourteen bytes kept in a node";

std::string sample_document() {
  return R"({"a": {"b": [1, 2, ")" + kLong + R"("], "c": true}, "name": ")" + kLong + R"("})";
}

TEST(ArenaTest, AParsedContainerIsCopiedOnItsFirstWriteEvenWithOneHolder) {
  Value root = parse_json(sample_document());
  const Value before = root;
  // Sole holder or not, a body in the arena is not written in place.
  EXPECT_FALSE(root.owns_body_alone());
  root["x"] = 1;
  root["a"]["b"].push_back(Value(kLong + " too"));
  EXPECT_TRUE(root.owns_body_alone());  // now a heap copy, this Value's alone
  EXPECT_EQ(before.find_member("x"), nullptr);
  EXPECT_EQ(before.find("a.b")->size(), 3U);
  EXPECT_EQ(root.find("a.b")->size(), 4U);
  EXPECT_EQ(root.find("a.b.2")->as_string(), kLong);
  EXPECT_EQ(root.find("a.b.2")->origin().line(), 1U);  // origins travel with the copy

  Value alone = parse_json(sample_document());
  alone.as_object().insert_or_assign("name", Value("short"));
  EXPECT_EQ(alone.find_member("name")->as_string(), "short");
  EXPECT_EQ(before.find_member("name")->as_string(), kLong);
}

TEST(ArenaTest, ASubtreeKeepsTheArenaAliveAfterItsTreeIsGone) {
  Value sub;
  Value name;
  {
    const Value root = parse_json(sample_document());
    sub = *root.find("a.b");
    name = *root.find_member("name");
  }
  ASSERT_EQ(sub.size(), 3U);
  EXPECT_EQ(sub.as_array()[0].as_int(), 1);
  EXPECT_EQ(sub.as_array()[2].as_string(), kLong);
  EXPECT_EQ(name.as_string(), kLong);
  EXPECT_EQ(name.origin().file(), "arena.json");
}

TEST(ArenaTest, OriginsTakenOutOfATreeOutliveItAndItsArena) {
  // A leaf in the arena (a long string) keeps the arena alive; an Origin
  // taken out keeps only its OriginInfo.
  Value leaf;
  Origin where;
  Value root = parse_json(sample_document());
  const std::weak_ptr<const OriginInfo> info = root.origin().info();
  EXPECT_EQ(root.find("a.c")->origin_info(), info.lock().get());
  leaf = *root.find("a.b.2");
  where = root.find("a.c")->origin();
  root = Value();
  EXPECT_EQ(leaf.as_string(), kLong);
  EXPECT_EQ(leaf.origin().file(), "arena.json");
  EXPECT_EQ(leaf.origin().column(), 20U);
  EXPECT_EQ(where.source(), "file:arena.json");
  EXPECT_EQ(where.line(), 1U);
  EXPECT_FALSE(info.expired());  // held by the leaf and the Origin taken out
  leaf = Value();
  where = Origin();
  EXPECT_TRUE(info.expired());  // and by nothing else
}

TEST(ArenaTest, AContainerMovedOutOfAParsedTreeOwnsItsMembers) {
  Object moved;
  Value::Array elements;
  {
    Value root = parse_json(sample_document());
    elements = std::move(root.find_mutable("a.b")->as_array());
    moved = std::move(root.as_object());
    // The tree's own containers are gone before the moved ones are used.
  }
  ASSERT_EQ(moved.size(), 2U);
  EXPECT_EQ(moved.find("name")->as_string(), kLong);
  EXPECT_EQ(moved.find("a")->find("b")->size(), 0U);  // its elements were moved out
  moved.insert_or_assign("more", Value(kLong));       // grows on the heap
  EXPECT_EQ(moved.size(), 3U);
  ASSERT_EQ(elements.size(), 3U);
  elements.push_back(Value(4));
  EXPECT_EQ(elements[2].as_string(), kLong);
  EXPECT_EQ(elements[3].as_int(), 4);
}

TEST(ArenaTest, LargeContainersAndLongStringsOfAnArenaTreeMatchAHeapTree) {
  // Past detail::Arena::kMaxPiece: vector buffers and strings that go to the
  // heap while their container is in the arena.
  std::string text = R"({"ints": [)";
  Value heap = Value::object();
  Value::Array ints;
  for (int i = 0; i < 2000; ++i) {
    text += (i > 0 ? "," : "") + std::to_string(i);
    ints.push_back(Value(i));
  }
  heap["ints"] = Value(std::move(ints));
  const std::string huge(10000, 'h');
  text += R"(], "huge": ")" + huge + R"(", "members": {)";
  Value& members = heap["members"];
  members = Value::object();
  for (int i = 0; i < 500; ++i) {
    const std::string key = "member_" + std::to_string(i);
    text += (i > 0 ? ", \"" : "\"") + key + "\": \"" + kLong + "\"";
    members[key] = Value(kLong);
  }
  text += "}}";
  heap["huge"] = Value(huge);
  const Value parsed = parse_json(text);
  EXPECT_EQ(parsed, heap);
  EXPECT_EQ(parsed.find("members.member_499")->as_string(), kLong);
  EXPECT_EQ(parsed.find("ints.1999")->as_int(), 1999);
  Value copy = parsed;
  copy["members"]["member_0"] = Value(1);
  EXPECT_EQ(parsed.find("members.member_0")->as_string(), kLong);
}

TEST(ArenaTest, AFailedParseLetsGoOfEverythingItBuilt) {
  // A duplicate key deep inside: the partial tree (containers and long strings
  // in the arena) is destroyed; the ASan stage's leak check fails on a leak.
  ParseOptions options;
  auto parsed = find_format("json")->parse(
      R"({"a": [1, {"s": ")" + kLong + R"("}], "b": {"k": 1, "k": 2}})", options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("duplicate key \"k\""), std::string::npos);
}

TEST(ArenaTest, ATreeMayDieOnAnotherThreadWhileASubtreeIsRead) {
  for (int round = 0; round < 20; ++round) {
    Value root = parse_json(sample_document());
    const Value sub = *root.find("a");
    std::thread other([tree = std::move(root)]() mutable {
      EXPECT_EQ(tree.find("a.b.2")->as_string(), kLong);
      tree = Value();  // its last holder on this thread for everything but "a"
    });
    EXPECT_EQ(sub.find("b.2")->as_string(), kLong);
    other.join();
    EXPECT_TRUE(sub.find("c")->as_bool());
  }
}

TEST(ArenaTest, AMergeOfParsedLayersWritesNoLayer) {
  const std::vector<Layer> layers = {
      {"low", 1, parse_json(R"({"a": {"x": 1, "list": [1]}, "s": ")" + kLong + R"("})"), "1"},
      {"high", 2, parse_json(R"({"a": {"y": 2}, "t": ")" + kLong + R"("})"), "1"}};
  const Value low = layers[0].data;
  const Value high = layers[1].data;
  Value merged = merge_layers(layers, {});
  EXPECT_EQ(merged.find("a.x")->as_int(), 1);
  EXPECT_EQ(merged.find("a.y")->as_int(), 2);
  merged["a"]["x"] = 5;
  merged["a"]["list"].push_back(Value(2));
  EXPECT_EQ(layers[0].data.find("a.x")->as_int(), 1);
  EXPECT_EQ(layers[0].data.find("a.list")->size(), 1U);
  EXPECT_EQ(layers[0].data, low);
  EXPECT_EQ(layers[1].data, high);
}

TEST(ArenaTest, TheBuilderFillsContainersInPlaceAndKeepsOrigins) {
  Value root;
  root.set_origin(Origin::named("built"));
  {
    detail::ArenaHold arena(64);
    Object& members = detail::TreeBuilding::make_object(root, arena.get());
    Value* list = members.try_emplace("list").first;
    Value::Array& elements = detail::TreeBuilding::make_array(*list, arena.get());
    for (int i = 0; i < 100; ++i) {  // past the first block: more blocks
      detail::TreeBuilding::set_string(elements.emplace_back(), arena.get(),
                                       kLong + std::to_string(i));
    }
  }
  EXPECT_EQ(root.origin().source(), "built");
  ASSERT_EQ(root.find("list")->size(), 100U);
  EXPECT_EQ(root.find("list.99")->as_string(), kLong + "99");
  EXPECT_FALSE(root.owns_body_alone());
}

}  // namespace
}  // namespace liveconf
