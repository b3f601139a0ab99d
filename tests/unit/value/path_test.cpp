#include "liveconf/path.hpp"

#include <compare>

#include <gtest/gtest.h>

#include "liveconf/status.hpp"

namespace liveconf {
namespace {

TEST(KeyPathTest, SplitsOnDotsAndHonoursEscapes) {
  KeyPath p("hosts.example\\.com.port");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[1], "example.com");
  EXPECT_EQ(p.to_string(), "hosts.example\\.com.port");
  EXPECT_EQ(KeyPath("a\\\\b").segments(), std::vector<std::string>{"a\\b"});
  EXPECT_TRUE(KeyPath("").empty());
}

TEST(KeyPathTest, RoundTripsAnySegments) {
  KeyPath p = KeyPath::from_segments({"a.b", "c\\d", "", "e"});
  EXPECT_EQ(KeyPath(p.to_string()), p);
}

// Issue 17: text is always the dotted form, whichever way it is spelled;
// literal segments need the named factory.
TEST(KeyPathTest, TextIsDottedInEverySpelling) {
  const std::vector<std::string> two{"db", "port"};
  EXPECT_EQ(KeyPath("db.port").segments(), two);
  EXPECT_EQ(KeyPath{"db.port"}.segments(), two);
  const std::string text = "db.port";
  EXPECT_EQ(KeyPath(text).segments(), two);
  EXPECT_EQ(KeyPath(std::string_view(text)).segments(), two);
  const KeyPath converted = text;  // the implicit conversion subscribe() relies on
  EXPECT_EQ(converted.segments(), two);
  const KeyPath braced = {"db.port"};
  EXPECT_EQ(braced.size(), 2u);
}

TEST(KeyPathTest, FromSegmentsTakesSegmentsLiterally) {
  const KeyPath one = KeyPath::from_segments({"db.port"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], "db.port");
  EXPECT_EQ(one.to_string(), "db\\.port");
  EXPECT_NE(one, KeyPath("db.port"));
  EXPECT_EQ(KeyPath::from_segments({"db", "port"}), KeyPath("db.port"));
  EXPECT_TRUE(KeyPath::from_segments({}).empty());
}

TEST(KeyPathTest, StrictParseRejectsMalformedPaths) {
  EXPECT_TRUE(KeyPath::parse("a.b").has_value());
  for (const char* bad : {"a..b", ".a", "a.", "a\\"}) {
    Result<KeyPath> r = KeyPath::parse(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kValidation);
  }
}

TEST(KeyPathTest, PrefixesParentsAndChildren) {
  KeyPath p("a.b.c");
  EXPECT_TRUE(p.starts_with("a.b"));
  EXPECT_TRUE(p.starts_with(KeyPath()));
  EXPECT_FALSE(p.starts_with("a.bc"));
  EXPECT_FALSE(KeyPath("a").starts_with("a.b"));
  EXPECT_EQ(p.parent(), KeyPath("a.b"));
  EXPECT_EQ(p.child("d").to_string(), "a.b.c.d");
  KeyPath q("b");
  q.push_front("a");
  EXPECT_EQ(q, KeyPath("a.b"));
}

// The hand-written operator<=> (path.hpp) orders as the defaulted one did:
// segment by segment, a path before its extensions.
TEST(KeyPathTest, OrdersSegmentBySegment) {
  EXPECT_EQ(KeyPath("a.b") <=> KeyPath("a.b"), std::strong_ordering::equal);
  EXPECT_LT(KeyPath(), KeyPath("a"));
  EXPECT_LT(KeyPath("a"), KeyPath("a.b"));
  EXPECT_LT(KeyPath("a.b"), KeyPath("a.c"));
  EXPECT_LT(KeyPath("a.z"), KeyPath("b"));
  EXPECT_LT(KeyPath("ab"), KeyPath("b.a"));
  EXPECT_GT(KeyPath("a.b.c"), KeyPath("a.b"));
  // Segments compare as std::string does: "a.b" (segments a, b) < "a\.b" (one segment "a.b")
  // because "a" < "a.b".
  EXPECT_LT(KeyPath("a.b"), KeyPath("a\\.b"));
}

}  // namespace
}  // namespace liveconf
