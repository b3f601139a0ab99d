#include "liveconf/value.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

namespace liveconf {
namespace {

TEST(ValueTest, ScalarsKeepTheirTypes) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_EQ(Value(42).as_int(), 42);
  EXPECT_EQ(Value(std::int64_t{-7}).type(), Value::Type::kInt);
  EXPECT_DOUBLE_EQ(Value(1.5).as_double(), 1.5);
  EXPECT_DOUBLE_EQ(Value(3).as_double(), 3.0);
  EXPECT_EQ(Value("text").as_string(), "text");
  EXPECT_EQ(Value(1).type_name(), "integer");
  EXPECT_EQ(Value(1.0).type_name(), "float");
}

TEST(ValueTest, ObjectKeepsInsertionOrder) {
  Value v = Value::object();
  v["zeta"] = 1;
  v["alpha"] = 2;
  v["mid"] = 3;
  std::vector<std::string> keys;
  for (const auto& [k, val] : v.as_object()) {
    keys.push_back(k);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(v.to_display_string(), R"({"zeta":1,"alpha":2,"mid":3})");
}

TEST(ValueTest, LargeObjectsUseTheIndexAndStayCorrect) {
  Value v = Value::object();
  for (int i = 0; i < 1000; ++i) {
    v["k" + std::to_string(i)] = i;
  }
  for (int i = 0; i < 1000; ++i) {
    const Value* found = v.find_member("k" + std::to_string(i));
    ASSERT_NE(found, nullptr) << i;
    EXPECT_EQ(found->as_int(), i);
  }
  EXPECT_EQ(v.find_member("k1000"), nullptr);
  EXPECT_TRUE(v.as_object().erase("k500"));
  EXPECT_EQ(v.find_member("k500"), nullptr);
  EXPECT_EQ(v.find_member("k999")->as_int(), 999);
  Value copy = v;  // the copy carries a working index
  EXPECT_EQ(copy.find_member("k998")->as_int(), 998);
  EXPECT_EQ(copy, v);
}

TEST(ValueTest, TryEmplaceAddsNullOnceAndReserveKeepsLookupsRight) {
  for (std::size_t n : {5U, 13U, 40U, 1000U}) {  // below and above the index threshold
    Object obj;
    obj.reserve(3);  // too small on purpose: later inserts must still index
    for (std::size_t i = 0; i < n; ++i) {
      obj.reserve(obj.size() + 1);  // as a merge does before each layer
      auto [slot, added] = obj.try_emplace("k" + std::to_string(i));
      ASSERT_TRUE(added);
      EXPECT_TRUE(slot->is_null());
      *slot = Value(static_cast<std::int64_t>(i));
    }
    obj.reserve(4 * n);
    auto [again, added_again] = obj.try_emplace("k0");
    EXPECT_FALSE(added_again) << n;
    EXPECT_EQ(again->as_int(), 0);
    ASSERT_EQ(obj.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const Value* v = obj.find("k" + std::to_string(i));
      ASSERT_NE(v, nullptr) << i << " of " << n;
      EXPECT_EQ(v->as_int(), static_cast<std::int64_t>(i));
      EXPECT_EQ(obj.entry(i).first, "k" + std::to_string(i));  // insertion order
    }
    EXPECT_EQ(obj.find("absent"), nullptr);
  }
}

// A copy made with room (what merge_layers makes of the first layer's root)
// equals the original, finds every key, and takes the promised members
// without moving its entries again.
TEST(ValueTest, ACopyWithRoomEqualsTheOriginalAndGrowsInPlace) {
  for (std::size_t n : {3U, 12U, 13U, 40U, 1000U}) {  // around the index threshold
    Object original;
    for (std::size_t i = 0; i < n; ++i) {
      original.insert("k" + std::to_string(i), Value(static_cast<std::int64_t>(i)));
    }
    for (std::size_t room : {std::size_t{0}, n, n + 1, 3 * n + 20}) {
      Object copy(original, room);
      ASSERT_EQ(copy, original) << n << " " << room;
      ASSERT_EQ(copy.size(), n);
      const Object::Entry* first = &copy.entry(0);
      for (std::size_t i = n; i < room; ++i) {
        ASSERT_TRUE(copy.try_emplace("k" + std::to_string(i)).second);
      }
      EXPECT_EQ(&copy.entry(0), first) << "the entries moved: " << n << " " << room;
      for (std::size_t i = 0; i < std::max(room, n); ++i) {
        ASSERT_NE(copy.find("k" + std::to_string(i)), nullptr) << i << " of " << n << " " << room;
        EXPECT_EQ(copy.entry(i).first, "k" + std::to_string(i));
      }
      EXPECT_EQ(copy.find("absent"), nullptr);
      EXPECT_EQ(original.size(), n) << "the original changed";
    }
  }
}

// Every Object operation against std::map, over random keys and sizes that
// cross the index threshold and its growth many times: the index (hashes kept
// in its slots, re-placed on growth, rebuilt after an erase) must answer every
// lookup as the map does, and insertion order must hold.
TEST(ValueTest, ObjectMatchesAMapUnderRandomOperations) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 40; ++round) {
    Object obj;
    std::map<std::string, std::int64_t> model;
    std::vector<std::string> order;  // keys in insertion order
    const std::uint32_t key_space = 1 + static_cast<std::uint32_t>(rng() % 3000);
    const auto key = [&] { return "key/" + std::to_string(rng() % key_space); };
    for (int step = 0; step < 2000; ++step) {
      const std::int64_t value = step;
      const std::string k = key();
      switch (rng() % 8) {
        case 0:
        case 1: {
          const bool fresh = !model.contains(k);
          auto [slot, inserted] = obj.insert(k, Value(value));
          ASSERT_EQ(inserted, fresh) << k;
          if (fresh) {
            model[k] = value;
            order.push_back(k);
          }
          ASSERT_EQ(slot->as_int(), model[k]);
          break;
        }
        case 2: {
          obj.prefetch(k);
          auto [slot, added] = obj.try_emplace(k);
          ASSERT_EQ(added, !model.contains(k)) << k;
          if (added) {
            order.push_back(k);
          }
          *slot = Value(value);
          model[k] = value;
          break;
        }
        case 3: {  // the merge's forms: hashed once (or only if indexed), copied in place
          std::pair<Value*, bool> emplaced;
          if (rng() % 2 == 0) {
            const Object::HashedKey hk = Object::hashed(k);
            obj.prefetch(hk);
            emplaced = obj.try_emplace(hk, Value(value));
          } else {
            emplaced = obj.try_emplace(std::string_view(k), Value(value));
          }
          auto [slot, added] = emplaced;
          ASSERT_EQ(added, !model.contains(k)) << k;
          if (added) {
            order.push_back(k);
            model[k] = value;
          }
          ASSERT_EQ(slot->as_int(), model[k]) << k;  // an existing member is left as it was
          break;
        }
        case 4:
          obj.insert_or_assign(k, Value(value));
          if (!model.contains(k)) {
            order.push_back(k);
          }
          model[k] = value;
          break;
        case 5:
          ASSERT_EQ(obj.erase(k), model.erase(k) == 1) << k;
          std::erase(order, k);
          break;
        case 6:
          obj.reserve(obj.size() + rng() % 200);
          break;
        default:
          if (rng() % 8 == 0) {
            obj = rng() % 2 == 0 ? Object(obj) : Object(obj, obj.size() + rng() % 500);
          }
          break;
      }
      const std::string probe = key();
      const Value* found = obj.find(probe);
      const auto it = model.find(probe);
      ASSERT_EQ(found != nullptr, it != model.end()) << probe << " at step " << step;
      if (found != nullptr) {
        ASSERT_EQ(found->as_int(), it->second) << probe;
      }
    }
    ASSERT_EQ(obj.size(), model.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      ASSERT_EQ(obj.entry(i).first, order[i]) << i;
      ASSERT_EQ(obj.find(order[i])->as_int(), model[order[i]]);
    }
  }
}

