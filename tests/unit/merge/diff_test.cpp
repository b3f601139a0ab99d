#include "liveconf/diff.hpp"

#include <gtest/gtest.h>

namespace liveconf {
namespace {

Value sample() {
  Value v = Value::object();
  v.set("timeout", 30);
  v.set("db.host", "a");
  v.set("db.port", 5432);
  v.set("list", Value(Value::Array{1, 2}));
  v.set("secret.token", "hunter2");
  return v;
}

TEST(DiffTest, IdenticalTreesHaveNoChanges) { EXPECT_TRUE(diff(sample(), sample()).empty()); }

TEST(DiffTest, ReportsLeafChangesWithSources) {
  Value a = sample();
  Value b = sample();
  b.set("timeout", 60);
  b.find_mutable("timeout")->set_origin(Origin::named("override"));
  b.set("list", Value(Value::Array{1, 2, 3}));
  b.erase("db.host");
  b.set("db.ssl", true);
  ChangeSet c = diff(a, b);
  ASSERT_EQ(c.size(), 4u);
  const Change* t = c.find("timeout");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->old_value->as_int(), 30);
  EXPECT_EQ(t->new_value->as_int(), 60);
  EXPECT_EQ(t->new_source, "override");
  EXPECT_EQ(t->to_string(), "timeout: 30 -> 60");
  EXPECT_FALSE(c.find("db.host")->new_value.has_value());
  EXPECT_FALSE(c.find("db.ssl")->old_value.has_value());
  EXPECT_EQ(c.find("db.ssl")->to_string(), "db.ssl: (absent) -> true");
  EXPECT_EQ(c.find("list")->new_value->to_display_string(), "[1,2,3]");
}

TEST(DiffTest, ObjectsAppearingOrVanishingReportTheirLeaves) {
  Value a = Value::object();
  Value b = Value::object();
  b.set("db.host", "x");
  b.set("db.port", 1);
  ChangeSet c = diff(a, b);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(c.find("db.port"), nullptr);
  ChangeSet back = diff(b, a);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_FALSE(back.find("db.host")->new_value.has_value());
}

TEST(DiffTest, SecretsShowAsChangedButNeverTheirValues) {
  Value a = sample();
  Value b = sample();
  b.set("secret.token", "correct-horse");
  SensitivePaths sensitive;
  sensitive.add("secret");
  DiffOptions opts;
  opts.sensitive = &sensitive;
  ChangeSet c = diff(a, b, opts);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].sensitive);
  const std::string text = c[0].to_string();
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(text.find("correct-horse"), std::string::npos);
  EXPECT_EQ(text, "secret.token: \"***\" -> \"***\" (secret changed)");
}

TEST(DiffTest, MaskSensitiveKeepsShapeAndHidesScalars) {
  Value v = sample();
  v.set("users.alice.password", "pw1");
  v.set("users.bob.password", "pw2");
  v.set("users.bob.name", "Bob");
  SensitivePaths sensitive;
  sensitive.add("users.*.password");
  sensitive.add("secret");
  mask_sensitive(v, sensitive);
  EXPECT_EQ(v.find("users.alice.password")->as_string(), "***");
  EXPECT_EQ(v.find("users.bob.name")->as_string(), "Bob");
  EXPECT_EQ(v.find("secret.token")->as_string(), "***");
  EXPECT_EQ(v.find("timeout")->as_int(), 30);
  EXPECT_TRUE(sensitive.matches("users.carol.password"));
  EXPECT_TRUE(sensitive.covers_descendant("users"));
  EXPECT_FALSE(sensitive.matches("users.carol.name"));
}

TEST(DiffTest, TouchesAndFilterSelectByPrefixInBothDirections) {
  Value a = sample();
  Value b = sample();
  b.set("db.port", 1);
  b.set("timeout", 1);
  ChangeSet c = diff(a, b);
  EXPECT_TRUE(c.touches("db"));
  EXPECT_TRUE(c.touches("db.port"));
  EXPECT_TRUE(c.touches(KeyPath()));
  EXPECT_FALSE(c.touches("list"));
  EXPECT_EQ(c.filter("db").size(), 1u);
  Value flat = sample();
  flat.set("db", "gone");
  // "db.port" subscribers hear about "db" being replaced wholesale.
  EXPECT_TRUE(diff(a, flat).touches("db.port"));
}

}  // namespace
}  // namespace liveconf
