// detail::compile_pattern, behind FieldBuilder::pattern(): <regex> lives in
// src/bind/pattern.cpp so that no public header includes it (issue 17).
#include <regex>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "liveconf/bind.hpp"

namespace liveconf::detail {
namespace {

TEST(PatternTest, MatchesTheWholeValueOnly) {
  const PatternMatcher matches = compile_pattern("[a-z][a-z0-9-]*");
  EXPECT_TRUE(matches("api-2"));
  EXPECT_FALSE(matches("Api"));
  EXPECT_FALSE(matches("api 2"));  // a match of a prefix is not enough
  EXPECT_FALSE(matches(""));
}

TEST(PatternTest, MatchesAViewWithoutItsSurroundings) {
  const std::string text = "abc!";
  const PatternMatcher matches = compile_pattern("abc");
  EXPECT_TRUE(matches(std::string_view(text).substr(0, 3)));
  EXPECT_FALSE(matches(text));
}

TEST(PatternTest, CopiesMatchLikeTheOriginal) {
  const PatternMatcher a = compile_pattern("x+");
  const PatternMatcher b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(b("xxx"));
  EXPECT_FALSE(b("xy"));
}

TEST(PatternTest, InvalidExpressionThrowsRegexError) {
  EXPECT_THROW((void)compile_pattern("[unclosed"), std::regex_error);
}

}  // namespace
}  // namespace liveconf::detail
