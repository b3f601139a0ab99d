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

const testing::FormatProbe probe("json", "app.json");
const Format& json() { return probe.format(); }

// Succeeds when parsing `text` fails with kParse, `message`, at line:column.
// ---- valid documents --------------------------------------------------------

TEST(JsonParseTest, AllValueKinds) {
  const Value v = probe.parse_ok(
      R"({"s": "text", "i": 42, "neg": -7, "d": 1.5, "e": 1e3, "E": 2E-2, "t": true,
          "f": false, "n": null, "a": [1, "two", [3]], "o": {"k": {}}, "ea": [], "eo": {}})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.size(), 13u);
  EXPECT_EQ(v.find("s")->as_string(), "text");
  EXPECT_TRUE(v.find("i")->is_int());
  EXPECT_EQ(v.find("i")->as_int(), 42);
  EXPECT_EQ(v.find("neg")->as_int(), -7);
  EXPECT_TRUE(v.find("d")->is_double());
  EXPECT_DOUBLE_EQ(v.find("d")->as_double(), 1.5);
  EXPECT_TRUE(v.find("e")->is_double());
  EXPECT_DOUBLE_EQ(v.find("e")->as_double(), 1000.0);
  EXPECT_DOUBLE_EQ(v.find("E")->as_double(), 0.02);
  EXPECT_TRUE(v.find("t")->as_bool());
  EXPECT_FALSE(v.find("f")->as_bool());
  EXPECT_TRUE(v.find("n")->is_null());
  EXPECT_EQ(v.find("a.1")->as_string(), "two");
  EXPECT_EQ(v.find("a.2.0")->as_int(), 3);
  EXPECT_TRUE(v.find("o.k")->is_object());
  EXPECT_TRUE(v.find("ea")->is_array());
  EXPECT_EQ(v.find("ea")->size(), 0u);
  EXPECT_TRUE(v.find("eo")->is_object());
}

TEST(JsonParseTest, KeysKeepDocumentOrder) {
  const Value v = probe.parse_ok(R"({"zeta": 1, "alpha": 2, "mid": 3})");
  const Object& o = v.as_object();
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o.entry(0).first, "zeta");
  EXPECT_EQ(o.entry(1).first, "alpha");
  EXPECT_EQ(o.entry(2).first, "mid");
}

TEST(JsonParseTest, TopLevelScalarsAndArrays) {
  EXPECT_EQ(probe.parse_ok("17").as_int(), 17);
  EXPECT_EQ(probe.parse_ok(" \"x\" ").as_string(), "x");
  EXPECT_TRUE(probe.parse_ok("null").is_null());
  EXPECT_EQ(probe.parse_ok("[1,2]").size(), 2u);
}