TEST(ValueTest, InsertDoesNotOverwriteButInsertOrAssignDoes) {
  Object o;
  EXPECT_TRUE(o.insert("a", 1).second);
  auto [existing, inserted] = o.insert("a", 2);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(existing->as_int(), 1);
  o.insert_or_assign("a", 3);
  EXPECT_EQ(o.find("a")->as_int(), 3);
  EXPECT_EQ(o.size(), 1u);
}

TEST(ValueTest, PathLookupWalksObjectsAndArrays) {
  Value v = Value::object();
  v.set("server.hosts", Value::array());
  v.find_mutable("server.hosts")->push_back("a");
  v.find_mutable("server.hosts")->push_back("b");
  v.set("server.port", 8080);
  EXPECT_EQ(v.find("server.port")->as_int(), 8080);
  EXPECT_EQ(v.find("server.hosts.1")->as_string(), "b");
  EXPECT_EQ(v.find("server.hosts.2"), nullptr);
  EXPECT_EQ(v.find("server.hosts.x"), nullptr);
  EXPECT_EQ(v.find("server.port.deeper"), nullptr);
  EXPECT_EQ(v.find(KeyPath()), &v);
  EXPECT_TRUE(v.erase("server.port"));
  EXPECT_FALSE(v.erase("server.port"));
}

