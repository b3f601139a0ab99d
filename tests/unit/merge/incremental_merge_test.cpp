// IncrementalMerge against merge_layers(): random stacks, random changes, the
// same tree every time, origins and key order included; and which changes
// are patched rather than merged in full.
#include "merge/incremental_merge.hpp"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace liveconf::detail {
namespace {

// Equal as merge_layers() must give it: content, key order, and every origin.
::testing::AssertionResult same_tree(const Value& a, const Value& b, const std::string& at = "") {
  if (a.type() != b.type() || !(a.origin() == b.origin())) {
    return ::testing::AssertionFailure()
           << "at '" << at << "': " << a.to_display_string() << " [" << a.origin().to_string()
           << "] vs " << b.to_display_string() << " [" << b.origin().to_string() << "]";
  }
  if (a.is_object()) {
    const Object& x = a.as_object();
    const Object& y = b.as_object();
    if (x.size() != y.size()) {
      return ::testing::AssertionFailure() << "at '" << at << "': sizes differ";
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x.entry(i).first != y.entry(i).first) {
        return ::testing::AssertionFailure()
               << "at '" << at << "': key order " << x.entry(i).first << " vs " << y.entry(i).first;
      }
      auto r = same_tree(x.entry(i).second, y.entry(i).second, at + "." + x.entry(i).first);
      if (!r) {
        return r;
      }
    }
    return ::testing::AssertionSuccess();
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return ::testing::AssertionFailure() << "at '" << at << "': array sizes differ";
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto r = same_tree(a.as_array()[i], b.as_array()[i], at + "[" + std::to_string(i) + "]");
      if (!r) {
        return r;
      }
    }
    return ::testing::AssertionSuccess();
  }
  if (!(a == b)) {
    return ::testing::AssertionFailure()
           << "at '" << at << "': " << a.to_display_string() << " vs " << b.to_display_string();
  }
  return ::testing::AssertionSuccess();
}

class StackGen {
 public:
  explicit StackGen(unsigned seed) : rng_(seed) {}

  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  Value leaf(const Origin& o) {
    Value v;
    switch (below(4)) {
      case 0:
        v = Value(below(5));
        break;
      case 1:
        v = Value("s" + std::to_string(below(4)));
        break;
      case 2: {
        v = Value::array();
        const int n = below(3);
        for (int i = 0; i < n; ++i) {
          v.push_back(Value(below(3)));
        }
        break;
      }
      default:
        v = Value(below(2) == 0);
    }
    v.set_origin(o.at(static_cast<std::uint32_t>(1 + below(50)), 1));
    return v;
  }

  // An object whose keys come from a small alphabet, so layers overlap.
  Value tree(const Origin& o, int depth) {
    Value v = Value::object();
    v.set_origin(o.at(static_cast<std::uint32_t>(1 + below(50)), 1));
    const int n = 1 + below(4);
    for (int i = 0; i < n; ++i) {
      const std::string key = std::string(1, static_cast<char>('a' + below(6)));
      if (v.as_object().contains(key)) {
        continue;
      }
      v.as_object().insert(key, depth > 0 && below(3) == 0 ? tree(o, depth - 1) : leaf(o));
    }
    return v;
  }

  // The same top-level keys, in order, with some values redrawn.
  Value edit_values(const Value& data, const Origin& o) {
    Value out = Value::object();
    out.set_origin(o.at(static_cast<std::uint32_t>(1 + below(50)), 1));
    for (const auto& [key, value] : data.as_object()) {
      out.as_object().insert(key, below(2) == 0 ? value : (below(2) == 0 ? tree(o, 1) : leaf(o)));
    }
    return out;
  }

  std::shared_ptr<const Layer> layer(int i, int priority, Value data) {
    return std::make_shared<const Layer>(
        Layer{"l" + std::to_string(i), priority, std::move(data), std::to_string(next_++)});
  }

  Origin origin_of(int i) { return Origin::named("l" + std::to_string(i)); }

 private:
  std::mt19937 rng_;
  int next_ = 0;
};

Value reference(const std::vector<std::shared_ptr<const Layer>>& stack,
                const MergePolicies& policies) {
  std::vector<const Layer*> ptrs;
  for (const auto& l : stack) {
    ptrs.push_back(l.get());
  }
  return merge_layers(std::span<const Layer* const>(ptrs), policies);
}