TEST(JsonParseTest, IntegerRange) {
  EXPECT_EQ(probe.parse_ok("9223372036854775807").as_int(),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(probe.parse_ok("-9223372036854775808").as_int(),
            std::numeric_limits<std::int64_t>::min());
  const Value over = probe.parse_ok("9223372036854775808");
  ASSERT_TRUE(over.is_double());
  EXPECT_DOUBLE_EQ(over.as_double(), 9223372036854775808.0);
  const Value under = probe.parse_ok("-9223372036854775809");
  ASSERT_TRUE(under.is_double());
  EXPECT_DOUBLE_EQ(under.as_double(), -9223372036854775808.0);
  const Value huge = probe.parse_ok("123456789012345678901234567890");
  ASSERT_TRUE(huge.is_double());
  EXPECT_DOUBLE_EQ(huge.as_double(), 1.2345678901234568e29);
}

TEST(JsonParseTest, NumberEdgeCases) {
  const Value zero = probe.parse_ok("-0");
  ASSERT_TRUE(zero.is_int());
  EXPECT_EQ(zero.as_int(), 0);
  const Value negzero = probe.parse_ok("-0.0");
  ASSERT_TRUE(negzero.is_double());
  EXPECT_TRUE(std::signbit(negzero.as_double()));
  // Underflow reads as (signed) zero; only overflow is an error.
  const Value tiny = probe.parse_ok("1e-400");
  ASSERT_TRUE(tiny.is_double());
  EXPECT_EQ(tiny.as_double(), 0.0);
  EXPECT_TRUE(std::signbit(probe.parse_ok("-1e-400").as_double()));
  EXPECT_DOUBLE_EQ(probe.parse_ok("4.9e-324").as_double(), 4.9e-324);
  EXPECT_DOUBLE_EQ(probe.parse_ok("1.7976931348623157e308").as_double(), 1.7976931348623157e308);
  EXPECT_DOUBLE_EQ(probe.parse_ok("0.1").as_double(), 0.1);
  EXPECT_DOUBLE_EQ(probe.parse_ok("-12.5e+2").as_double(), -1250.0);
}

TEST(JsonParseTest, StringEscapes) {
  const Value v =
      probe.parse_ok(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "\u0000x"])");
  EXPECT_EQ(v.find("0")->as_string(), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(v.find("1")->as_string(), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(v.find("2")->as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(v.find("3")->as_string(), "\0x"s);
}

TEST(JsonParseTest, RawUtf8Strings) {
  const Value v = probe.parse_ok("{\"h\xC3\xA9\": \"caf\xC3\xA9 \xF0\x9F\x98\x80 \xE4\xB8\xAD\"}");
  EXPECT_EQ(v.find_member("h\xC3\xA9")->as_string(), "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE4\xB8\xAD");
}

// The string scanner looks at 8 bytes at a time; put a special character at
// every offset around that boundary to check the slow path takes over exactly.
TEST(JsonParseTest, SpecialCharacterAtEveryOffset) {
  for (std::size_t len = 0; len < 40; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      std::string plain(len, 'a');
      std::string text = "\"" + plain.substr(0, at) + "\\n\xC3\xA9" + plain.substr(at) + "\"";
      const Value v = probe.parse_ok(text);
      ASSERT_TRUE(v.is_string());
      EXPECT_EQ(v.as_string(), plain.substr(0, at) + "\n\xC3\xA9" + plain.substr(at))
          << "len " << len << " at " << at;
    }
    const Value v = probe.parse_ok("\"" + std::string(len, 'b') + "\"");
    EXPECT_EQ(v.as_string(), std::string(len, 'b'));
  }
}

TEST(JsonParseTest, PositionsOnEveryNode) {
  const std::string text =
      "{\n"
      "  \"a\": 1,\n"
      "  \"b\": [true, {\"c\": \"x\"}],\n"
      "\t\"d\":null\n"
      "}";
  const Value v = probe.parse_ok(text);
  EXPECT_EQ(v.origin().line(), 1u);
  EXPECT_EQ(v.origin().column(), 1u);
  EXPECT_EQ(v.find("a")->origin().line(), 2u);
  EXPECT_EQ(v.find("a")->origin().column(), 8u);
  EXPECT_EQ(v.find("b")->origin().line(), 3u);
  EXPECT_EQ(v.find("b")->origin().column(), 8u);
  EXPECT_EQ(v.find("b.0")->origin().column(), 9u);
  EXPECT_EQ(v.find("b.1")->origin().column(), 15u);
  EXPECT_EQ(v.find("b.1.c")->origin().line(), 3u);
  EXPECT_EQ(v.find("b.1.c")->origin().column(), 21u);
  // A tab is one byte, so one column.
  EXPECT_EQ(v.find("d")->origin().line(), 4u);
  EXPECT_EQ(v.find("d")->origin().column(), 6u);
  EXPECT_EQ(v.find("b.1.c")->origin().to_string(), "app.json:3:21, layer \"file:app.json\"");
  EXPECT_EQ(v.find("b.1.c")->origin().file(), "app.json");
}

TEST(JsonParseTest, ColumnsCountBytes) {
  // "é" is two bytes: the value after it starts two columns later than it looks.
  const Value v = probe.parse_ok("{\"\xC3\xA9\": 1, \"k\": 2}");
  EXPECT_EQ(v.find_member("\xC3\xA9")->origin().column(), 8u);
  EXPECT_EQ(v.find("k")->origin().column(), 16u);
}

TEST(JsonParseTest, CrLfAndByteOrderMark) {
  const Value v = probe.parse_ok("\xEF\xBB\xBF{\r\n  \"a\": 1,\r\n  \"b\": 2\r\n}\r\n");
  EXPECT_EQ(v.origin().line(), 1u);
  EXPECT_EQ(v.origin().column(), 1u);  // columns start after the BOM
  EXPECT_EQ(v.find("b")->origin().line(), 3u);
  EXPECT_EQ(v.find("b")->origin().column(), 8u);
}

TEST(JsonParseTest, OriginWithoutInfoStillHasPositions) {
  ParseOptions o;  // no origin info
  const Value v = probe.parse_ok("[1,\n 2]", o);
  EXPECT_EQ(v.find("1")->origin().line(), 2u);
  EXPECT_EQ(v.find("1")->origin().column(), 2u);
  EXPECT_EQ(v.find("1")->origin().file(), "");
}

TEST(JsonParseTest, LargeFlatArray) {
  std::string text = "[";
  for (int i = 0; i < 100000; ++i) {
    text += (i == 0 ? "" : ",") + std::to_string(i);
  }
  text += "]";
  const Value v = probe.parse_ok(text);
  ASSERT_EQ(v.size(), 100000u);
  EXPECT_EQ(v.as_array()[99999].as_int(), 99999);
}

// The parser reserves container sizes from earlier siblings; the hint must
// never change what is parsed.
TEST(JsonParseTest, SiblingsOfDifferentShapes) {
  std::string text = "[";
  Value expected = Value::array();
  for (int i = 0; i < 50; ++i) {
    const int n = (i * 37) % 70;  // sizes jump around, past the hint cap of 64 too
    Value row = Value::array();
    Value obj = Value::object();
    text += i == 0 ? "[" : ",[";
    for (int k = 0; k < n; ++k) {
      text += (k == 0 ? "" : ",") + std::to_string(k);
      row.push_back(k);
      obj["k" + std::to_string(k)] = k;
    }
    text += "],{";
    for (int k = 0; k < n; ++k) {
      text += (k == 0 ? "\"k" : ",\"k") + std::to_string(k) + "\":" + std::to_string(k);
    }
    text += "}";
    expected.push_back(row);
    expected.push_back(obj);
  }
  text += "]";
  EXPECT_EQ(probe.parse_ok(text), expected);
}

TEST(JsonParseTest, ManyKeysUseTheIndexAndStayUnique) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) {
    text += (i == 0 ? "\"k" : ",\"k") + std::to_string(i) + "\":" + std::to_string(i);
  }
  const Value v = probe.parse_ok(text + "}");
  ASSERT_EQ(v.size(), 1000u);
  EXPECT_EQ(v.find("k777")->as_int(), 777);
  // The duplicate's opening quote follows `text` and a comma.
  EXPECT_TRUE(probe.parse_fails(text + ",\"k500\":1}", 1,
                                static_cast<std::uint32_t>(text.size() + 2),
                                "duplicate key \"k500\""));
}