TEST(ValueTest, KeysWithDotsAreReachableThroughEscapes) {
  Value v = Value::object();
  v["hosts"]["example.com"] = 1;
  EXPECT_EQ(v.find("hosts.example\\.com")->as_int(), 1);
  EXPECT_EQ(v.find(KeyPath::from_segments({"hosts", "example.com"}))->as_int(), 1);
}

TEST(ValueTest, EqualityIgnoresOriginsAndKeyOrderButNotNumericType) {
  Value a = Value::object();
  a["x"] = 1;
  a["y"] = "s";
  Value b = Value::object();
  b["y"] = "s";
  b["x"] = 1;
  b.set_origin(Origin::named("elsewhere"));
  EXPECT_EQ(a, b);
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value("1"), Value(1));
}

TEST(ValueTest, OriginsDescribeWhereAValueCameFrom) {
  auto info = std::make_shared<OriginInfo>();
  info->source = "file:/etc/app.yaml";
  info->file = "/etc/app.yaml";
  Value v(8080);
  v.set_origin(Origin(info, 12, 9));
  EXPECT_EQ(v.origin().to_string(), "/etc/app.yaml:12:9, layer \"file:/etc/app.yaml\"");
  auto env = std::make_shared<OriginInfo>();
  env->source = "env:APP";
  env->env_var = "APP__PORT";
  EXPECT_EQ(Origin(env).to_string(), "$APP__PORT, layer \"env:APP\"");
  auto remote = std::make_shared<OriginInfo>();
  remote->source = "etcd:/app/";
  remote->remote_key = "/app/port";
  remote->revision = 42;
  EXPECT_EQ(Origin(remote).location(), "/app/port@42");
  EXPECT_EQ(Origin().to_string(), "");
}

TEST(ValueTest, DisplayStringEscapesAndFormatsNumbers) {
  Value v = Value::array();
  v.push_back("a\"b\n");
  v.push_back(2.0);
  v.push_back(0.1);
  v.push_back(nullptr);
  v.push_back(false);
  EXPECT_EQ(v.to_display_string(), R"(["a\"b\n",2.0,0.1,null,false])");
  EXPECT_EQ(v.node_count(), 6u);
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

TEST(ValueTest, CopiesShareContainersUntilOneIsWritten) {
  Value a = Value::object();
  a.set("db.port", 1);
  a.set("list", Value(Value::Array{1, 2}));
  Value b = a;
  EXPECT_TRUE(a.shares_body_with(b));
  b.set("db.port", 2);
  b.find_mutable("list")->push_back(3);
  EXPECT_EQ(a.find("db.port")->as_int(), 1);
  EXPECT_EQ(a.find("list")->to_display_string(), "[1,2]");
  EXPECT_EQ(b.find("db.port")->as_int(), 2);
  EXPECT_FALSE(a.shares_body_with(b));
  EXPECT_NE(a, b);
  Value c = a;
  EXPECT_EQ(c, a);  // shared bodies compare equal without a walk
  EXPECT_FALSE(Value(1).shares_body_with(Value(1)));
}

