#include "liveconf/diff.hpp"

#include <random>
#include <string>

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

// A small random tree over few keys, so two of them overlap and a path
// often leads through both, or into an array, a scalar or nothing.
class TreeGen {
 public:
  explicit TreeGen(unsigned seed) : rng_(seed) {}
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string key() { return std::string(1, static_cast<char>('a' + below(3))); }

  Value tree(int depth) {
    Value v;
    const int kind = depth == 0 ? 3 + below(3) : below(6);
    if (kind <= 2) {
      v = Value::object();
      const int n = below(4);  // sometimes empty: a leaf of its own
      for (int i = 0; i < n; ++i) {
        v.as_object().insert_or_assign(key(), tree(depth - 1));
      }
    } else if (kind == 3) {
      v = Value(Value::Array{below(2), below(2)});
    } else if (kind == 4) {
      v = Value(below(3));
    } else {
      v = Value("s" + std::to_string(below(2)));
    }
    v.set_origin(Origin::named("layer" + std::to_string(below(2))));
    return v;
  }
  // `v` with a few members replaced, removed or added somewhere inside.
  Value mutate(Value v, int depth) {
    if (!v.is_object() || depth == 0 || below(4) == 0) {
      return below(2) == 0 ? v : tree(depth);
    }
    Object& obj = v.as_object();
    const std::string k = key();
    if (below(5) == 0) {
      obj.erase(k);
    } else if (Value* member = obj.find(k); member != nullptr) {
      *member = mutate(*member, depth - 1);
    } else {
      obj.insert_or_assign(k, tree(depth - 1));
    }
    return v;
  }
  KeyPath path() {
    KeyPath p;
    const int n = 1 + below(3);
    for (int i = 0; i < n; ++i) {
      p.push_back(below(6) == 0 ? std::to_string(below(2)) : key());
    }
    return p;
  }

 private:
  std::mt19937 rng_;
};

::testing::AssertionResult same_changes(const ChangeSet& x, const ChangeSet& y) {
  if (x.size() != y.size()) {
    return ::testing::AssertionFailure() << x.size() << " changes vs " << y.size();
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    const Change& a = x[i];
    const Change& b = y[i];
    if (a.path != b.path || a.old_value != b.old_value || a.new_value != b.new_value ||
        a.old_source != b.old_source || a.new_source != b.new_source ||
        a.sensitive != b.sensitive || a.restart_required != b.restart_required) {
      return ::testing::AssertionFailure()
             << "change " << i << ": " << a.to_string() << " vs " << b.to_string();
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(DiffTest, UnderGivesWhatFilterKeepsFromTheFullDiff) {
  SensitivePaths sensitive;
  sensitive.add("b.*");
  std::size_t nonempty = 0;
  for (unsigned seed = 1; seed <= 3000; ++seed) {
    TreeGen gen(seed);
    const Value a = gen.tree(3);
    const Value b = gen.below(8) == 0 ? gen.tree(3) : gen.mutate(a, 3);
    const KeyPath under = gen.path();
    DiffOptions full_options;
    full_options.sensitive = &sensitive;
    const ChangeSet full = diff(a, b, full_options);
    DiffOptions options = full_options;
    options.under = &under;
    const ChangeSet restricted = diff(a, b, options);
    ASSERT_TRUE(same_changes(restricted, full.filter(under)))
        << "seed " << seed << " under " << under.to_string() << "\n"
        << a.to_display_string() << "\n"
        << b.to_display_string();
    nonempty += restricted.empty() ? 0 : 1;
  }
  EXPECT_GT(nonempty, 300u);  // the paths do lead to changes, often
}

}  // namespace
}  // namespace liveconf