// ---- errors -----------------------------------------------------------------

TEST(JsonErrorTest, MissingCommaInObject) {
  const std::string text = "{\n    \"a\": 1\n    \"b\": 2\n}";
  EXPECT_TRUE(probe.parse_fails(text, 3, 5, "expected ',' or '}' after object member"));
  const Result<Value> r = json().parse(text, probe.options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string(),
            "expected ',' or '}' after object member (app.json:3:5, layer \"file:app.json\")");
}

TEST(JsonErrorTest, StructuralErrors) {
  EXPECT_TRUE(probe.parse_fails("[1 2]", 1, 4, "expected ',' or ']' after array element"));
  EXPECT_TRUE(probe.parse_fails("[1,]", 1, 4, "trailing comma before ']'"));
  EXPECT_TRUE(probe.parse_fails("{\"a\":1,}", 1, 8, "trailing comma before '}'"));
  EXPECT_TRUE(probe.parse_fails("{\"a\" 1}", 1, 6, "expected ':' after object key"));
  EXPECT_TRUE(probe.parse_fails("{a: 1}", 1, 2, "expected a double-quoted object key"));
  EXPECT_TRUE(probe.parse_fails("{\"a\": }", 1, 7, "unexpected character '}', expected a value"));
  EXPECT_TRUE(probe.parse_fails("[,1]", 1, 2, "unexpected character ',', expected a value"));
  EXPECT_TRUE(probe.parse_fails("['x']", 1, 2, "strings must use double quotes"));
  EXPECT_TRUE(
      probe.parse_fails("{} // c", 1, 4, "unexpected character '/' after the top-level value"));
  EXPECT_TRUE(probe.parse_fails("// c\n{}", 1, 1, "comments are not allowed in JSON"));
  EXPECT_TRUE(probe.parse_fails("[/* c */ 1]", 1, 2, "comments are not allowed in JSON"));
  EXPECT_TRUE(
      probe.parse_fails("{}\n x", 2, 2, "unexpected character 'x' after the top-level value"));
  EXPECT_TRUE(
      probe.parse_fails("{}{}", 1, 3, "unexpected character '{' after the top-level value"));
  EXPECT_TRUE(probe.parse_fails("[tru]", 1, 2, "invalid literal, expected true, false or null"));
  EXPECT_TRUE(probe.parse_fails("nul", 1, 1, "invalid literal, expected true, false or null"));
  EXPECT_TRUE(probe.parse_fails("[True]", 1, 2, "unexpected character 'T', expected a value"));
  EXPECT_TRUE(probe.parse_fails("[truex]", 1, 6, "expected ',' or ']' after array element"));
}

