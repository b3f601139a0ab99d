#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "testutil/format_probe.hpp"

namespace liveconf {

namespace {

using testing::position;

using namespace std::string_literals;

const testing::FormatProbe probe("toml", "app.toml");
const Format& toml() { return probe.format(); }

TEST(TomlParseTest, ValueKinds) {
  const Value v = probe.parse_ok(
      "s = \"text\"\n"
      "lit = 'C:\\dir'\n"
      "ml = \"\"\"\nline1\nline2\"\"\"\n"
      "i = 42\n"
      "neg = -7\n"
      "hex = 0xff\n"
      "oct = 0o17\n"
      "bin = 0b101\n"
      "big = 9_223_372_036_854_775_807\n"
      "f = 1.5\n"
      "e = 5e+22\n"
      "inf = -inf\n"
      "nan = nan\n"
      "t = true\n"
      "arr = [1, \"two\", [3]]\n"
      "inline = {a = 1, b.c = 2}\n");
  EXPECT_EQ(*v.find("s"), Value("text"));
  EXPECT_EQ(*v.find("lit"), Value("C:\\dir"));
  EXPECT_EQ(*v.find("ml"), Value("line1\nline2"));
  EXPECT_EQ(*v.find("i"), Value(42));
  EXPECT_EQ(*v.find("neg"), Value(-7));
  EXPECT_EQ(*v.find("hex"), Value(255));
  EXPECT_EQ(*v.find("oct"), Value(15));
  EXPECT_EQ(*v.find("bin"), Value(5));
  EXPECT_EQ(*v.find("big"), Value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(*v.find("f"), Value(1.5));
  EXPECT_EQ(*v.find("e"), Value(5e22));
  EXPECT_EQ(*v.find("inf"), Value(-std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(std::isnan(v.find("nan")->as_double()));
  EXPECT_EQ(*v.find("t"), Value(true));
  EXPECT_EQ(*v.find("arr.1"), Value("two"));
  EXPECT_EQ(*v.find("arr.2.0"), Value(3));
  EXPECT_EQ(*v.find("inline.b.c"), Value(2));
}

TEST(TomlParseTest, DatesAndTimesBecomeRfc3339Strings) {
  const Value v = probe.parse_ok(
      "odt = 1979-05-27T07:32:00Z\n"
      "odt_space = 1979-05-27 07:32:00Z\n"
      "odt_offset = 1979-05-27T00:32:00.999999-07:00\n"
      "odt_plus = 1979-05-27T07:32:00+05:30\n"
      "ldt = 1979-05-27T07:32:00\n"
      "ld = 1979-05-27\n"
      "lt = 07:32:00\n"
      "lt_frac = 00:32:00.5\n");
  EXPECT_EQ(*v.find("odt"), Value("1979-05-27T07:32:00Z"));
  EXPECT_EQ(*v.find("odt_space"), Value("1979-05-27T07:32:00Z"));
  EXPECT_EQ(*v.find("odt_offset"), Value("1979-05-27T00:32:00.999999-07:00"));
  EXPECT_EQ(*v.find("odt_plus"), Value("1979-05-27T07:32:00+05:30"));
  EXPECT_EQ(*v.find("ldt"), Value("1979-05-27T07:32:00"));
  EXPECT_EQ(*v.find("ld"), Value("1979-05-27"));
  EXPECT_EQ(*v.find("lt"), Value("07:32:00"));
  EXPECT_EQ(*v.find("lt_frac"), Value("00:32:00.5"));
  EXPECT_EQ(position(v.find("ld")), "6:6");
}

TEST(TomlParseTest, TablesArraysOfTablesAndDocumentOrder) {
  const Value v = probe.parse_ok(
      "zeta = 1\n"
      "alpha = 2\n"
      "\n"
      "[server]\n"
      "port = 8080\n"
      "host = \"h\"\n"
      "\n"
      "[server.tls]\n"
      "enabled = true\n"
      "\n"
      "[[users]]\n"
      "name = \"a\"\n"
      "\n"
      "[[users]]\n"
      "name = \"b\"\n"
      "x.y.z = 1\n");
  const Object& top = v.as_object();
  ASSERT_EQ(top.size(), 4u);
  // toml++ sorts keys; the parse restores the order they were written in.
  EXPECT_EQ(top.entry(0).first, "zeta");
  EXPECT_EQ(top.entry(1).first, "alpha");
  EXPECT_EQ(top.entry(2).first, "server");
  EXPECT_EQ(top.entry(3).first, "users");
  EXPECT_EQ(v.find("server")->as_object().entry(0).first, "port");
  EXPECT_EQ(*v.find("server.tls.enabled"), Value(true));
  ASSERT_TRUE(v.find("users")->is_array());
  EXPECT_EQ(*v.find("users.1.name"), Value("b"));
  EXPECT_EQ(*v.find("users.1.x.y.z"), Value(1));

  EXPECT_EQ(position(&v), "1:1");
  EXPECT_EQ(position(v.find("alpha")), "2:9");
  EXPECT_EQ(position(v.find("server")), "4:1");
  EXPECT_EQ(position(v.find("server.port")), "5:8");
  EXPECT_EQ(position(v.find("server.host")), "6:8");
  EXPECT_EQ(position(v.find("users.1")), "14:1");
  EXPECT_EQ(v.find("server.host")->origin().to_string(), "app.toml:6:8, layer \"file:app.toml\"");
}

TEST(TomlParseTest, ColumnsCountBytes) {
  // toml++ counts columns in code points; liveconf reports bytes.
  const Value v = probe.parse_ok("\"\xC3\xA9\xC3\xA9\" = 1\nk = [\"\xE2\x82\xAC\", 2]\n");
  EXPECT_EQ(position(v.find_member("\xC3\xA9\xC3\xA9")), "1:10");
  EXPECT_EQ(position(v.find("k.0")), "2:6");
  EXPECT_EQ(position(v.find("k.1")), "2:13");
}

TEST(TomlParseTest, ByteOrderMarkAndCrLf) {
  const Value v = probe.parse_ok("\xEF\xBB\xBFx = 1\r\n[t]\r\ny = 2\r\n");
  EXPECT_EQ(position(v.find("x")), "1:5");
  EXPECT_EQ(position(v.find("t.y")), "3:5");
}

TEST(TomlErrorTest, SyntaxErrorsCarryPositions) {
  EXPECT_TRUE(probe.parse_fails(
      "a = 1\na = 2\n", 2, 5,
      "Error while parsing key-value pair: cannot redefine existing integer 'a'"));
  EXPECT_TRUE(probe.parse_fails("a = 1\nb = [1,\n", 2, 8,
                                "Error while parsing array: encountered end-of-file"));
  EXPECT_TRUE(
      probe.parse_fails("[a]\nb = 1\n[a]\n", 3, 1,
                        "Error while parsing table header: cannot redefine existing table 'a'"));
  EXPECT_TRUE(
      probe.parse_fails("x = \"\xC3\xA9\" y\n", 1, 10,
                        "Error while parsing key-value pair: expected a comment or whitespace, "
                        "saw 'y'"));
  const Result<Value> r = toml().parse("a = 1\na = 2\n", probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(),
            "Error while parsing key-value pair: cannot redefine existing integer 'a' "
            "(app.toml:2:5, layer \"file:app.toml\")");
}

TEST(TomlErrorTest, InvalidUtf8AndNul) {
  EXPECT_TRUE(
      probe.parse_fails("\"\xC3\xA9\" = \"\xFF\"\n", 1, 8, "Encountered invalid utf-8 sequence"));
  const Result<Value> r = toml().parse("a = 1\0\n"s, probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().origin().line(), 1u);
}

TEST(TomlErrorTest, EmptyDocument) {
  for (const std::string_view text : {"", "\n\n", "# just a comment\n"}) {
    const Result<Value> r = toml().parse(text, probe.options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "empty document");
  }
  ParseOptions o = probe.options();
  o.allow_empty = true;
  EXPECT_EQ(probe.parse_ok("# nothing\n", o), Value::object());
  // A table header alone is content.
  EXPECT_EQ(probe.parse_ok("[t]\n").find("t")->size(), 0u);
}

TEST(TomlLimitTest, DeepNesting) {
  // toml++ stops nesting at 256 levels itself; our default limit is lower.
  std::string deep = "a = " + std::string(1'000'000, '[');
  const auto start = std::chrono::steady_clock::now();
  const Result<Value> r = toml().parse(deep, probe.options());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().origin().line(), 1u);

  const std::string arrays = "a = " + std::string(200, '[') + std::string(200, ']') + "\n";
  EXPECT_TRUE(probe.parse_fails(arrays, 1, 132, "nesting deeper than the limit of 128"));

  std::string tables = "a = 1\n";
  std::string name;
  for (int i = 0; i < 200; ++i) {
    name += i == 0 ? "t" : ".t";
    tables += "[" + name + "]\nv = 1\n";
  }
  EXPECT_TRUE(probe.parse_fails(tables, 256, 1, "nesting deeper than the limit of 128"));

  ParseOptions o = probe.options();
  o.max_depth = 2;
  EXPECT_TRUE(toml().parse("a = [1]\n[t]\nb = 1\n", o).has_value());
  EXPECT_TRUE(probe.parse_fails("a = [[1]]\n", 1, 6, "nesting deeper than the limit of 2", o));
}

TEST(TomlLimitTest, MaxBytesAndNodes) {
  ParseOptions o = probe.options();
  o.max_bytes = 5;
  const Result<Value> big = toml().parse("a = 10", o);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message(), "input is 6 bytes, over the limit of 5");

  o = probe.options();
  o.max_nodes = 3;
  EXPECT_EQ(probe.parse_ok("a = 1\nb = 2\n", o).size(), 2u);
  EXPECT_TRUE(
      probe.parse_fails("a = 1\nb = 2\nc = 3\n", 3, 5, "more nodes than the limit of 3", o));
}

TEST(TomlEmitTest, TablesAndArraysOfTables) {
  Value v = Value::object();
  v["title"] = "demo";
  v["server"]["port"] = 8080;
  v["server"]["ratio"] = 0.5;
  v["users"].push_back(Value::object());
  v["users"].as_array()[0]["name"] = "a";
  v["users"].push_back(Value::object());
  v["users"].as_array()[1]["name"] = "b";
  v["mixed"].push_back(1);
  v["mixed"].push_back("x");
  v["weird key"] = true;
  const Result<std::string> out = toml().emit(v, EmitOptions{});
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_NE(out->find("title = \"demo\"\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("[server]\nport = 8080\nratio = 0.5\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("[[users]]\nname = \"a\"\n\n[[users]]\nname = \"b\"\n"), std::string::npos)
      << *out;
  EXPECT_NE(out->find("\"weird key\" = true\n"), std::string::npos) << *out;
  EXPECT_EQ(out->back(), '\n');
  EXPECT_EQ(probe.parse_ok(*out), v);
}

TEST(TomlEmitTest, NullIsATypeErrorWithPath) {
  Value v = Value::object();
  v["a"]["list"].push_back(1);
  v["a"]["list"].push_back(nullptr);
  const Result<std::string> out = toml().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kType);
  EXPECT_EQ(out.error().message(), "TOML cannot represent null");
  EXPECT_EQ(out.error().path().to_string(), "a.list.1");
  EXPECT_EQ(out.error().to_string(), "TOML cannot represent null at a.list.1");
}

TEST(TomlEmitTest, TopLevelMustBeATable) {
  Value v = Value::array();
  v.push_back(1);
  const Result<std::string> out = toml().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kType);
  EXPECT_EQ(out.error().message(), "TOML documents are tables; cannot write a top-level array");
  EXPECT_FALSE(toml().emit(Value(5), EmitOptions{}));
}

TEST(TomlEmitTest, InvalidUtf8IsATypeError) {
  Value v = Value::object();
  v["k"] = "bad\xC3";
  const Result<std::string> out = toml().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kType);
  EXPECT_EQ(out.error().path().to_string(), "k");
  Value key = Value::object();
  key["bad\xFF"] = 1;
  EXPECT_FALSE(toml().emit(key, EmitOptions{}));
}

TEST(TomlEmitTest, StringsAreBasicStringsWithEscapes) {
  Value v = Value::object();
  v["s"] = "\nfirst\tline\n'q' \"d\" \\";
  const Result<std::string> out = toml().emit(v, EmitOptions{});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "s = \"\\nfirst\tline\\n'q' \\\"d\\\" \\\\\"\n");
  EXPECT_EQ(probe.parse_ok(*out), v);
}

TEST(TomlEmitTest, KeysTomlppWouldMisprintAreRefused) {
  for (const char* key : {"it's", "'s'", "tab\tkey", "line\nbreak"}) {
    Value v = Value::object();
    v["t"][key] = 1;
    const Result<std::string> out = toml().emit(v, EmitOptions{});
    ASSERT_FALSE(out) << key << " -> " << *out;
    EXPECT_EQ(out.error().code(), ErrorCode::kType);
    EXPECT_EQ(out.error().path(), KeyPath::from_segments({"t", key}));
  }
  // Keys that toml++ quotes on its own are fine.
  Value ok = Value::object();
  ok["it's here"] = 1;
  ok["\"q\""] = 2;
  const Result<std::string> out = toml().emit(ok, EmitOptions{});
  ASSERT_TRUE(out);
  EXPECT_EQ(probe.parse_ok(*out), ok);
}

TEST(TomlEmitTest, EmptyTableEmitsNothing) {
  const Result<std::string> out = toml().emit(Value::object(), EmitOptions{});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "");
}

}  // namespace
}  // namespace liveconf
