#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "testutil/format_probe.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {

namespace {

using testing::position;

using namespace std::string_literals;

const testing::FormatProbe probe("env", ".env");
const Format& dotenv() { return probe.format(); }

TEST(DotenvParseTest, BasicAssignments) {
  const Value v = probe.parse_ok(
      "# comment\n"
      "\n"
      "PLAIN=value\n"
      "export EXPORTED=yes\n"
      "  SPACED = around equals  \n"
      "EMPTY=\n"
      "COMMENTED=abc # a comment\n"
      "HASH=a#b\n"
      "URL=http://x/#frag\n"
      "QUOTES_INSIDE=it's \"fine\"\n"
      "dotted.key_1=ok\n"
      "export=1\n");
  EXPECT_EQ(*v.find("PLAIN"), Value("value"));
  EXPECT_EQ(*v.find("EXPORTED"), Value("yes"));
  EXPECT_EQ(*v.find("SPACED"), Value("around equals"));
  EXPECT_EQ(*v.find("EMPTY"), Value(""));
  EXPECT_EQ(*v.find("COMMENTED"), Value("abc"));
  EXPECT_EQ(*v.find("HASH"), Value("a#b"));
  EXPECT_EQ(*v.find("URL"), Value("http://x/#frag"));
  EXPECT_EQ(*v.find("QUOTES_INSIDE"), Value("it's \"fine\""));
  EXPECT_EQ(*v.find_member("dotted.key_1"), Value("ok"));
  EXPECT_EQ(*v.find("export"), Value("1"));
  EXPECT_EQ(v.size(), 10u);
  // A flat object of strings, in file order.
  EXPECT_EQ(v.as_object().entry(0).first, "PLAIN");
}

TEST(DotenvParseTest, Positions) {
  const Value v = probe.parse_ok("A=1\n  export B = two\nC=\"multi\nline\"\nD='x'\nE=\n");
  EXPECT_EQ(position(&v), "1:1");
  EXPECT_EQ(position(v.find("A")), "1:3");
  EXPECT_EQ(position(v.find("B")), "2:14");
  EXPECT_EQ(position(v.find("C")), "3:3");
  EXPECT_EQ(position(v.find("D")), "5:3");
  EXPECT_EQ(position(v.find("E")), "6:3");
  EXPECT_EQ(v.find("A")->origin().to_string(), ".env:1:3, layer \"file:.env\"");
  // The parser names the file, not a variable.
  EXPECT_EQ(v.find("A")->origin().env_var(), "");
}

TEST(DotenvParseTest, SingleQuotesAreLiteral) {
  const Value v = probe.parse_ok("A=1\nS='$A ${A} \\n \"x\"' # comment\nM='two\nlines'\n");
  EXPECT_EQ(*v.find("S"), Value("$A ${A} \\n \"x\""));
  EXPECT_EQ(*v.find("M"), Value("two\nlines"));
}

TEST(DotenvParseTest, DoubleQuotesEscapesAndMultiline) {
  const Value v = probe.parse_ok(
      "D=\"tab\\tnl\\ncr\\rq\\\"bs\\\\dollar\\$x unknown\\q\"\n"
      "M=\"first\n"
      "second\r\n"
      "third\"\n"
      "AFTER=1\n"
      "H=\"# not a comment\"\n");
  EXPECT_EQ(*v.find("D"), Value("tab\tnl\ncr\rq\"bs\\dollar$x unknown\\q"));
  EXPECT_EQ(*v.find("M"), Value("first\nsecond\nthird"));
  EXPECT_EQ(*v.find("H"), Value("# not a comment"));
  // Lines after a multi-line value keep their numbers.
  EXPECT_EQ(position(v.find("AFTER")), "5:7");
}

TEST(DotenvParseTest, ExpansionOfEarlierKeys) {
  const Value v = probe.parse_ok(
      "HOST=db\n"
      "PORT=5432\n"
      "URL=postgres://${HOST}:$PORT/app\n"
      "Q=\"${HOST}-$PORT\"\n"
      "DEF=${MISSING:-fallback}\n"
      "DASH=${MISSING-other}\n"
      "EMPTY=\n"
      "E1=${EMPTY:-used}\n"
      "E2=${EMPTY-unused}\n"
      "LONE=cost $ 5 and $\n"
      "DOTTED.K=v\n"
      "D2=${DOTTED.K}\n"
      "NOT_A_NAME=$1\n");
  EXPECT_EQ(*v.find("URL"), Value("postgres://db:5432/app"));
  EXPECT_EQ(*v.find("Q"), Value("db-5432"));
  EXPECT_EQ(*v.find("DEF"), Value("fallback"));
  EXPECT_EQ(*v.find("DASH"), Value("other"));
  EXPECT_EQ(*v.find("E1"), Value("used"));
  EXPECT_EQ(*v.find("E2"), Value(""));
  EXPECT_EQ(*v.find("LONE"), Value("cost $ 5 and $"));
  EXPECT_EQ(*v.find_member("D2"), Value("v"));
  EXPECT_EQ(*v.find("NOT_A_NAME"), Value("$1"));
}

TEST(DotenvParseTest, ExpansionSeesTheLatestEarlierValue) {
  const Value v = probe.parse_ok("A=1\nB=$A\nA=2\nC=$A\nA=${A}3\n");
  EXPECT_EQ(*v.find("B"), Value("1"));
  EXPECT_EQ(*v.find("C"), Value("2"));
  EXPECT_EQ(*v.find("A"), Value("23"));
}

TEST(DotenvParseTest, ExpansionNeverReadsTheProcessEnvironment) {
  const testing::ScopedEnv env("LIVECONF_DOTENV_TEST_VAR", "from-environment");
  EXPECT_TRUE(
      probe.parse_fails("X=${LIVECONF_DOTENV_TEST_VAR}\n", 1, 3,
                        "undefined variable \"LIVECONF_DOTENV_TEST_VAR\" (only keys defined "
                        "earlier in this file can be referenced)"));
}

TEST(DotenvParseTest, DuplicateKeysLaterWins) {
  const Value v = probe.parse_ok("A=first\nB=b\nA=second\n");
  EXPECT_EQ(*v.find("A"), Value("second"));
  EXPECT_EQ(position(v.find("A")), "3:3");
  // The key keeps its first position in the object.
  EXPECT_EQ(v.as_object().entry(0).first, "A");
  EXPECT_EQ(v.size(), 2u);
}

TEST(DotenvParseTest, ByteOrderMarkAndCrLf) {
  const Value v = probe.parse_ok(
      "\xEF\xBB\xBF"
      "A=1\r\nB=two words \r\n");
  EXPECT_EQ(*v.find("A"), Value("1"));
  EXPECT_EQ(*v.find("B"), Value("two words"));
  EXPECT_EQ(position(v.find("A")), "1:3");
}

TEST(DotenvErrorTest, Errors) {
  EXPECT_TRUE(
      probe.parse_fails("A=1\nB=${NOPE}\n", 2, 3,
                        "undefined variable \"NOPE\" (only keys defined earlier in this file can "
                        "be referenced)"));
  EXPECT_TRUE(
      probe.parse_fails("A=$LATER\nLATER=1\n", 1, 3,
                        "undefined variable \"LATER\" (only keys defined earlier in this file "
                        "can be referenced)"));
  EXPECT_TRUE(
      probe.parse_fails("A=\"x $NOPE\"\n", 1, 6,
                        "undefined variable \"NOPE\" (only keys defined earlier in this file can "
                        "be referenced)"));
  EXPECT_TRUE(probe.parse_fails("A=${B\n", 1, 3, "unterminated or malformed ${...} reference"));
  EXPECT_TRUE(probe.parse_fails("A=${}\n", 1, 3, "invalid variable reference: expected ${NAME}"));
  EXPECT_TRUE(
      probe.parse_fails("A=1\nB=${A B}\n", 2, 3, "unterminated or malformed ${...} reference"));
  EXPECT_TRUE(probe.parse_fails("1A=x\n", 1, 1,
                                "invalid key \"1A\": keys must match [A-Za-z_][A-Za-z0-9_.]*"));
  EXPECT_TRUE(probe.parse_fails("A-B=x\n", 1, 1,
                                "invalid key \"A-B\": keys must match [A-Za-z_][A-Za-z0-9_.]*"));
  EXPECT_TRUE(probe.parse_fails("A=1\nJUSTKEY\n", 2, 8, "expected '=' after JUSTKEY"));
  EXPECT_TRUE(probe.parse_fails("A B=1\n", 1, 3, "expected '=' after A"));
  EXPECT_TRUE(probe.parse_fails("=value\n", 1, 1, "expected KEY=value"));
  EXPECT_TRUE(
      probe.parse_fails("A=1\nB=\"never closed\nC=3\n", 2, 3, "unterminated double-quoted value"));
  EXPECT_TRUE(probe.parse_fails("B='never closed\n", 1, 3, "unterminated single-quoted value"));
  EXPECT_TRUE(probe.parse_fails("A=\"x\" y\n", 1, 7, "unexpected text after the closing quote"));
  EXPECT_TRUE(probe.parse_fails("A=1\nB=\xC3(\n", 2, 3, "invalid UTF-8"));
  EXPECT_TRUE(probe.parse_fails("A=1\nB=x\0\n"s, 2, 4, "unexpected NUL byte"));
}

TEST(DotenvErrorTest, EmptyDocument) {
  for (const std::string_view text : {"", "\n", "# only comments\n\n# more\n"}) {
    const Result<Value> r = dotenv().parse(text, probe.options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "empty document");
  }
  ParseOptions o = probe.options();
  o.allow_empty = true;
  EXPECT_EQ(probe.parse_ok("# nothing\n", o), Value::object());
}

TEST(DotenvLimitTest, Limits) {
  ParseOptions o = probe.options();
  o.max_nodes = 3;
  EXPECT_TRUE(dotenv().parse("A=1\nB=2\nA=3\n", o).has_value());  // a redefinition adds no node
  EXPECT_TRUE(probe.parse_fails("A=1\nB=2\nC=3\n", 3, 1, "more nodes than the limit of 3", o));
  o = probe.options();
  o.max_bytes = 3;
  const Result<Value> r = dotenv().parse("A=12", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "input is 4 bytes, over the limit of 3");
}

TEST(DotenvFormatTest, CannotEmit) {
  EXPECT_FALSE(dotenv().can_emit());
  const Result<std::string> out = dotenv().emit(Value::object(), EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(out.error().message(), "format env cannot emit");
}

}  // namespace
}  // namespace liveconf