TEST(JsonErrorTest, UnexpectedEndOfInput) {
  EXPECT_TRUE(probe.parse_fails(
      "{\"a\": 1", 1, 8, "unexpected end of input, expected ',' or '}' after object member"));
  EXPECT_TRUE(probe.parse_fails("[", 1, 2, "unexpected end of input, expected a value"));
  EXPECT_TRUE(probe.parse_fails("[1,\n", 2, 1, "unexpected end of input, expected a value"));
  EXPECT_TRUE(
      probe.parse_fails("{\"a\"", 1, 5, "unexpected end of input, expected ':' after object key"));
  EXPECT_TRUE(
      probe.parse_fails("{", 1, 2, "unexpected end of input, expected a double-quoted object key"));
  EXPECT_TRUE(probe.parse_fails("  \"abc", 1, 3, "unterminated string"));
  EXPECT_TRUE(probe.parse_fails("\"abc\\", 1, 1, "unterminated string"));
}

TEST(JsonErrorTest, NumberErrors) {
  EXPECT_TRUE(probe.parse_fails("[01]", 1, 2, "leading zeros are not allowed in numbers"));
  EXPECT_TRUE(probe.parse_fails("[-01]", 1, 2, "leading zeros are not allowed in numbers"));
  EXPECT_TRUE(probe.parse_fails("[1.]", 1, 4, "expected a digit after '.'"));
  EXPECT_TRUE(probe.parse_fails("[1.e5]", 1, 4, "expected a digit after '.'"));
  EXPECT_TRUE(probe.parse_fails("[-]", 1, 3, "expected a digit after '-'"));
  EXPECT_TRUE(probe.parse_fails("[- 1]", 1, 3, "expected a digit after '-'"));
  EXPECT_TRUE(probe.parse_fails("[1e]", 1, 4, "expected a digit in the exponent"));
  EXPECT_TRUE(probe.parse_fails("[1e+]", 1, 5, "expected a digit in the exponent"));
  EXPECT_TRUE(probe.parse_fails("[.5]", 1, 2, "unexpected character '.', expected a value"));
  EXPECT_TRUE(probe.parse_fails("[+1]", 1, 2, "unexpected character '+', expected a value"));
  EXPECT_TRUE(probe.parse_fails("[0x10]", 1, 3, "expected ',' or ']' after array element"));
  EXPECT_TRUE(probe.parse_fails("[NaN]", 1, 2, "unexpected character 'N', expected a value"));
  EXPECT_TRUE(probe.parse_fails("[Infinity]", 1, 2, "unexpected character 'I', expected a value"));
  EXPECT_TRUE(
      probe.parse_fails("{\"x\": 1e400}", 1, 7, "number 1e400 is out of the range of a double"));
  EXPECT_TRUE(probe.parse_fails("-1e309", 1, 1, "number -1e309 is out of the range of a double"));
  EXPECT_TRUE(
      probe.parse_fails("[" + std::string(400, '9') + "]", 1, 2,
                        "number " + std::string(40, '9') + " is out of the range of a double"));
}

