#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "testutil/format_probe.hpp"

namespace liveconf {

namespace {

using namespace std::string_literals;

const testing::FormatProbe probe("yaml", "app.yaml");
const Format& yaml() { return probe.format(); }

// The value of `key` in a one-line document "key: <scalar>".
Value scalar(std::string_view text) {
  const Value doc = probe.parse_ok("v: " + std::string(text));
  const Value* v = doc.find_member("v");
  return v != nullptr ? *v : Value("<missing>");
}

// ---- core schema ----------------------------------------------------------------

TEST(YamlScalarTest, NullForms) {
  for (const char* text : {"", "~", "null", "Null", "NULL"}) {
    EXPECT_TRUE(scalar(text).is_null()) << text;
  }
  EXPECT_EQ(scalar("nULL"), Value("nULL"));
}

TEST(YamlScalarTest, BoolForms) {
  for (const char* text : {"true", "True", "TRUE"}) {
    EXPECT_EQ(scalar(text), Value(true)) << text;
  }
  for (const char* text : {"false", "False", "FALSE"}) {
    EXPECT_EQ(scalar(text), Value(false)) << text;
  }
  // YAML 1.1 booleans are plain strings under the 1.2 core schema.
  for (const char* text : {"yes", "no", "on", "off", "y", "n", "tRUE"}) {
    EXPECT_EQ(scalar(text), Value(text)) << text;
  }
}

TEST(YamlScalarTest, Integers) {
  EXPECT_EQ(scalar("0"), Value(0));
  EXPECT_EQ(scalar("42"), Value(42));
  EXPECT_EQ(scalar("-17"), Value(-17));
  EXPECT_EQ(scalar("+17"), Value(17));
  EXPECT_EQ(scalar("007"), Value(7));
  EXPECT_EQ(scalar("0o17"), Value(15));
  EXPECT_EQ(scalar("0x1F"), Value(31));
  EXPECT_EQ(scalar("0xff"), Value(255));
  EXPECT_EQ(scalar("9223372036854775807"), Value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(scalar("-9223372036854775808"), Value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(scalar("0x7FFFFFFFFFFFFFFF"), Value(std::numeric_limits<std::int64_t>::max()));
  // Out of range decimal integers become doubles, like JSON's.
  const Value big = scalar("9223372036854775808");
  ASSERT_TRUE(big.is_double());
  EXPECT_DOUBLE_EQ(big.as_double(), 9223372036854775808.0);
  // YAML 1.1 forms are strings.
  EXPECT_EQ(scalar("0b101"), Value("0b101"));
  EXPECT_EQ(scalar("1_000"), Value("1_000"));
  EXPECT_EQ(scalar("12:30"), Value("12:30"));
  EXPECT_EQ(scalar("0o18"), Value("0o18"));
  EXPECT_EQ(scalar("0x"), Value("0x"));
  EXPECT_EQ(scalar("-0x1F"), Value("-0x1F"));
}

TEST(YamlScalarTest, HexOrOctalOutOfRangeIsAnError) {
  EXPECT_TRUE(probe.parse_fails("v: 0x8000000000000000", 1, 4,
                                "integer 0x8000000000000000 is out of the 64-bit range"));
  EXPECT_TRUE(probe.parse_fails("a: 1\nv: 0o7777777777777777777777", 2, 4,
                                "integer 0o7777777777777777777777 is out of the 64-bit range"));
}

TEST(YamlScalarTest, Floats) {
  EXPECT_EQ(scalar("1.5"), Value(1.5));
  EXPECT_EQ(scalar("-2e3"), Value(-2000.0));
  EXPECT_EQ(scalar("1E-2"), Value(0.01));
  EXPECT_EQ(scalar(".5"), Value(0.5));
  EXPECT_EQ(scalar("+.5"), Value(0.5));
  EXPECT_EQ(scalar("1."), Value(1.0));
  EXPECT_EQ(scalar("1e3"), Value(1000.0));
  EXPECT_EQ(scalar(".inf"), Value(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(scalar("-.Inf"), Value(-std::numeric_limits<double>::infinity()));
  EXPECT_EQ(scalar("+.INF"), Value(std::numeric_limits<double>::infinity()));
  const Value nan = scalar(".nan");
  ASSERT_TRUE(nan.is_double());
  EXPECT_TRUE(std::isnan(nan.as_double()));
  EXPECT_TRUE(std::isnan(scalar(".NaN").as_double()));
  EXPECT_EQ(scalar("1e-400"), Value(0.0));
  // Not floats under the core schema.
  for (const char* text : {"1.2.3", "inf", "nan", "-.nan", "1e", "e3", ".", "1,5", "1.5x"}) {
    EXPECT_EQ(scalar(text), Value(text)) << text;
  }
  EXPECT_TRUE(probe.parse_fails("v: 1e999", 1, 4, "number 1e999 is out of the range of a double"));
}

TEST(YamlScalarTest, QuotedAndBlockScalarsAreStrings) {
  const Value v = probe.parse_ok(
      "a: '123'\n"
      "b: \"true\"\n"
      "c: ''\n"
      "d: |\n"
      "  42\n"
      "e: >\n"
      "  null\n"
      "f: \"esc\\t\\u00e9\\n\"\n"
      "g: 'it''s'\n");
  EXPECT_EQ(*v.find("a"), Value("123"));
  EXPECT_EQ(*v.find("b"), Value("true"));
  EXPECT_EQ(*v.find("c"), Value(""));
  EXPECT_EQ(*v.find("d"), Value("42\n"));
  EXPECT_EQ(*v.find("e"), Value("null\n"));
  EXPECT_EQ(*v.find("f"), Value("esc\t\xC3\xA9\n"));
  EXPECT_EQ(*v.find("g"), Value("it's"));
}

TEST(YamlScalarTest, PlainStrings) {
  EXPECT_EQ(scalar("hello world"), Value("hello world"));
  EXPECT_EQ(scalar("2001-12-14"), Value("2001-12-14"));
  EXPECT_EQ(scalar("caf\xC3\xA9"), Value("caf\xC3\xA9"));
  EXPECT_EQ(scalar("http://x/#frag"), Value("http://x/#frag"));
  EXPECT_EQ(scalar("a # comment"), Value("a"));
}

TEST(YamlScalarTest, ExplicitTags) {
  EXPECT_EQ(scalar("!!str 123"), Value("123"));
  EXPECT_EQ(scalar("!!str true"), Value("true"));
  EXPECT_EQ(scalar("!!str"), Value(""));
  EXPECT_EQ(scalar("!!int \"42\""), Value(42));
  EXPECT_EQ(scalar("!!int 0x10"), Value(16));
  EXPECT_EQ(scalar("!!float 1"), Value(1.0));
  EXPECT_EQ(scalar("!!float '2.5'"), Value(2.5));
  EXPECT_EQ(scalar("!!bool 'true'"), Value(true));
  EXPECT_EQ(scalar("!!null ''"), Value());
  EXPECT_EQ(scalar("!<tag:yaml.org,2002:int> 7"), Value(7));
  // The non-specific tag and unknown tags leave the text a string.
  EXPECT_EQ(scalar("! 12"), Value("12"));
  EXPECT_EQ(scalar("!custom 12"), Value("12"));
  EXPECT_EQ(scalar("!!timestamp 2001-12-14"), Value("2001-12-14"));
  EXPECT_TRUE(
      probe.parse_fails("v: !!int abc", 1, 4, "value \"abc\" does not match its tag !!int"));
  EXPECT_TRUE(
      probe.parse_fails("v: !!int 1.5", 1, 4, "value \"1.5\" does not match its tag !!int"));
  EXPECT_TRUE(
      probe.parse_fails("v: !!float x", 1, 4, "value \"x\" does not match its tag !!float"));
  EXPECT_TRUE(
      probe.parse_fails("v: !!bool yes", 1, 4, "value \"yes\" does not match its tag !!bool"));
  EXPECT_TRUE(probe.parse_fails("v: !!null 0", 1, 4, "value \"0\" does not match its tag !!null"));
  EXPECT_TRUE(probe.parse_fails("v: !!int 99999999999999999999", 1, 4,
                                "integer 99999999999999999999 is out of the 64-bit range"));
  EXPECT_TRUE(probe.parse_fails("v: !!map x", 1, 4, "tag !!map cannot apply to a scalar"));
  EXPECT_TRUE(probe.parse_fails("v: !!str {a: 1}", 1, 4, "tag !!str cannot apply to a mapping"));
  EXPECT_TRUE(probe.parse_fails("v: !!map [1]", 1, 4, "tag !!map cannot apply to a sequence"));
  EXPECT_EQ(probe.parse_ok("v: !!map {a: 1}").find("v.a")->as_int(), 1);
  EXPECT_EQ(probe.parse_ok("v: !!seq [1]").find("v.0")->as_int(), 1);
}

// ---- structure and positions ----------------------------------------------------------

TEST(YamlParseTest, NestedDocument) {
  const Value v = probe.parse_ok(
      "server:\n"
      "  host: example.com\n"
      "  ports: [80, 443]\n"
      "  tls:\n"
      "    - cert: a.pem\n"
      "      key: \"k\"\n"
      "name: app\n"
      "empty_map: {}\n"
      "empty_list: []\n"
      "nothing:\n");
  EXPECT_EQ(v.find("server.host")->as_string(), "example.com");
  EXPECT_EQ(v.find("server.ports.1")->as_int(), 443);
  EXPECT_EQ(v.find("server.tls.0.key")->as_string(), "k");
  EXPECT_EQ(v.find("name")->as_string(), "app");
  EXPECT_TRUE(v.find("empty_map")->is_object());
  EXPECT_TRUE(v.find("empty_list")->is_array());
  EXPECT_TRUE(v.find("nothing")->is_null());
  const Object& top = v.as_object();
  EXPECT_EQ(top.entry(0).first, "server");
  EXPECT_EQ(top.entry(1).first, "name");

  const auto at = [&](const char* path) {
    const Value* n = v.find(path);
    return n == nullptr
               ? std::string("missing")
               : std::to_string(n->origin().line()) + ":" + std::to_string(n->origin().column());
  };
  EXPECT_EQ(at(""), "1:1");
  EXPECT_EQ(at("server"), "2:3");
  EXPECT_EQ(at("server.host"), "2:9");
  EXPECT_EQ(at("server.ports"), "3:10");
  EXPECT_EQ(at("server.ports.0"), "3:11");
  EXPECT_EQ(at("server.ports.1"), "3:15");
  EXPECT_EQ(at("server.tls"), "5:5");
  EXPECT_EQ(at("server.tls.0"), "5:7");
  EXPECT_EQ(at("server.tls.0.cert"), "5:13");
  EXPECT_EQ(at("server.tls.0.key"), "6:12");
  EXPECT_EQ(at("name"), "7:7");
  EXPECT_EQ(v.find("server.tls.0.key")->origin().to_string(),
            "app.yaml:6:12, layer \"file:app.yaml\"");
}

TEST(YamlParseTest, ColumnsCountBytesNotCharacters) {
  const Value v = probe.parse_ok("\xC3\xA9: [1, \xC3\xB1]\nx: \xE2\x82\xAC\xE2\x82\xAC y\nz: 1\n");
  const Value* seq = v.find_member("\xC3\xA9");
  ASSERT_NE(seq, nullptr);
  EXPECT_EQ(seq->origin().column(), 5u);
  EXPECT_EQ(seq->as_array()[0].origin().column(), 6u);
  EXPECT_EQ(seq->as_array()[1].origin().column(), 9u);
  EXPECT_EQ(v.find("x")->origin().line(), 2u);
  EXPECT_EQ(v.find("x")->origin().column(), 4u);
  EXPECT_EQ(v.find("z")->origin().line(), 3u);
  EXPECT_EQ(v.find("z")->origin().column(), 4u);
}

TEST(YamlParseTest, ByteOrderMarkAndCrLf) {
  const Value v = probe.parse_ok(
      "\xEF\xBB\xBF"
      "a: 1\r\nb:\r\n  c: 2\r\n");
  EXPECT_EQ(v.find("a")->origin().column(), 4u);
  EXPECT_EQ(v.find("b.c")->origin().line(), 3u);
  EXPECT_EQ(v.find("b.c")->origin().column(), 6u);
}

TEST(YamlParseTest, TopLevelSequenceAndScalar) {
  EXPECT_EQ(probe.parse_ok("- 1\n- two\n").size(), 2u);
  EXPECT_EQ(probe.parse_ok("hello"), Value("hello"));
  EXPECT_EQ(probe.parse_ok("--- 5\n...\n"), Value(5));
}

TEST(YamlParseTest, ExplicitDocumentMarkersAndComments) {
  const Value v = probe.parse_ok("%YAML 1.2\n---\n# comment\na: 1 # trailing\n...\n");
  EXPECT_EQ(v.find("a")->as_int(), 1);
}

TEST(YamlParseTest, KeysAreTheirText) {
  const Value v = probe.parse_ok("1: one\ntrue: t\nnull: n\n'q': quoted\n~: tilde\n");
  EXPECT_EQ(v.find("1")->as_string(), "one");
  EXPECT_EQ(v.find("true")->as_string(), "t");
  EXPECT_EQ(v.find("null")->as_string(), "n");
  EXPECT_EQ(v.find("q")->as_string(), "quoted");
  EXPECT_EQ(v.find("~")->as_string(), "tilde");
}

// ---- anchors, aliases, merge keys ---------------------------------------------------

TEST(YamlAnchorTest, AliasesCopyTheAnchoredNode) {
  const Value v = probe.parse_ok(
      "base: &b\n"
      "  x: 1\n"
      "  list: [a, b]\n"
      "copy: *b\n"
      "name: &n app\n"
      "again: *n\n"
      "seq: [*n, *b]\n");
  EXPECT_EQ(*v.find("copy"), *v.find("base"));
  EXPECT_EQ(*v.find("again"), Value("app"));
  EXPECT_EQ(*v.find("seq.1"), *v.find("base"));
  // Copies keep the origin of the anchored node: that is where the values were written.
  EXPECT_EQ(v.find("copy.x")->origin().line(), 2u);
  EXPECT_EQ(v.find("copy.x")->origin().column(), 6u);
}

TEST(YamlAnchorTest, AnchorsCanBeRedefined) {
  const Value v = probe.parse_ok("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
  EXPECT_EQ(*v.find("b"), Value(1));
  EXPECT_EQ(*v.find("d"), Value(2));
}

TEST(YamlAnchorTest, AliasAsKey) {
  const Value v = probe.parse_ok("k: &key name\nm: {*key : 1}\n");
  EXPECT_EQ(v.find("m.name")->as_int(), 1);
  EXPECT_TRUE(probe.parse_fails("a: &m {x: 1}\nb: {*m : 1}\n", 2, 5,
                                "mapping keys must be scalars (complex keys are not supported)"));
}

TEST(YamlAnchorTest, AliasErrors) {
  EXPECT_TRUE(probe.parse_fails("a: 1\nb: *nope\n", 2, 4, "undefined alias *nope"));
  EXPECT_TRUE(probe.parse_fails("a: &a [1, *a]\n", 1, 11,
                                "alias *a refers to a node that contains it (recursive alias)"));
  EXPECT_TRUE(probe.parse_fails("a: &a\n  b: *a\n", 2, 6,
                                "alias *a refers to a node that contains it (recursive alias)"));
}

TEST(YamlAnchorTest, MergeKeys) {
  const Value v = probe.parse_ok(
      "defaults: &d\n"
      "  host: localhost\n"
      "  port: 80\n"
      "  tls: false\n"
      "prod:\n"
      "  <<: *d\n"
      "  port: 443\n"
      "  name: prod\n"
      "early:\n"
      "  port: 8080\n"
      "  <<: *d\n");
  EXPECT_EQ(v.find("prod.host")->as_string(), "localhost");
  EXPECT_EQ(v.find("prod.port")->as_int(), 443);  // explicit after the merge wins
  EXPECT_EQ(v.find("prod.tls")->as_bool(), false);
  EXPECT_EQ(v.find("prod.name")->as_string(), "prod");
  EXPECT_EQ(v.find("prod")->size(), 4u);
  EXPECT_EQ(v.find("prod.port")->origin().line(), 7u);
  EXPECT_EQ(v.find("early.port")->as_int(), 8080);  // explicit before the merge wins too
  EXPECT_EQ(v.find("early.host")->as_string(), "localhost");
  EXPECT_EQ(v.find_member("prod")->find_member("<<"), nullptr);
}

TEST(YamlAnchorTest, MergeSequenceEarlierSourcesWin) {
  const Value v = probe.parse_ok(
      "a: &a {x: 1, y: 1}\n"
      "b: &b {y: 2, z: 2}\n"
      "c:\n"
      "  <<: [*a, *b]\n"
      "  w: 0\n"
      "d:\n"
      "  <<: {inline: yes}\n");
  EXPECT_EQ(v.find("c.x")->as_int(), 1);
  EXPECT_EQ(v.find("c.y")->as_int(), 1);
  EXPECT_EQ(v.find("c.z")->as_int(), 2);
  EXPECT_EQ(v.find("c.w")->as_int(), 0);
  EXPECT_EQ(v.find("d.inline")->as_string(), "yes");
}

TEST(YamlAnchorTest, MergeErrorsAndQuotedMergeKey) {
  EXPECT_TRUE(probe.parse_fails("a: &a 1\nb:\n  <<: *a\n", 3, 7,
                                "the merge key '<<' needs a mapping or a sequence of mappings"));
  EXPECT_TRUE(probe.parse_fails("a: &a {x: 1}\nb:\n  <<: [*a, 2]\n", 3, 7,
                                "the merge key '<<' needs a mapping or a sequence of mappings"));
  // Merged keys may be overridden once; the same explicit key twice is still a duplicate.
  EXPECT_TRUE(probe.parse_fails("a: &a {x: 1}\nb:\n  <<: *a\n  x: 2\n  x: 3\n", 5, 3,
                                "duplicate key \"x\""));
  // A quoted '<<' is an ordinary key.
  const Value v = probe.parse_ok("'<<': 1\n");
  EXPECT_EQ(v.find_member("<<")->as_int(), 1);
}

TEST(YamlAnchorTest, BillionLaughsFailsFast) {
  const std::string bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
  const auto start = std::chrono::steady_clock::now();
  const Result<Value> r = yaml().parse(bomb, probe.options());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().message(), "alias expansion exceeds the node limit (YAML alias bomb?)");
  // e's copies bring the expansion to ~75k nodes; the first *e passes the budget.
  EXPECT_EQ(r.error().origin().line(), 6u);
  EXPECT_EQ(r.error().origin().column(), 8u);
}

TEST(YamlAnchorTest, AliasBombUnderASmallNodeLimit) {
  ParseOptions o = probe.options();
  o.max_nodes = 50;
  EXPECT_TRUE(probe.parse_fails("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [*a, *a, *a, *a, *a]\n", 2,
                                17, "alias expansion exceeds the node limit (YAML alias bomb?)",
                                o));
}

TEST(YamlAnchorTest, LongStringAliasBombHitsTheSizeLimit) {
  std::string text = "a: &a " + std::string(10000, 'x') + "\nb: [";
  for (int i = 0; i < 200; ++i) {
    text += i == 0 ? "*a" : ", *a";
  }
  text += "]\n";
  const Result<Value> r = yaml().parse(text, probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "alias expansion exceeds the size limit (YAML alias bomb?)");
  EXPECT_EQ(r.error().origin().line(), 2u);
}

TEST(YamlAnchorTest, AliasesCannotNestPastTheDepthLimit) {
  ParseOptions o = probe.options();
  o.max_depth = 4;
  EXPECT_TRUE(yaml().parse("a: &a [[1]]\nb: [*a]\n", o).has_value());
  EXPECT_TRUE(probe.parse_fails("a: &a [[[1]]]\nb: [*a]\n", 2, 5,
                                "alias *a nests deeper than the limit of 4", o));
}

// ---- errors -------------------------------------------------------------------------

TEST(YamlErrorTest, DuplicateKeys) {
  EXPECT_TRUE(probe.parse_fails("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key \"a\""));
  EXPECT_TRUE(probe.parse_fails("m: {x: 1, x: 2}\n", 1, 11, "duplicate key \"x\""));
  EXPECT_TRUE(probe.parse_fails("m:\n  - k: 1\n    k: 2\n", 3, 5, "duplicate key \"k\""));
  // Keys compare by text: 1 and "1" are the same key.
  EXPECT_TRUE(probe.parse_fails("1: a\n'1': b\n", 2, 1, "duplicate key \"1\""));
}

TEST(YamlErrorTest, ComplexKeys) {
  EXPECT_TRUE(probe.parse_fails("? [a, b]\n: v\n", 1, 3,
                                "mapping keys must be scalars (complex keys are not supported)"));
  EXPECT_TRUE(probe.parse_fails("x: 1\n{a: 1}: x\n", 2, 1,
                                "mapping keys must be scalars (complex keys are not supported)"));
}

TEST(YamlErrorTest, MultipleDocuments) {
  EXPECT_TRUE(probe.parse_fails("a: 1\n---\nb: 2\n", 2, 1, "multiple documents are not supported"));
  EXPECT_TRUE(probe.parse_fails("--- 1\n--- 2\n", 2, 1, "multiple documents are not supported"));
}

TEST(YamlErrorTest, LibyamlErrorsCarryProblemAndPosition) {
  EXPECT_TRUE(probe.parse_fails("a: [1, 2\nb: 3\n", 2, 2,
                                "did not find expected ',' or ']', while parsing a flow sequence "
                                "started at 1:4"));
  EXPECT_TRUE(
      probe.parse_fails("a:\n\tb: 1\n", 2, 1,
                        "found character that cannot start any token, while scanning for the "
                        "next token started at 2:1"));
  EXPECT_TRUE(
      probe.parse_fails("a: b: c\n", 1, 5, "mapping values are not allowed in this context"));
  EXPECT_TRUE(
      probe.parse_fails("key: \"unterminated\n", 2, 1,
                        "found unexpected end of stream, while scanning a quoted scalar started "
                        "at 1:6"));
  const Result<Value> r = yaml().parse("a: [1, 2\nb: 3\n", probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(),
            "did not find expected ',' or ']', while parsing a flow sequence started at 1:4 "
            "(app.yaml:2:2, layer \"file:app.yaml\")");
}

TEST(YamlErrorTest, InvalidUtf8AndNul) {
  EXPECT_TRUE(
      probe.parse_fails("a: 1\nb: \"x\xFF\"\n", 2, 6, "invalid leading UTF-8 octet (byte 0xFF)"));
  EXPECT_TRUE(probe.parse_fails("a: \xC3\n", 1, 5, "invalid trailing UTF-8 octet (byte 0x0A)"));
  EXPECT_TRUE(probe.parse_fails("a: \xC3", 1, 4, "incomplete UTF-8 octet sequence"));
  EXPECT_TRUE(
      probe.parse_fails("a: b\0c\n"s, 1, 5, "control characters are not allowed (byte 0x00)"));
}

TEST(YamlErrorTest, EmptyDocuments) {
  for (const std::string_view text :
       {"", "   \n", "# only a comment\n", "---\n", "~\n", "null", "--- !!null ''\n"}) {
    const Result<Value> r = yaml().parse(text, probe.options());
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::kParse);
    EXPECT_EQ(r.error().message(), "empty document") << text;
  }
  ParseOptions o = probe.options();
  o.allow_empty = true;
  EXPECT_EQ(probe.parse_ok("# nothing\n", o), Value::object());
  EXPECT_EQ(probe.parse_ok("~", o), Value::object());
  // A quoted empty string is content.
  EXPECT_EQ(probe.parse_ok("''"), Value(""));
}

// ---- limits -------------------------------------------------------------------------

TEST(YamlLimitTest, MillionOpenBracketsFailFast) {
  const std::string text(1'000'000, '[');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(probe.parse_fails(text, 1, 129, "nesting deeper than the limit of 128"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(YamlLimitTest, DeepBlockNesting) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
  }
  // Line n holds the key of the level-n mapping, so level 129 starts on line 129, column 257.
  EXPECT_TRUE(probe.parse_fails(text, 129, 257, "nesting deeper than the limit of 128"));
}

TEST(YamlLimitTest, MaxBytesAndNodes) {
  ParseOptions o = probe.options();
  o.max_bytes = 8;
  EXPECT_TRUE(yaml().parse("a: 12345", o).has_value());
  const Result<Value> r = yaml().parse("a: 123456", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "input is 9 bytes, over the limit of 8");
}

TEST(YamlLimitTest, MaxNodes) {
  ParseOptions o = probe.options();
  o.max_nodes = 3;
  EXPECT_EQ(probe.parse_ok("a: 1\nb: 2\n", o).size(), 2u);
  EXPECT_TRUE(probe.parse_fails("a: 1\nb: 2\nc: 3\n", 3, 4, "more nodes than the limit of 3", o));
}

// ---- emitter --------------------------------------------------------------------------

TEST(YamlEmitTest, BlockStyleWithFlowEmptyContainers) {
  Value v = Value::object();
  v["name"] = "app";
  v["port"] = 8080;
  v["ratio"] = 0.5;
  v["on"] = true;
  v["none"] = nullptr;
  v["tags"].push_back("a");
  v["tags"].push_back("b");
  v["server"]["host"] = "localhost";
  v["empty_map"] = Value::object();
  v["empty_list"] = Value::array();
  v["people"].push_back(Value::object());
  v["people"].as_array()[0]["id"] = 1;
  v["people"].as_array()[0]["age"] = 2;
  const Result<std::string> out = yaml().emit(v, EmitOptions{});
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out,
            "name: app\n"
            "port: 8080\n"
            "ratio: 0.5\n"
            "'on': true\n"  // a YAML 1.1 boolean word: quoted for 1.1 readers
            "none: null\n"
            "tags:\n"
            "- a\n"
            "- b\n"
            "server:\n"
            "  host: localhost\n"
            "empty_map: {}\n"
            "empty_list: []\n"
            "people:\n"
            "- id: 1\n"
            "  age: 2\n");
  EXPECT_EQ(*yaml().emit(Value::object(), EmitOptions{}), "{}\n");
}

TEST(YamlEmitTest, IndentOption) {
  Value v = Value::object();
  v["a"]["b"] = 1;
  EXPECT_EQ(*yaml().emit(v, EmitOptions{4}), "a:\n    b: 1\n");
  // libyaml's indent range is 2..9.
  EXPECT_EQ(*yaml().emit(v, EmitOptions{0}), "a:\n  b: 1\n");
}

TEST(YamlEmitTest, StringsThatLookTypedAreQuoted) {
  Value v = Value::object();
  for (const char* s : {"true", "False", "null", "~", "", "123", "-4", "0x1F", "1.5", ".inf", "yes",
                        "off", "1_000", "12:30", "2001-12-14", "<<"}) {
    v[s] = s;
  }
  const Result<std::string> out = yaml().emit(v, EmitOptions{});
  ASSERT_TRUE(out);
  EXPECT_NE(out->find("'true': 'true'\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("'': ''\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("'123': '123'\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("'<<': '<<'\n"), std::string::npos) << *out;
  EXPECT_EQ(probe.parse_ok(*out), v);
}

TEST(YamlEmitTest, Doubles) {
  Value v = Value::array();
  v.push_back(std::numeric_limits<double>::infinity());
  v.push_back(-std::numeric_limits<double>::infinity());
  v.push_back(std::numeric_limits<double>::quiet_NaN());
  v.push_back(1e300);
  v.push_back(2.0);
  v.push_back(-0.25);
  const Result<std::string> out = yaml().emit(v, EmitOptions{});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "- .inf\n- -.inf\n- .nan\n- 1.0e+300\n- 2.0\n- -0.25\n");
}

TEST(YamlEmitTest, InvalidUtf8IsATypeErrorWithPath) {
  Value v = Value::object();
  v["a"].push_back("ok");
  v["a"].push_back("bad\xFF");
  const Result<std::string> out = yaml().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kType);
  EXPECT_EQ(out.error().message(), "YAML cannot represent text that is not valid UTF-8");
  EXPECT_EQ(out.error().path().to_string(), "a.1");
}

}  // namespace
}  // namespace liveconf