// The node keeps strings of up to 14 bytes in place and longer ones in a
// shared body: both kinds survive copies, moves, assignment from their own
// subtree and the death of the original (ASan checks the frees).
TEST(ValueTest, StringsInPlaceAndInBodiesSurviveCopiesMovesAndSelfAssignment) {
  for (const std::size_t n : {0UL, 1UL, 13UL, 14UL, 15UL, 16UL, 100UL, 5000UL}) {
    std::string text(n, 'x');
    for (std::size_t i = 0; i < n; ++i) {
      text[i] = static_cast<char>('a' + i % 26);
    }
    auto original = std::make_unique<Value>(text);
    original->set_origin(Origin::named("here").at(3, 4));
    Value copy = *original;
    Value moved = Value(*original);
    Value taken = std::move(moved);
    EXPECT_TRUE(moved.is_null());  // NOLINT(bugprone-use-after-move): moved-from is null
    original.reset();
    EXPECT_EQ(copy.as_string(), text) << n;
    EXPECT_EQ(taken.as_string(), text) << n;
    EXPECT_EQ(copy, taken);
    EXPECT_EQ(copy.origin().line(), 3U);
    EXPECT_EQ(copy.origin().column(), 4U);
    const Value& same = copy;
    copy = same;  // self-assignment keeps the value
    EXPECT_EQ(copy.as_string(), text) << n;
    EXPECT_NE(copy, Value(text + "!"));
  }
  // Assigning a member of this node's own body to the node.
  Value tree = Value::object();
  tree["inner"]["name"] = std::string(40, 'n');
  tree = tree["inner"];
  EXPECT_EQ(tree.find_member("name")->as_string(), std::string(40, 'n'));
  tree = std::move(tree["name"]);
  EXPECT_EQ(tree.as_string(), std::string(40, 'n'));
}

TEST(ValueTest, TheWrongAccessorThrowsAndAContainerMadeFromNullKeepsItsOrigin) {
  EXPECT_THROW((void)Value(1).as_string(), std::bad_variant_access);
  EXPECT_THROW((void)Value("x").as_int(), std::bad_variant_access);
  EXPECT_THROW((void)Value().as_object(), std::bad_variant_access);
  EXPECT_THROW((void)Value(true).as_array(), std::bad_variant_access);
  EXPECT_DOUBLE_EQ(Value(2).as_double(), 2.0);
  Value v;
  v.set_origin(Origin::named("layer").at(7, 1));
  v["a"] = 1;
  EXPECT_EQ(v.origin().line(), 7U);
  Value list;
  list.set_origin(Origin::named("layer").at(8, 2));
  list.push_back(1);
  EXPECT_EQ(list.origin().column(), 2U);
  EXPECT_EQ(list.size(), 1U);
}

TEST(ValueTest, ABodyIsOwnedAloneOnceTheOtherHoldersAreGone) {
  Value a = Value::object();
  a["k"] = 1;
  EXPECT_TRUE(a.owns_body_alone());
  {
    const Value b = a;
    EXPECT_FALSE(a.owns_body_alone());
    EXPECT_FALSE(b.owns_body_alone());
  }
  EXPECT_TRUE(a.owns_body_alone());
  EXPECT_FALSE(Value(std::string(30, 's')).owns_body_alone());  // strings are not containers
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

TEST(ValueCopyOnWriteTest, WritesThroughFindMutableNeverReachTheOriginal) {
  // Regression (path_fuzz): erase on a copy removed the key from the original.
  Value a = Value::object();
  a.set("x.y", Value(1));
  a.set("list", Value(Value::Array{Value(1), Value(Value::object())}));
  Value b = a;
  EXPECT_TRUE(b.erase("x.y"));
  EXPECT_NE(a.find("x.y"), nullptr);
  *b.find_mutable("list.0") = Value(2);
  EXPECT_EQ(a.find("list.0")->as_int(), 1);
  EXPECT_EQ(b.find("list.0")->as_int(), 2);
  EXPECT_EQ(b.find_mutable("nope.deeper"), nullptr);
}

}  // namespace
}  // namespace liveconf