TEST(IncrementalMergeTest, RandomChangesGiveWhatAFullMergeGives) {
  MergePolicies policies;
  policies.set(KeyPath("a.*"), MergePolicy{MergeStrategy::kAppend, ""});
  policies.set(KeyPath("b"), MergePolicy{MergeStrategy::kUnion, ""});
  int patched = 0;
  int full = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    StackGen g(seed);
    std::vector<std::shared_ptr<const Layer>> stack;
    const int n = 1 + g.below(12);
    for (int i = 0; i < n; ++i) {
      stack.push_back(
          g.layer(i, g.below(3), g.below(8) == 0 ? Value() : g.tree(g.origin_of(i), 2)));
    }
    IncrementalMerge inc;
    for (int step = 0; step < 40; ++step) {
      if (g.below(8) == 0) {  // a source added last, on top of the stack
        const int n_now = static_cast<int>(stack.size());
        stack.push_back(
            g.layer(n_now, 2, g.below(6) == 0 ? Value() : g.tree(g.origin_of(n_now), 2)));
        const Value got = inc.merge(stack, policies);
        (inc.last_was_patch() ? patched : full) += 1;
        ASSERT_TRUE(same_tree(got, reference(stack, policies)))
            << "seed " << seed << " step " << step << " (added on top)";
        continue;
      }
      const int i = g.below(static_cast<int>(stack.size()));
      const Layer& was = *stack[static_cast<std::size_t>(i)];
      Value data;
      int priority = was.priority;
      switch (g.below(10)) {
        case 0:
          data = g.tree(g.origin_of(i), 2);  // new keys
          break;
        case 1:
          data = Value();  // the layer's source went missing
          break;
        case 2:
          priority = g.below(3);  // moves in the stack
          data = was.data;
          break;
        default:  // the common edit: same keys, values change
          data = was.data.is_object() ? g.edit_values(was.data, g.origin_of(i))
                                      : g.tree(g.origin_of(i), 2);
      }
      stack[static_cast<std::size_t>(i)] = std::make_shared<const Layer>(
          Layer{was.name, priority, std::move(data), was.version + "'"});
      if (g.below(3) == 0) {  // a second layer changes in the same batch
        const int j = g.below(static_cast<int>(stack.size()));
        const Layer& other = *stack[static_cast<std::size_t>(j)];
        if (other.data.is_object()) {
          stack[static_cast<std::size_t>(j)] = std::make_shared<const Layer>(
              Layer{other.name, other.priority, g.edit_values(other.data, g.origin_of(j)), "x"});
        }
      }
      const Value got = inc.merge(stack, policies);
      (inc.last_was_patch() ? patched : full) += 1;
      ASSERT_TRUE(same_tree(got, reference(stack, policies)))
          << "seed " << seed << " step " << step << (inc.last_was_patch() ? " (patched)" : "");
    }
  }
  // Both paths were exercised, the patch often.
  EXPECT_GT(patched, 600);
  EXPECT_GT(full, 200);
}

TEST(IncrementalMergeTest, OneChangedLayerAmongManyIsPatched) {
  StackGen g(7);
  std::vector<std::shared_ptr<const Layer>> stack;
  for (int i = 0; i < 1000; ++i) {
    Value v = Value::object();
    v.set("k" + std::to_string(i), Value(i));
    v.set("shared.n", Value(i));  // every layer also sets shared.n
    stack.push_back(g.layer(i, 0, std::move(v)));
  }
  const MergePolicies none;
  IncrementalMerge inc;
  std::vector<std::shared_ptr<const Layer>> half(stack.begin(), stack.begin() + 500);
  EXPECT_TRUE(same_tree(inc.merge(half, none), reference(half, none)));
  EXPECT_FALSE(inc.last_was_patch());
  const Value first = inc.merge(stack, none);  // the other half added on top
  EXPECT_TRUE(inc.last_was_patch());
  EXPECT_TRUE(same_tree(first, reference(stack, none)));
  Value edited = stack[500]->data;
  edited.set("k500", Value(-1));
  stack[500] = g.layer(500, 0, std::move(edited));
  const Value second = inc.merge(stack, none);
  EXPECT_TRUE(inc.last_was_patch());
  EXPECT_EQ(second.find(KeyPath("k500"))->as_int(), -1);
  EXPECT_EQ(second.find(KeyPath("shared.n"))->as_int(), 999);
  EXPECT_EQ(first.find(KeyPath("k500"))->as_int(), 500) << "the earlier result was changed";
  EXPECT_TRUE(same_tree(second, reference(stack, none)));

  // A new key in the changed layer: merged in full.
  Value grown = stack[10]->data;
  grown.set("extra", Value(1));
  stack[10] = g.layer(10, 0, std::move(grown));
  EXPECT_TRUE(same_tree(inc.merge(stack, none), reference(stack, none)));
  EXPECT_FALSE(inc.last_was_patch());
}