TEST(JsonErrorTest, StringErrors) {
  EXPECT_TRUE(probe.parse_fails("[\"a\nb\"]", 1, 4, "unescaped line break in string"));
  EXPECT_TRUE(
      probe.parse_fails("[\"a\tb\"]", 1, 4, "unescaped control character (byte 0x09) in string"));
  EXPECT_TRUE(
      probe.parse_fails("[\"a\x01\"]", 1, 4, "unescaped control character (byte 0x01) in string"));
  EXPECT_TRUE(probe.parse_fails("[\"a\\x\"]", 1, 4, "invalid escape \\x"));
  EXPECT_TRUE(probe.parse_fails("[\"a\\'\"]", 1, 4, "invalid escape \\'"));
  EXPECT_TRUE(probe.parse_fails("[\"\\u12G4\"]", 1, 3, "expected 4 hex digits after \\u"));
  EXPECT_TRUE(probe.parse_fails("[\"\\u12\"]", 1, 3, "expected 4 hex digits after \\u"));
  EXPECT_TRUE(probe.parse_fails("[\"\\ud800\"]", 1, 3, "lone surrogate \\ud800 in string"));
  EXPECT_TRUE(probe.parse_fails("[\"x\\uDC00\"]", 1, 4, "lone surrogate \\uDC00 in string"));
  EXPECT_TRUE(probe.parse_fails("[\"\\ud800\\u0041\"]", 1, 3, "lone surrogate \\ud800 in string"));
  EXPECT_TRUE(probe.parse_fails("[\"\\ud800\\ud800\"]", 1, 3, "lone surrogate \\ud800 in string"));
}

TEST(JsonErrorTest, InvalidUtf8InStrings) {
  EXPECT_TRUE(probe.parse_fails("[\"ab\xFF\"]", 1, 5, "invalid UTF-8 in string"));
  EXPECT_TRUE(
      probe.parse_fails("[\"\xC0\xAF\"]", 1, 3, "invalid UTF-8 in string"));  // overlong '/'
  EXPECT_TRUE(
      probe.parse_fails("[\"\xE0\x80\xAF\"]", 1, 3, "invalid UTF-8 in string"));  // overlong
  EXPECT_TRUE(
      probe.parse_fails("[\"\xED\xA0\x80\"]", 1, 3, "invalid UTF-8 in string"));  // surrogate
  EXPECT_TRUE(
      probe.parse_fails("[\"\xF4\x90\x80\x80\"]", 1, 3, "invalid UTF-8 in string"));  // > U+10FFFF
  EXPECT_TRUE(probe.parse_fails("[\"\xE2\x82\"]", 1, 3, "invalid UTF-8 in string"));  // truncated
  EXPECT_TRUE(
      probe.parse_fails("[\"\x80\"]", 1, 3, "invalid UTF-8 in string"));  // stray continuation
  EXPECT_TRUE(probe.parse_fails("{\"k\xFF\": 1}", 1, 4, "invalid UTF-8 in string"));  // in a key
  EXPECT_TRUE(probe.parse_fails("\"" + std::string(20, 'a') + "\xF5\x80\x80\x80\"", 1, 22,
                                "invalid UTF-8 in string"));
}

TEST(JsonErrorTest, NulBytes) {
  EXPECT_TRUE(probe.parse_fails("[1,\0 2]"s, 1, 4, "unexpected byte 0x00, expected a value"));
  EXPECT_TRUE(
      probe.parse_fails("[\"a\0b\"]"s, 1, 4, "unescaped control character (byte 0x00) in string"));
  EXPECT_TRUE(probe.parse_fails("{}\0"s, 1, 3, "unexpected byte 0x00 after the top-level value"));
}

