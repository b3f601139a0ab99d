#include "liveconf/merge.hpp"

#include <gtest/gtest.h>

namespace liveconf {
namespace {

Value tree_from(std::initializer_list<std::pair<const char*, Value>> items, const char* source) {
  Value v = Value::object();
  for (const auto& [path, value] : items) {
    v.set(path, value);
  }
  v.set_origin_recursive(Origin::named(source));
  return v;
}

TEST(MergeTest, HigherPriorityWinsAndObjectsDeepMerge) {
  std::vector<Layer> layers = {
      {"base", 0, tree_from({{"db.host", "a"}, {"db.port", 1}, {"x", true}}, "base"), "1"},
      {"top", 10, tree_from({{"db.port", 2}, {"y", "new"}}, "top"), "1"},
  };
  Value m = merge_layers(layers, {});
  EXPECT_EQ(m.find("db.host")->as_string(), "a");
  EXPECT_EQ(m.find("db.port")->as_int(), 2);
  EXPECT_EQ(m.find("db.port")->origin().source(), "top");
  EXPECT_EQ(m.find("db.host")->origin().source(), "base");
  EXPECT_TRUE(m.find("x")->as_bool());
  EXPECT_EQ(m.find("y")->as_string(), "new");
}

TEST(MergeTest, OrderInTheListDoesNotMatterOnlyPriority) {
  std::vector<Layer> layers = {
      {"top", 10, tree_from({{"k", 2}}, "top"), "1"},
      {"base", 0, tree_from({{"k", 1}}, "base"), "1"},
  };
  EXPECT_EQ(merge_layers(layers, {}).find("k")->as_int(), 2);
  // Equal priorities: the later layer wins.
  layers[1].priority = 10;
  EXPECT_EQ(merge_layers(layers, {}).find("k")->as_int(), 1);
}

TEST(MergeTest, ArraysAreReplacedWholeByDefault) {
  Value low = Value::object();
  low["list"] = Value(Value::Array{1, 2, 3});
  Value high = Value::object();
  high["list"] = Value(Value::Array{9});
  std::vector<Layer> layers = {{"low", 0, low, ""}, {"high", 1, high, ""}};
  EXPECT_EQ(merge_layers(layers, {}).find("list")->to_display_string(), "[9]");
}

TEST(MergeTest, AppendUnionAndMergeByKeyPolicies) {
  Value low = Value::object();
  low["a"] = Value(Value::Array{1, 2});
  low["u"] = Value(Value::Array{1, 2});
  Value r1 = Value::object();
  r1["name"] = "api";
  r1["port"] = 80;
  Value r2 = Value::object();
  r2["name"] = "web";
  r2["port"] = 81;
  low["routes"] = Value(Value::Array{r1, r2});
  Value high = Value::object();
  high["a"] = Value(Value::Array{2, 3});
  high["u"] = Value(Value::Array{2, 3});
  Value r1b = Value::object();
  r1b["name"] = "api";
  r1b["port"] = 8080;
  Value r3 = Value::object();
  r3["name"] = "admin";
  high["routes"] = Value(Value::Array{r1b, r3});
  MergePolicies policies;
  policies.set("a", {MergeStrategy::kAppend, ""});
  policies.set("u", {MergeStrategy::kUnion, ""});
  policies.set("routes", {MergeStrategy::kMergeByKey, "name"});
  std::vector<Layer> layers = {{"low", 0, low, ""}, {"high", 1, high, ""}};
  Value m = merge_layers(layers, policies);
  EXPECT_EQ(m.find("a")->to_display_string(), "[1,2,2,3]");
  EXPECT_EQ(m.find("u")->to_display_string(), "[1,2,3]");
  EXPECT_EQ(m.find("routes")->to_display_string(),
            R"([{"name":"api","port":8080},{"name":"web","port":81},{"name":"admin"}])");
}

TEST(MergeTest, WildcardPoliciesMatchAnyElement) {
  MergePolicies policies;
  policies.set("routes.*.hosts", {MergeStrategy::kUnion, ""});
  EXPECT_NE(policies.find("routes.3.hosts"), nullptr);
  EXPECT_EQ(policies.find("routes.3.other"), nullptr);
  EXPECT_TRUE(path_matches("a.*", "a.b"));
  EXPECT_FALSE(path_matches("a.*", "a.b.c"));
}

TEST(MergeTest, ScalarReplacesObjectAndNullLayerContributesNothing) {
  std::vector<Layer> layers = {
      {"base", 0, tree_from({{"db.port", 1}, {"keep.me", 2}}, "base"), ""},
      {"nothing", 5, Value(), ""},
      {"top", 10, tree_from({{"db", "flat"}}, "top"), ""},
  };
  Value m = merge_layers(layers, {});
  EXPECT_EQ(m.find("db")->as_string(), "flat");
  // The null layer between them wiped nothing: base's other keys survive,
  // from base.
  ASSERT_NE(m.find("keep.me"), nullptr) << "a null layer wiped the layers below it";
  EXPECT_EQ(m.find("keep.me")->as_int(), 2);
  EXPECT_EQ(m.find("keep.me")->origin().source(), "base");
  // A null layer on top of everything wipes nothing either.
  layers.push_back({"null-top", 20, Value(), ""});
  Value m2 = merge_layers(layers, {});
  EXPECT_EQ(m2, m);
  EXPECT_TRUE(merge_layers(std::span<const Layer>(), {}).is_object());
}

TEST(MergeTest, ExplainListsEveryLayerAndTheWinner) {
  auto file = std::make_shared<OriginInfo>();
  file->source = "file:app.yaml";
  file->file = "app.yaml";
  Value fv = Value::object();
  fv["port"] = 8080;
  fv.find_mutable("port")->set_origin(Origin(file, 3, 7));
  std::vector<Layer> layers = {
      {"defaults", 0, tree_from({{"port", 80}}, "defaults"), "d"},
      {"file:app.yaml", 10, fv, "h1"},
      {"env:APP", 20, tree_from({{"other", 1}}, "env:APP"), "e"},
  };
  std::vector<const Layer*> ptrs = {&layers[0], &layers[1], &layers[2]};
  Value merged = merge_layers(std::span<const Layer* const>(ptrs), {});
  Explanation e = explain(ptrs, merged, "port");
  ASSERT_TRUE(e.effective.has_value());
  EXPECT_EQ(e.effective->as_int(), 8080);
  ASSERT_EQ(e.layers.size(), 2u);
  EXPECT_EQ(e.layers[0].layer, "file:app.yaml");
  EXPECT_TRUE(e.layers[0].winner);
  EXPECT_FALSE(e.layers[1].winner);
  const std::string text = e.to_string();
  EXPECT_NE(text.find("port = 8080"), std::string::npos) << text;
  EXPECT_NE(text.find("* file:app.yaml (priority 10): 8080  [app.yaml:3:7]"), std::string::npos)
      << text;
  Explanation none = explain(ptrs, merged, "missing");
  EXPECT_FALSE(none.effective.has_value());
  EXPECT_TRUE(none.layers.empty());
  Explanation masked = explain(ptrs, merged, "port", true);
  EXPECT_EQ(masked.effective->as_string(), "***");
  EXPECT_EQ(masked.to_string().find("8080"), std::string::npos);
}

}  // namespace
}  // namespace liveconf