// A patch copies the previous result's root (it is shared with the snapshot
// that published it) unless the result before that is held by nothing else
// any more: then that root is brought up to date and patched in place. Results
// someone still holds never change.
TEST(IncrementalMergeTest, APatchReusesTheRootBeforeTheLastWhenNothingElseHoldsIt) {
  StackGen g(11);
  std::vector<std::shared_ptr<const Layer>> stack;
  for (int i = 0; i < 100; ++i) {
    Value v = Value::object();
    v.set("k" + std::to_string(i), Value(i));
    stack.push_back(g.layer(i, 0, std::move(v)));
  }
  const MergePolicies none;
  IncrementalMerge inc;
  auto edit = [&](int i, int value) {
    Value v = Value::object();
    v.set("k" + std::to_string(i), Value(value));
    stack[static_cast<std::size_t>(i)] = g.layer(i, 0, std::move(v));
  };
  auto body = [](const Value& v) { return reinterpret_cast<std::uintptr_t>(&v.as_object()); };
  std::vector<std::uintptr_t> bodies;
  bodies.push_back(body(inc.merge(stack, none)));  // full merge; the result is dropped
  for (int step = 1; step <= 6; ++step) {
    edit(step * 7, -step);
    const Value got = inc.merge(stack, none);
    ASSERT_TRUE(inc.last_was_patch());
    ASSERT_TRUE(same_tree(got, reference(stack, none))) << "step " << step;
    bodies.push_back(body(got));
  }
  // Steps 2..6 each patched the root of two steps before (step 1 had none:
  // the full merge's root was still the last result).
  for (std::size_t k = 2; k < bodies.size(); ++k) {
    EXPECT_EQ(bodies[k], bodies[k - 2]) << "step " << k << " copied the root";
  }

  // Results that are held stay as they were, through patches that would
  // otherwise reuse them.
  std::vector<std::pair<Value, std::string>> held;
  for (int step = 0; step < 6; ++step) {
    edit(step * 13 % 100, 1000 + step);
    edit(step * 29 % 100, 2000 + step);  // two layers in one batch
    Value got = inc.merge(stack, none);
    ASSERT_TRUE(same_tree(got, reference(stack, none))) << "held step " << step;
    std::string text = got.to_display_string();
    held.emplace_back(std::move(got), std::move(text));
    if (step % 2 == 1) {
      held.erase(held.begin());  // let one go now and then: its root may be reused
    }
    for (const auto& [value, text_then] : held) {
      EXPECT_EQ(value.to_display_string(), text_then) << "a held result changed at step " << step;
    }
  }
}

// Sources added one at a time on top (a directory per add_source at
// start-up): each is folded into a root of our own, the root before the last
// brought up to date when nothing holds it, instead of a copy of the last
// root. Keys new to the stack and keys already in it, at the top level and
// deeper, all come out as a full merge gives them, in its order.
TEST(IncrementalMergeTest, LayersAddedOnTopReuseTheRootBeforeTheLast) {
  StackGen g(23);
  std::vector<std::shared_ptr<const Layer>> stack;
  auto layer_on_top = [&](int i) {
    Value v = Value::object();
    v.set("own" + std::to_string(i), Value(i));
    v.set("shared.by" + std::to_string(i % 3), Value(i));  // an object every few layers reach into
    v.set("last", Value(i));                               // a key every layer sets
    if (i % 5 == 0) {
      v = Value();  // a source that is missing
    }
    stack.push_back(g.layer(i, 0, std::move(v)));
  };
  const MergePolicies none;
  IncrementalMerge inc;
  auto body = [](const Value& v) { return reinterpret_cast<std::uintptr_t>(&v.as_object()); };
  layer_on_top(1);
  std::vector<std::uintptr_t> bodies;
  bodies.push_back(body(inc.merge(stack, none)));  // full merge; the result is dropped
  for (int i = 2; i <= 40; ++i) {
    layer_on_top(i);
    const Value got = inc.merge(stack, none);
    ASSERT_TRUE(inc.last_was_patch()) << i;
    ASSERT_TRUE(same_tree(got, reference(stack, none))) << "layer " << i;
    bodies.push_back(body(got));
  }
  // From the third add on (the first merge's root is layer 1's own body,
  // which the layer still holds, so the second add copies it).
  for (std::size_t k = 3; k < bodies.size(); ++k) {
    EXPECT_EQ(bodies[k], bodies[k - 2]) << "adding layer " << k + 1 << " copied the root";
  }

  // Held results never change, while later adds and patches reuse what is let go.
  std::vector<std::pair<Value, std::string>> held;
  for (int i = 41; i <= 60; ++i) {
    if (i % 4 == 0) {  // a patch between the adds: layer i-1's value of "last"
      Value edited = stack.back()->data;
      if (edited.is_object()) {
        edited.set("last", Value(-i));
        stack.back() = g.layer(i - 1, 0, std::move(edited));
      }
    } else {
      layer_on_top(i);
    }
    Value got = inc.merge(stack, none);
    ASSERT_TRUE(same_tree(got, reference(stack, none))) << "step " << i;
    std::string text = got.to_display_string();
    held.emplace_back(std::move(got), std::move(text));
    if (i % 3 == 0) {
      held.erase(held.begin());
    }
    for (const auto& [value, text_then] : held) {
      EXPECT_EQ(value.to_display_string(), text_then) << "a held result changed at step " << i;
    }
  }
}

}  // namespace
}  // namespace liveconf::detail
