#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

namespace liveconf {

// Readable Values in gtest failure messages (found by ADL). Identical inline
// definitions in each test file of this executable.
inline void PrintTo(const Value& v, std::ostream* os) { *os << v.to_display_string(); }

namespace {

using namespace std::string_literals;

ParseOptions options(bool allow_empty = false) {
  ParseOptions o;
  o.origin = make_file_origin("file:rt", "rt");
  o.allow_empty = allow_empty;
  return o;
}

Value must_parse(const Format& format, std::string_view text, bool allow_empty = false) {
  Result<Value> r = format.parse(text, options(allow_empty));
  EXPECT_TRUE(r.has_value()) << format.name() << ": " << (r ? "" : r.error().to_string())
                             << "\n--- text ---\n"
                             << text;
  return r ? std::move(r).value() : Value("<parse failed>");
}

std::string must_emit(const Format& format, const Value& value, int indent) {
  Result<std::string> r = format.emit(value, EmitOptions{indent});
  EXPECT_TRUE(r.has_value()) << format.name() << ": " << (r ? "" : r.error().to_string());
  return r ? std::move(r).value() : std::string();
}

// emit -> parse gives `value` back, for several indents, and emitting the
// result again gives the same text.
void expect_round_trip(const Format& format, const Value& value, bool allow_empty = false) {
  for (const int indent : {2, 0, 4}) {
    const std::string text = must_emit(format, value, indent);
    const Value back = must_parse(format, text, allow_empty);
    EXPECT_EQ(back, value) << format.name() << " indent " << indent << "\n--- emitted ---\n"
                           << text << "\n--- parsed back ---\n"
                           << back.to_display_string() << "\n--- original ---\n"
                           << value.to_display_string();
    EXPECT_EQ(must_emit(format, back, indent), text) << format.name() << " indent " << indent;
  }
}

// A Value built in code with the awkward cases every emitter must handle.
Value tricky_value(bool with_null) {
  Value v = Value::object();
  v["unicode"] = "h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87";
  v["escapes"] = "quote\" back\\ nl\n tab\t cr\r ctl\x01 del\x7F";
  v["nul"] = Value(std::string("a\0b", 3));
  v["newline_first"] = "\nstarts with a newline";
  v["newline_last"] = "ends with a newline\n";
  v["only_spaces"] = "   ";
  v["multi"] = "line one\nline two\n\nline four";
  Value& looks = v["looks_like"];
  for (const char* s : {"123",         "-17",
                        "1.5",         "1e5",
                        ".inf",        "-.inf",
                        ".nan",        "0x1F",
                        "0o17",        "true",
                        "False",       "null",
                        "~",           "",
                        " lead",       "trail ",
                        "yes",         "no",
                        "on",          "off",
                        "y",           "n",
                        "1_000",       "12:30:00",
                        "2001-12-14",  "2001-12-14T21:59:43Z",
                        "<<",          "- dash",
                        "? q",         ": colon",
                        "a: b",        "a #b",
                        "#hash",       "&anchor",
                        "*alias",      "!tag",
                        "|pipe",       ">fold",
                        "'single'",    "\"double\"",
                        "%pct",        "@at",
                        "`tick",       "[x]",
                        "{y}",         "a,b",
                        "tab\tinside", "inf",
                        "nan"}) {
    looks.push_back(s);
  }
  Value& nested = v["nested"];
  Value first = Value::object();
  first["name"] = "a";
  first["list"].push_back(Value::object());
  first["list"].as_array()[0]["deep"] = Value::array();
  Value second = Value::object();
  second["name"] = "b";
  second["port"] = 80;
  nested.push_back(first);
  nested.push_back(second);
  v["empty_object"] = Value::object();
  v["empty_array"] = Value::array();
  Value& doubles = v["doubles"];
  for (const double d :
       {0.1, -2.5, 2.0, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 123456789.125, -0.0,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    doubles.push_back(d);
  }
  Value& ints = v["ints"];
  for (const std::int64_t i :
       {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
        std::int64_t{0}, std::int64_t{-1}, std::int64_t{42}}) {
    ints.push_back(i);
  }
  v["bools"].push_back(true);
  v["bools"].push_back(false);
  Value& keys = v["keys"];
  for (const char* k : {"", "a.b", "with space", "\xC3\xBCn\xC3\xAF", "#", "<<", "123", "true",
                        "null", "- x", "k: v", "\"q\"", "it's here", "tab\tand space"}) {
    keys[k] = k;
  }
  Value& matrix = v["matrix"];
  for (int r = 0; r < 3; ++r) {
    Value row = Value::array();
    for (int c = 0; c < 3; ++c) {
      row.push_back(r * 3 + c);
    }
    matrix.push_back(row);
  }
  if (with_null) {
    v["null"] = nullptr;
    v["nulls"].push_back(nullptr);
    v["nulls"].push_back(Value::object());
    v["nulls"].as_array()[1]["inner"] = nullptr;
  }
  return v;
}

// JSON cannot hold infinities, so its tricky value drops them.
Value tricky_json_value() {
  Value v = tricky_value(true);
  Value::Array& doubles = v.find_mutable("doubles")->as_array();
  doubles.pop_back();
  doubles.pop_back();
  return v;
}

// ---- JSON ----------------------------------------------------------------------

TEST(JsonRoundTripTest, ValueBuiltInCode) {
  expect_round_trip(*find_format("json"), tricky_json_value());
}

TEST(JsonRoundTripTest, Documents) {
  const Format& json = *find_format("json");
  for (const std::string_view doc : {
           R"({"a": [1, 2.5, -3e-7, "x\u00e9\ud83d\ude00", null, true, false, {}, []]})",
           R"([{"k": [{"k": [{"k": {}}]}]}, [[[]]], ""])",
           R"({"\u0000\u001f\"\\": "\b\f\n\r\t\/", "n": -9223372036854775808})",
           R"("just a string")",
           R"(12345678901234567890)",
           "[0.1, 1e-310, 1.5e300, -0.0, 100]",
       }) {
    const Value first = must_parse(json, doc);
    expect_round_trip(json, first);
  }
}

// ---- YAML ----------------------------------------------------------------------

TEST(YamlRoundTripTest, ValueBuiltInCode) {
  const Format& yaml = *find_format("yaml");
  expect_round_trip(yaml, tricky_value(true));
}

TEST(YamlRoundTripTest, NanSurvives) {
  const Format& yaml = *find_format("yaml");
  Value v = Value::object();
  v["x"] = std::numeric_limits<double>::quiet_NaN();
  const Value back = must_parse(yaml, must_emit(yaml, v, 2));
  ASSERT_TRUE(back.find("x")->is_double());
  EXPECT_TRUE(std::isnan(back.find("x")->as_double()));
}

TEST(YamlRoundTripTest, Documents) {
  const Format& yaml = *find_format("yaml");
  for (const std::string_view doc : {
           "defaults: &d\n  a: 1\n  b: [x, 'y', \"z\"]\nprod:\n  <<: *d\n  b: []\n",
           "- {a: 1, b: {c: [1, 2, {d: e}]}}\n- - - deep\n- ''\n- ~\n",
           "text: |\n  literal\n    block\nfolded: >\n  folded\n  text\n",
           "k: !!str 123\nv: !!float 1\nquoted: '#not comment'\nurl: http://x/#f\n",
           "\xC3\xA9t\xC3\xA9: caf\xC3\xA9\nemoji: \"\\U0001F600\"\n",
           "plain: a b c\nleading: '  a'\nnumber_like: '0o17'\n",
       }) {
    const Value first = must_parse(yaml, doc);
    expect_round_trip(yaml, first);
  }
}

TEST(YamlRoundTripTest, JsonDocumentsAreYaml) {
  // YAML 1.2 reads JSON; the trees agree (strings, numbers, nesting).
  const Value from_json =
      must_parse(*find_format("json"), R"({"a": [1, 2.5, "x", null, true, {"b": {}}], "c": []})");
  const Value from_yaml =
      must_parse(*find_format("yaml"), R"({"a": [1, 2.5, "x", null, true, {"b": {}}], "c": []})");
  EXPECT_EQ(from_json, from_yaml);
}

// ---- TOML ----------------------------------------------------------------------

// On libc++ toml++ is used header-only (the libcxx preset), and reads floats
// through an istringstream; libc++'s refuses a subnormal (strtod reports
// ERANGE), so there a TOML document holding 5e-324 does not parse. The
// libstdc++ builds link Debian's compiled toml++, which reads it.
#ifdef _LIBCPP_VERSION
constexpr bool kTomlReadsSubnormals = false;
#else
constexpr bool kTomlReadsSubnormals = true;
#endif

// `v` without its subnormal doubles where toml++ cannot read them back.
Value for_toml(Value v) {
  if (!kTomlReadsSubnormals) {
    Value::Array& doubles = v.find_mutable("doubles")->as_array();
    doubles.erase(std::remove_if(doubles.begin(), doubles.end(),
                                 [](const Value& d) {
                                   return d.is_double() &&
                                          std::fpclassify(d.as_double()) == FP_SUBNORMAL;
                                 }),
                  doubles.end());
  }
  return v;
}

TEST(TomlRoundTripTest, ValueBuiltInCode) {
  const Format& toml = *find_format("toml");
  expect_round_trip(toml, for_toml(tricky_value(false)));
}

// The limitation above, asserted both ways so it cannot change unnoticed.
TEST(TomlRoundTripTest, SubnormalReadsBackExceptWithLibcxx) {
  const Format& toml = *find_format("toml");
  const Result<Value> r = toml.parse("x = 4.9406564584124654e-324\n", options());
  ASSERT_EQ(r.has_value(), kTomlReadsSubnormals);
  if (r.has_value()) {
    EXPECT_EQ(r->find("x")->as_double(), std::numeric_limits<double>::denorm_min());
  } else {
    EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  }
}

TEST(TomlRoundTripTest, NanSurvives) {
  const Format& toml = *find_format("toml");
  Value v = Value::object();
  v["x"] = std::numeric_limits<double>::quiet_NaN();
  const Value back = must_parse(toml, must_emit(toml, v, 2));
  EXPECT_TRUE(std::isnan(back.find("x")->as_double()));
}

TEST(TomlRoundTripTest, EmptyTableNeedsAllowEmpty) {
  const Format& toml = *find_format("toml");
  expect_round_trip(toml, Value::object(), /*allow_empty=*/true);
}

TEST(TomlRoundTripTest, Documents) {
  const Format& toml = *find_format("toml");
  for (const std::string_view doc : {
           "title = \"x\"\n[owner]\nname = \"n\"\ndob = 1979-05-27T07:32:00-08:00\n",
           "[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n[[products]]\n\n"
           "[[products]]\nname = \"Nail\"\ncolor = \"gray\"\n",
           "a.b.c = 1\na.d = [1, 2, [3, 4]]\n\"quoted key\" = 'lit\\eral'\n",
           "s = \"\"\"\nmulti\nline\"\"\"\nt = '''raw\\n'''\n",
           "ints = [0x10, 0o7, 0b11, -9223372036854775808]\nf = [inf, -inf, 1e-300, 6.02e23]\n",
           "mixed = [1, \"a\", {x = 1}, [true]]\n",
       }) {
    const Value first = must_parse(toml, doc);
    expect_round_trip(toml, first);
  }
}

// ---- across formats -----------------------------------------------------------

TEST(CrossFormatTest, SameTreeThroughEveryEmitter) {
  const Value v = tricky_value(false);
  Value finite = v;
  Value::Array& doubles = finite.find_mutable("doubles")->as_array();
  doubles.pop_back();
  doubles.pop_back();
  const Value via_json =
      must_parse(*find_format("json"), must_emit(*find_format("json"), finite, 2));
  const Value via_yaml =
      must_parse(*find_format("yaml"), must_emit(*find_format("yaml"), finite, 2));
  const Value via_toml =
      must_parse(*find_format("toml"), must_emit(*find_format("toml"), for_toml(finite), 2));
  EXPECT_EQ(via_json, finite);
  EXPECT_EQ(via_yaml, finite);
  EXPECT_EQ(via_toml, for_toml(finite));
}

TEST(CrossFormatTest, FormatsAreStatelessAcrossThreads) {
  const std::string json_doc = R"({"a": [1, 2, {"b": "c"}], "d": 1.5})";
  const std::string yaml_doc = "a: [1, 2, {b: c}]\nd: 1.5\n";
  const std::string toml_doc = "a = [1, 2, {b = \"c\"}]\nd = 1.5\n";
  const Value expected = must_parse(*find_format("json"), json_doc);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const ParseOptions o = options();
        const Result<Value> a = find_format("json")->parse(json_doc, o);
        const Result<Value> b = find_format("yaml")->parse(yaml_doc, o);
        const Result<Value> c = find_format("toml")->parse(toml_doc, o);
        if (!a || !b || !c || *a != expected || *b != expected || *c != expected) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ---- registry ------------------------------------------------------------------

TEST(FormatRegistryTest, FindFormat) {
  ASSERT_NE(find_format("json"), nullptr);
  EXPECT_EQ(find_format("json")->name(), "json");
  EXPECT_EQ(find_format("yaml")->name(), "yaml");
  EXPECT_EQ(find_format("yml"), find_format("yaml"));
  EXPECT_EQ(find_format("toml")->name(), "toml");
  EXPECT_EQ(find_format("ini")->name(), "ini");
  EXPECT_EQ(find_format("env")->name(), "env");
  EXPECT_EQ(find_format("dotenv"), find_format("env"));
  EXPECT_EQ(find_format("JSON"), find_format("json"));
  EXPECT_EQ(find_format("Yml"), find_format("yaml"));
  EXPECT_EQ(find_format("xml"), nullptr);
  EXPECT_EQ(find_format(""), nullptr);
  EXPECT_EQ(find_format("jsonx"), nullptr);
  // One instance per format.
  EXPECT_EQ(find_format("json"), find_format("json"));
}

TEST(FormatRegistryTest, FormatForPath) {
  const auto name_for = [](std::string_view path) {
    const Format* f = format_for_path(path);
    return f == nullptr ? std::string("none") : std::string(f->name());
  };
  EXPECT_EQ(name_for("app.json"), "json");
  EXPECT_EQ(name_for("/etc/app/config.YAML"), "yaml");
  EXPECT_EQ(name_for("x.yml"), "yaml");
  EXPECT_EQ(name_for("a/b.toml"), "toml");
  EXPECT_EQ(name_for("a.ini"), "ini");
  EXPECT_EQ(name_for("setup.cfg"), "ini");
  EXPECT_EQ(name_for("nginx.conf"), "none");
  EXPECT_EQ(name_for(".env"), "env");
  EXPECT_EQ(name_for("/srv/app/.env"), "env");
  EXPECT_EQ(name_for("prod.env"), "env");
  EXPECT_EQ(name_for(".env.local"), "env");
  EXPECT_EQ(name_for("deploy/.env.production"), "env");
  EXPECT_EQ(name_for(".envrc"), "none");
  EXPECT_EQ(name_for("settings.env.json"), "json");
  EXPECT_EQ(name_for("Makefile"), "none");
  EXPECT_EQ(name_for(".json"), "none");
  EXPECT_EQ(name_for("dir.json/file"), "none");
  EXPECT_EQ(name_for("C:\\cfg\\app.toml"), "toml");
  EXPECT_EQ(name_for(""), "none");
  EXPECT_EQ(name_for("trailing."), "none");
}

TEST(FormatRegistryTest, ExtensionsAndCapabilities) {
  const auto extensions = [](std::string_view name) {
    std::vector<std::string> out;
    for (const std::string_view e : find_format(name)->extensions()) {
      out.emplace_back(e);
    }
    return out;
  };
  EXPECT_EQ(extensions("json"), (std::vector<std::string>{"json"}));
  EXPECT_EQ(extensions("yaml"), (std::vector<std::string>{"yaml", "yml"}));
  EXPECT_EQ(extensions("toml"), (std::vector<std::string>{"toml"}));
  EXPECT_EQ(extensions("ini"), (std::vector<std::string>{"ini", "cfg"}));
  EXPECT_EQ(extensions("env"), (std::vector<std::string>{"env", ".env"}));
  EXPECT_TRUE(find_format("json")->can_emit());
  EXPECT_TRUE(find_format("yaml")->can_emit());
  EXPECT_TRUE(find_format("toml")->can_emit());
  EXPECT_FALSE(find_format("ini")->can_emit());
  EXPECT_FALSE(find_format("env")->can_emit());
}

TEST(FormatRegistryTest, MakeFileOriginAndTheHeaderExample) {
  const std::shared_ptr<const OriginInfo> info = make_file_origin("file:app.json", "app.json");
  EXPECT_EQ(info->source, "file:app.json");
  EXPECT_EQ(info->file, "app.json");
  EXPECT_EQ(info->env_var, "");
  ParseOptions opts;
  opts.origin = info;
  const Result<Value> tree = find_format("json")->parse(R"({"port": 8080})", opts);
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->find("port")->as_int(), 8080);
  EXPECT_EQ(tree->find("port")->origin().to_string(), "app.json:1:10, layer \"file:app.json\"");
  EXPECT_EQ(tree->find("port")->origin().info(), info);  // shared, not copied
}

}  // namespace
}  // namespace liveconf
