#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "testutil/format_probe.hpp"

namespace liveconf {

namespace {

using testing::position;

using namespace std::string_literals;

const testing::FormatProbe probe("ini", "app.ini");
const Format& ini() { return probe.format(); }

TEST(IniParseTest, SectionsKeysAndComments) {
  const Value v = probe.parse_ok(
      "; leading comment\n"
      "# another\n"
      "name = top level\n"
      "\n"
      "[server]\n"
      "port = 8080\n"
      "host: example.com\n"
      "  indented   =   spaced out   \n"
      "empty =\n"
      "\n"
      "[server.tls]\n"
      "cert = a.pem ; inline comment\n"
      "key = b.pem # also a comment\n"
      "url = http://x/#frag\n"
      "semi = a;b\n"
      "[other section]\n"
      "k = v\n");
  EXPECT_EQ(*v.find("name"), Value("top level"));
  // Every value is a string; typing happens at bind time.
  EXPECT_EQ(*v.find("server.port"), Value("8080"));
  EXPECT_EQ(*v.find("server.host"), Value("example.com"));
  EXPECT_EQ(*v.find("server.indented"), Value("spaced out"));
  EXPECT_EQ(*v.find("server.empty"), Value(""));
  EXPECT_EQ(*v.find("server.tls.cert"), Value("a.pem"));
  EXPECT_EQ(*v.find("server.tls.key"), Value("b.pem"));
  EXPECT_EQ(*v.find("server.tls.url"), Value("http://x/#frag"));
  EXPECT_EQ(*v.find("server.tls.semi"), Value("a;b"));
  EXPECT_EQ(*v.find_member("other section")->find_member("k"), Value("v"));
  const Object& top = v.as_object();
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top.entry(0).first, "name");
  EXPECT_EQ(top.entry(1).first, "server");
}

TEST(IniParseTest, Positions) {
  const Value v = probe.parse_ok(
      "a = 1\n"
      "[s]\n"
      "  key   =   value\n"
      "q = \"quoted\"\n"
      "e =\n"
      "[x.y]\n");
  EXPECT_EQ(position(&v), "1:1");
  EXPECT_EQ(position(v.find("a")), "1:5");
  EXPECT_EQ(position(v.find("s")), "2:1");
  EXPECT_EQ(position(v.find("s.key")), "3:13");
  EXPECT_EQ(position(v.find("s.q")), "4:5");
  EXPECT_EQ(position(v.find("s.e")), "5:4");
  EXPECT_EQ(position(v.find("x")), "6:1");
  EXPECT_EQ(position(v.find("x.y")), "6:1");
  EXPECT_EQ(v.find("s.key")->origin().to_string(), "app.ini:3:13, layer \"file:app.ini\"");
}

TEST(IniParseTest, QuotedValues) {
  const Value v = probe.parse_ok(
      "a = \"with \\\"escapes\\\" \\\\ \\n \\t \\r\"\n"
      "b = 'literal \\n \"double\"'\n"
      "c = \"  keeps spaces  \"  ; comment\n"
      "d = \"# not a comment ;\"\n"
      "e = \"\"\n"
      "f = \"x\";c\n");
  EXPECT_EQ(*v.find("a"), Value("with \"escapes\" \\ \n \t \r"));
  EXPECT_EQ(*v.find("b"), Value("literal \\n \"double\""));
  EXPECT_EQ(*v.find("c"), Value("  keeps spaces  "));
  EXPECT_EQ(*v.find("d"), Value("# not a comment ;"));
  EXPECT_EQ(*v.find("e"), Value(""));
  EXPECT_EQ(*v.find("f"), Value("x"));
}

TEST(IniParseTest, FirstSeparatorEndsTheKey) {
  const Value v = probe.parse_ok("a = b = c\nurl: http://h:80/\nt = x: y\n");
  EXPECT_EQ(*v.find("a"), Value("b = c"));
  EXPECT_EQ(*v.find("url"), Value("http://h:80/"));
  EXPECT_EQ(*v.find("t"), Value("x: y"));
}

TEST(IniParseTest, DotsInKeysAreLiteral) {
  const Value v = probe.parse_ok("[s]\na.b = 1\n");
  EXPECT_EQ(*v.find_member("s")->find_member("a.b"), Value("1"));
}

TEST(IniParseTest, LongLinesAreKeptIntact) {
  // libinih as packaged truncates lines at 200 bytes; this parser must not.
  const std::string long_value(5000, 'v');
  const std::string long_key(300, 'k');
  const Value v = probe.parse_ok("[s]\n" + long_key + " = " + long_value + "\nafter = 1\n");
  const Value* got = v.find_member("s")->find_member(long_key);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->as_string(), long_value);
  EXPECT_EQ(position(got), "2:304");
  EXPECT_EQ(*v.find("s.after"), Value("1"));
}

TEST(IniParseTest, ReopenedSectionsMerge) {
  const Value v = probe.parse_ok("[a]\nx = 1\n[b]\ny = 2\n[a]\nz = 3\n[a.sub]\nw = 4\n");
  EXPECT_EQ(v.find("a")->size(), 3u);
  EXPECT_EQ(*v.find("a.z"), Value("3"));
  EXPECT_EQ(*v.find("a.sub.w"), Value("4"));
}