TEST(JsonErrorTest, DuplicateKeys) {
  EXPECT_TRUE(probe.parse_fails(R"({"a": 1, "a": 2})", 1, 10, "duplicate key \"a\""));
  EXPECT_TRUE(
      probe.parse_fails("{\n  \"x\": {\"a\": 1},\n  \"x\": 2\n}", 3, 3, "duplicate key \"x\""));
  // Keys are compared after unescaping.
  EXPECT_TRUE(probe.parse_fails(R"({"a": 1, "\u0061": 2})", 1, 10, "duplicate key \"a\""));
  EXPECT_TRUE(probe.parse_fails(R"({"q\"": 1, "q\"": 2})", 1, 12, "duplicate key \"q\\\"\""));
  // The same key in different objects is fine.
  EXPECT_EQ(probe.parse_ok(R"({"a": {"a": 1}, "b": {"a": 2}})").find("b.a")->as_int(), 2);
}

TEST(JsonErrorTest, EmptyDocument) {
  for (const std::string_view text : {"", " ", " \n\t\r\n "}) {
    const Result<Value> r = json().parse(text, probe.options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kParse);
    EXPECT_EQ(r.error().message(), "empty document");
    EXPECT_EQ(r.error().origin().file(), "app.json");
  }
  ParseOptions o = probe.options();
  o.allow_empty = true;
  const Value v = probe.parse_ok(" \n", o);
  EXPECT_TRUE(v.is_object());
  EXPECT_EQ(v.size(), 0u);
  // allow_empty does not make a broken document empty.
  EXPECT_TRUE(probe.parse_fails("[", 1, 2, "unexpected end of input, expected a value", o));
}

// ---- limits -----------------------------------------------------------------