TEST(IniParseTest, ByteOrderMarkAndCrLf) {
  const Value v = probe.parse_ok("\xEF\xBB\xBFkey = v\r\n[s]\r\nx = \"q\"\r\n");
  EXPECT_EQ(*v.find("key"), Value("v"));
  EXPECT_EQ(position(v.find("key")), "1:7");
  EXPECT_EQ(*v.find("s.x"), Value("q"));
}

TEST(IniParseTest, SectionHeaderWithComment) {
  const Value v = probe.parse_ok("[ spaced . name ] ; comment\nk = v\n");
  EXPECT_EQ(*v.find("spaced.name.k"), Value("v"));
}

TEST(IniErrorTest, DuplicatesAndClashes) {
  EXPECT_TRUE(probe.parse_fails("[s]\nk = 1\n  k = 2\n", 3, 3, "duplicate key \"k\""));
  EXPECT_TRUE(probe.parse_fails("k = 1\nk = 2\n", 2, 1, "duplicate key \"k\""));
  EXPECT_TRUE(
      probe.parse_fails("[a]\nb = 1\n[a.b]\n", 3, 1, "section [a.b] clashes with the key \"b\""));
  EXPECT_TRUE(probe.parse_fails("s = 1\n[s]\n", 2, 1, "section [s] clashes with the key \"s\""));
  EXPECT_TRUE(
      probe.parse_fails("[a.b]\n[a]\nb = 1\n", 3, 1, "key \"b\" clashes with the section [a.b]"));
  EXPECT_TRUE(probe.parse_fails("[a]\nx = 1\n[a]\nx = 2\n", 4, 1, "duplicate key \"x\""));
}

TEST(IniErrorTest, MalformedLines) {
  EXPECT_TRUE(probe.parse_fails("[s]\n  just some words\n", 2, 3,
                                "expected 'key = value', '[section]' or a comment"));
  EXPECT_TRUE(probe.parse_fails("[s\n", 1, 1, "missing ']' in section header"));
  EXPECT_TRUE(probe.parse_fails("[s] x\n", 1, 5, "unexpected text after section header"));
  EXPECT_TRUE(probe.parse_fails("[ ]\n", 1, 1, "empty section name"));
  EXPECT_TRUE(probe.parse_fails("[a..b]\n", 1, 1, "empty part in section name \"a..b\""));
  EXPECT_TRUE(probe.parse_fails("[.a]\n", 1, 1, "empty part in section name \".a\""));
  EXPECT_TRUE(probe.parse_fails(" = v\n", 1, 2, "empty key"));
  EXPECT_TRUE(probe.parse_fails("k = \"open\n", 1, 5, "unterminated quoted value"));
  EXPECT_TRUE(probe.parse_fails("k = 'open\n", 1, 5, "unterminated quoted value"));
  EXPECT_TRUE(probe.parse_fails("k = \"a\\qb\"\n", 1, 7, "invalid escape \\q in quoted value"));
  EXPECT_TRUE(probe.parse_fails("k = \"a\" b\n", 1, 9, "unexpected text after quoted value"));
  const Result<Value> r = ini().parse("[s]\nbad line\n", probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(
      r.error().to_string(),
      "expected 'key = value', '[section]' or a comment (app.ini:2:1, layer \"file:app.ini\")");
}

TEST(IniErrorTest, BadBytes) {
  EXPECT_TRUE(probe.parse_fails("a = 1\nb = x\xFFy\n", 2, 6, "invalid UTF-8"));
  EXPECT_TRUE(probe.parse_fails("a = 1\nb = x\0y\n"s, 2, 6, "unexpected NUL byte"));
}

TEST(IniErrorTest, EmptyDocument) {
  for (const std::string_view text : {"", "\n\n", "; only\n# comments\n", "   \n"}) {
    const Result<Value> r = ini().parse(text, probe.options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "empty document");
  }
  ParseOptions o = probe.options();
  o.allow_empty = true;
  EXPECT_EQ(probe.parse_ok("; nothing\n", o), Value::object());
  EXPECT_EQ(probe.parse_ok("[empty]\n").find("empty")->size(), 0u);
}

TEST(IniLimitTest, Limits) {
  ParseOptions o = probe.options();
  o.max_depth = 3;
  EXPECT_TRUE(ini().parse("[a.b]\n", o).has_value());
  EXPECT_TRUE(probe.parse_fails("k = v\n[a.b.c]\n", 2, 1, "nesting deeper than the limit of 3", o));

  o = probe.options();
  o.max_nodes = 3;
  EXPECT_TRUE(ini().parse("a = 1\nb = 2\n", o).has_value());
  EXPECT_TRUE(
      probe.parse_fails("a = 1\nb = 2\nc = 3\n", 3, 1, "more nodes than the limit of 3", o));
  EXPECT_TRUE(probe.parse_fails("a = 1\n[s.t]\n", 2, 1, "more nodes than the limit of 3", o));

  o = probe.options();
  o.max_bytes = 4;
  const Result<Value> r = ini().parse("a = 1", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "input is 5 bytes, over the limit of 4");
}

TEST(IniFormatTest, CannotEmit) {
  EXPECT_FALSE(ini().can_emit());
  const Result<std::string> out = ini().emit(Value::object(), EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(out.error().message(), "format ini cannot emit");
}

}  // namespace
}  // namespace liveconf