TEST(JsonLimitTest, MillionOpenBracketsFailFastWithoutRecursion) {
  const std::string text(1'000'000, '[');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(probe.parse_fails(text, 1, 129, "nesting deeper than the limit of 128"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Mixed objects and arrays under a higher limit. (Not much higher: the parser
  // does not recurse, but destroying a Value tree does.)
  std::string mixed;
  for (int i = 0; i < 200000; ++i) {
    mixed += "{\"a\":[";
  }
  ParseOptions o = probe.options();
  o.max_depth = 2000;
  EXPECT_TRUE(probe.parse_fails(mixed, 1, 6001, "nesting deeper than the limit of 2000", o));
}

TEST(JsonLimitTest, DepthLimitIsExact) {
  ParseOptions o = probe.options();
  o.max_depth = 3;
  EXPECT_TRUE(json().parse("[[[1]]]", o).has_value());
  EXPECT_TRUE(json().parse("[{\"a\":[]}]", o).has_value());
  EXPECT_TRUE(probe.parse_fails("[[[[1]]]]", 1, 4, "nesting deeper than the limit of 3", o));
  EXPECT_TRUE(probe.parse_fails("{\"a\":\n {\"b\":\n  {\"c\":\n   {}}}}", 4, 4,
                                "nesting deeper than the limit of 3", o));
  // Scalars do not count as nesting.
  o.max_depth = 0;
  EXPECT_EQ(probe.parse_ok("5", o).as_int(), 5);
  EXPECT_TRUE(probe.parse_fails("[]", 1, 1, "nesting deeper than the limit of 0", o));
}

TEST(JsonLimitTest, MaxBytes) {
  ParseOptions o = probe.options();
  o.max_bytes = 10;
  EXPECT_TRUE(json().parse("[1,2,3,45]", o).has_value());
  const Result<Value> r = json().parse("[1,2,3,456]", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().message(), "input is 11 bytes, over the limit of 10");
  EXPECT_EQ(r.error().to_string(),
            "input is 11 bytes, over the limit of 10 (app.json, layer \"file:app.json\")");
}

TEST(JsonLimitTest, MaxNodes) {
  ParseOptions o = probe.options();
  o.max_nodes = 4;  // the array and its three elements
  EXPECT_EQ(probe.parse_ok("[1,2,3]", o).size(), 3u);
  EXPECT_TRUE(probe.parse_fails("[1,2,3,4]", 1, 8, "more nodes than the limit of 4", o));
  EXPECT_TRUE(
      probe.parse_fails("{\"a\":{\"b\":{\"c\":{}}}}", 1, 16, "more nodes than the limit of 3", [] {
        ParseOptions p = probe.options();
        p.max_nodes = 3;
        return p;
      }()));
}

// ---- emitter ------------------------------------------------------------------

TEST(JsonEmitTest, PrettyAndCompact) {
  Value v = Value::object();
  v["name"] = "app";
  v["port"] = 8080;
  v["ratio"] = 0.5;
  v["on"] = true;
  v["none"] = nullptr;
  v["list"].push_back(1);
  v["list"].push_back("two");
  v["nested"]["deep"] = Value::array();
  v["empty"] = Value::object();

  const Result<std::string> pretty = json().emit(v, EmitOptions{});
  ASSERT_TRUE(pretty) << pretty.error().to_string();
  EXPECT_EQ(*pretty,
            "{\n"
            "  \"name\": \"app\",\n"
            "  \"port\": 8080,\n"
            "  \"ratio\": 0.5,\n"
            "  \"on\": true,\n"
            "  \"none\": null,\n"
            "  \"list\": [\n"
            "    1,\n"
            "    \"two\"\n"
            "  ],\n"
            "  \"nested\": {\n"
            "    \"deep\": []\n"
            "  },\n"
            "  \"empty\": {}\n"
            "}\n");

  const Result<std::string> compact = json().emit(v, EmitOptions{0});
  ASSERT_TRUE(compact);
  EXPECT_EQ(*compact,
            R"({"name":"app","port":8080,"ratio":0.5,"on":true,"none":null,"list":[1,"two"],)"
            R"("nested":{"deep":[]},"empty":{}})");

  Value small = Value::array();
  small.push_back(1);
  const Result<std::string> four = json().emit(small, EmitOptions{4});
  ASSERT_TRUE(four);
  EXPECT_EQ(*four, "[\n    1\n]\n");
  EXPECT_EQ(*json().emit(Value(3), EmitOptions{}), "3\n");
  EXPECT_EQ(*json().emit(Value::object(), EmitOptions{0}), "{}");
}

TEST(JsonEmitTest, NumbersAndStrings) {
  Value v = Value::array();
  v.push_back(1.0);
  v.push_back(1e300);
  v.push_back(-2.5e-7);
  v.push_back(std::numeric_limits<std::int64_t>::min());
  v.push_back("quote\" back\\ nl\n tab\t ctl\x01 \xC3\xA9");
  const Result<std::string> out = json().emit(v, EmitOptions{0});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "[1.0,1e+300,-2.5e-07,-9223372036854775808,"
            "\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 \xC3\xA9\"]");
}

TEST(JsonEmitTest, NonFiniteDoublesAreTypeErrorsWithPath) {
  Value v = Value::object();
  v["a"]["b"].push_back(1.0);
  v["a"]["b"].push_back(std::numeric_limits<double>::quiet_NaN());
  const Result<std::string> out = json().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), ErrorCode::kType);
  EXPECT_EQ(out.error().message(), "JSON cannot represent nan");
  EXPECT_EQ(out.error().path().to_string(), "a.b.1");

  Value inf = Value::object();
  inf["x.y"] = -std::numeric_limits<double>::infinity();
  const Result<std::string> out2 = json().emit(inf, EmitOptions{0});
  ASSERT_FALSE(out2);
  EXPECT_EQ(out2.error().message(), "JSON cannot represent -inf");
  EXPECT_EQ(out2.error().path(), KeyPath::from_segments({"x.y"}));
}

TEST(JsonEmitTest, ErrorNamesTheOriginOfAParsedValue) {
  Value v = probe.parse_ok("{\"a\":\n  1.5}");
  v["a"] = std::numeric_limits<double>::infinity();
  v["a"].set_origin(Origin(probe.options().origin, 2, 3));
  const Result<std::string> out = json().emit(v, EmitOptions{});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().to_string(),
            "JSON cannot represent inf at a (app.json:2:3, layer \"file:app.json\")");
}

}  // namespace
}  // namespace liveconf
