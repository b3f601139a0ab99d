#include "liveconf/bind.hpp"

#include <gtest/gtest.h>

#include "testutil/configs.hpp"

namespace liveconf {
namespace {

using testing::Database;
using testing::Level;
using testing::ServiceConfig;
using testing::WatchedConfig;

Value watched_dict() {
  Value v = Value::object();
  v["api_key"] = "initial-key";
  v["timeout"] = 30;
  v["enabled"] = true;
  v["endpoints"] = Value(Value::Array{"http://api.example.com"});
  return v;
}

Origin file_origin(std::uint32_t line, std::uint32_t col) {
  auto info = std::make_shared<OriginInfo>();
  info->source = "file:/etc/app";
  info->file = "config.yaml";
  return Origin(info, line, col);
}

TEST(BindTest, FromDictFillsFieldsAndKeepsDefaultsForMissingOnes) {
  Value v = Value::object();
  v["timeout"] = 60;
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->timeout, 60);
  EXPECT_EQ(c->api_key, "default-key");
  EXPECT_TRUE(c->enabled);
  EXPECT_TRUE(c->endpoints.empty());
  Result<WatchedConfig> full = from_dict<WatchedConfig>(watched_dict());
  ASSERT_TRUE(full);
  EXPECT_EQ(full->endpoints, std::vector<std::string>{"http://api.example.com"});
}

TEST(BindTest, ToDictMasksSecretsUnlessRevealed) {
  WatchedConfig c;
  c.api_key = "sk-live-123";
  Value masked = to_dict(c);
  EXPECT_EQ(masked.find("api_key")->as_string(), "***");
  EXPECT_EQ(masked.find("timeout")->as_int(), 30);
  EXPECT_EQ(to_dict(c, {true}).find("api_key")->as_string(), "sk-live-123");
  // Declaration order is kept.
  EXPECT_EQ(masked.as_object().entry(0).first, "api_key");
  EXPECT_EQ(masked.as_object().entry(3).first, "endpoints");
}

TEST(BindTest, DiffReportsFieldsAndHidesSecrets) {
  WatchedConfig a = *from_dict<WatchedConfig>(watched_dict());
  WatchedConfig b = a;
  b.api_key = "updated-key-123";
  b.timeout = 60;
  b.endpoints.push_back("http://backup.example.com");
  ChangeSet d = diff(a, b);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.find("timeout")->to_string(), "timeout: 30 -> 60");
  EXPECT_TRUE(d.find("api_key")->sensitive);
  for (const Change& c : d) {
    EXPECT_EQ(c.to_string().find("updated-key-123"), std::string::npos);
    EXPECT_EQ(c.to_string().find("initial-key"), std::string::npos);
  }
  EXPECT_TRUE(diff(a, a).empty());
}

TEST(BindTest, TypeErrorsNameThePathOriginAndValue) {
  Value v = Value::object();
  v["db"]["port"] = "80a";
  v.find_mutable("db.port")->set_origin(file_origin(12, 9));
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kType);
  EXPECT_EQ(c.error().to_string(),
            "expected integer at db.port (config.yaml:12:9, layer \"file:/etc/app\"), got string "
            "\"80a\"");
}

TEST(BindTest, SecretValuesNeverAppearInErrors) {
  Value v = Value::object();
  v["api_key"] = Value(Value::Array{"sk-very-secret"});
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().to_string().find("sk-very-secret"), std::string::npos);
  EXPECT_NE(c.error().to_string().find("value hidden"), std::string::npos);
}

TEST(BindTest, ValidatorsRefuseOutOfRangeAndBadChoices) {
  Value v = Value::object();
  v["timeout"] = 0;
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kValidation);
  EXPECT_EQ(c.error().message(), "must be between 1 and 3600");
  EXPECT_EQ(c.error().path(), KeyPath("timeout"));

  Value s = Value::object();
  s["mode"] = "reckless";
  EXPECT_EQ(from_dict<ServiceConfig>(s).error().message(), "must be one of \"fast\", \"safe\"");
  Value n = Value::object();
  n["name"] = "Bad Name";
  EXPECT_EQ(from_dict<ServiceConfig>(n).error().message(),
            "must match the pattern [a-z][a-z0-9-]*");
  Value r = Value::object();
  r["ratio"] = 1.5;
  EXPECT_FALSE(from_dict<ServiceConfig>(r));
  Value h = Value::object();
  h["db"]["host"] = "";
  EXPECT_EQ(from_dict<ServiceConfig>(h).error().path(), KeyPath("db.host"));
}

TEST(BindTest, StructLevelValidationNamesTheField) {
  Value v = Value::object();
  v["workers"] = 0;
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "fast mode needs at least one worker");
  EXPECT_EQ(c.error().path(), KeyPath("workers"));
}

TEST(BindTest, EveryProblemIsReported) {
  Value v = Value::object();
  v["timeout"] = "soon";
  v["enabled"] = "maybe";
  BindReport report;
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v, {}, &report);
  ASSERT_FALSE(c);
  EXPECT_EQ(report.errors.size(), 2u);
  EXPECT_NE(c.error().detail().find("and 1 more problem"), std::string::npos);
}

TEST(BindTest, UnknownKeysWarnWithSuggestionOrFailWhenStrict) {
  Value v = watched_dict();
  v["timeuot"] = 5;
  BindReport report;
  ASSERT_TRUE(from_dict<WatchedConfig>(v, {}, &report));
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0].path(), KeyPath("timeuot"));
  EXPECT_EQ(report.warnings[0].detail(), "did you mean \"timeout\"?");
  Result<WatchedConfig> strict = from_dict<WatchedConfig>(v, BindOptions{true});
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().message(), "unknown key");
  Value nested = Value::object();
  nested["db"]["hots"] = "x";
  BindReport r2;
  ASSERT_TRUE(from_dict<ServiceConfig>(nested, {}, &r2));
  ASSERT_EQ(r2.warnings.size(), 1u);
  EXPECT_EQ(r2.warnings[0].path(), KeyPath("db.hots"));
  EXPECT_EQ(r2.warnings[0].detail(), "did you mean \"host\"?");
}

TEST(BindTest, TextConvertsToTypedFields) {
  Value v = Value::object();
  v["timeout"] = "45";
  v["enabled"] = "off";
  v["endpoints"] = "a, b,c";
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->timeout, 45);
  EXPECT_FALSE(c->enabled);
  EXPECT_EQ(c->endpoints, (std::vector<std::string>{"a", "b", "c"}));
  Value s = Value::object();
  s["limits"] = "read=10, write=2";
  s["ratio"] = "0.25";
  s["workers"] = "8";
  s["log_level"] = "warn";
  s["drain"] = "2m";
  Result<ServiceConfig> sc = from_dict<ServiceConfig>(s);
  ASSERT_TRUE(sc) << sc.error().to_string();
  EXPECT_EQ(sc->limits.at("read"), 10);
  EXPECT_DOUBLE_EQ(sc->ratio, 0.25);
  EXPECT_EQ(sc->workers, 8);
  EXPECT_EQ(sc->log_level, Level::kWarn);
  EXPECT_EQ(sc->drain, std::chrono::seconds(120));
}

TEST(BindTest, NumbersDoNotSilentlyBecomeStrings) {
  Value v = Value::object();
  v["api_key"] = 1.1;
  Result<WatchedConfig> c = from_dict<WatchedConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "expected string");
}

TEST(BindTest, IntegersAreRangeChecked) {
  Value v = Value::object();
  v["workers"] = 70000;  // uint16
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "expected integer between 0 and 65535");
  v["workers"] = -1;
  EXPECT_FALSE(from_dict<ServiceConfig>(v));
  v["workers"] = 3.0;  // integral floats are fine
  EXPECT_EQ(from_dict<ServiceConfig>(v)->workers, 3);
  v["workers"] = 3.5;
  EXPECT_FALSE(from_dict<ServiceConfig>(v));
}

TEST(BindTest, DurationsParseAndPrint) {
  Value v = Value::object();
  v["db"]["connect_timeout"] = "1.5s";
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->db.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(to_dict(*c).find("db.connect_timeout")->as_string(), "1500ms");
  EXPECT_EQ(to_dict(*c).find("drain")->as_string(), "30s");
  v["db"]["connect_timeout"] = "1h30m";  // over the 1m range limit
  EXPECT_EQ(from_dict<ServiceConfig>(v).error().message(), "must be between 1ms and 1m");
  v["db"]["connect_timeout"] = "250";  // a unit is required in text
  EXPECT_FALSE(from_dict<ServiceConfig>(v));
  v["db"]["connect_timeout"] = 40;  // an integer counts the field's own unit
  EXPECT_EQ(from_dict<ServiceConfig>(v)->db.connect_timeout, std::chrono::milliseconds(40));
  Value d = Value::object();
  d["drain"] = "1500ms";  // not a whole number of seconds
  EXPECT_EQ(from_dict<ServiceConfig>(d).error().message(), "expected a whole number of 1s");
  EXPECT_EQ(detail::format_duration_ns(5400000000000), "90m");
  EXPECT_FALSE(detail::parse_duration_ns("5 parsecs"));
}

TEST(BindTest, EnumsBindByNameAndSuggestChoices) {
  Value v = Value::object();
  v["log_level"] = "verbose";
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "expected one of debug, info, warn");
  EXPECT_EQ(to_dict(ServiceConfig{}).find("log_level")->as_string(), "info");
}

TEST(BindTest, OptionalsNestedStructsVectorsAndMapsRoundTrip) {
  ServiceConfig c;
  c.db.password = "pw";
  c.routes.push_back({"api", {"a.example", "b.example"}});
  c.limits["read"] = 5;
  c.plugins = {"auth"};
  Value tree = to_dict(c, {true});
  Result<ServiceConfig> back = from_dict<ServiceConfig>(tree);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->db.password, std::optional<std::string>("pw"));
  ASSERT_EQ(back->routes.size(), 1u);
  EXPECT_EQ(back->routes[0].hosts.size(), 2u);
  EXPECT_EQ(back->limits.at("read"), 5);
  EXPECT_TRUE(diff(c, *back).empty());
  Value null_pw = tree;
  null_pw.set("db.password", nullptr);
  EXPECT_FALSE(from_dict<ServiceConfig>(null_pw)->db.password.has_value());
  EXPECT_EQ(to_dict(c).find("db.password")->as_string(), "***");
}

TEST(BindTest, PartialNestedObjectsKeepNestedDefaults) {
  Value v = Value::object();
  v["db"]["host"] = "db.internal";
  Result<ServiceConfig> c = from_dict<ServiceConfig>(v);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->db.host, "db.internal");
  EXPECT_EQ(c->db.port, 5432);
}

TEST(BindTest, SchemaExposesDerivedPathSets) {
  const Schema& s = schema_of<ServiceConfig>();
  EXPECT_EQ(s.type_name(), "ServiceConfig");
  EXPECT_TRUE(s.sensitive_paths().matches("db.password"));
  EXPECT_FALSE(s.sensitive_paths().matches("db.host"));
  std::vector<KeyPath> restart = s.restart_required_paths();
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0], KeyPath("db.port"));
  MergePolicies p = s.merge_policies();
  ASSERT_NE(p.find("routes"), nullptr);
  EXPECT_EQ(p.find("routes")->key, "name");
  ASSERT_NE(p.find("routes.2.hosts"), nullptr);
  EXPECT_EQ(p.find("routes.2.hosts")->strategy, MergeStrategy::kUnion);
  EXPECT_EQ(s.find("db")->type_name, "Database");
  EXPECT_EQ(s.find("routes")->type_name, "list<object>");
  EXPECT_EQ(schema_of<WatchedConfig>().find("api_key")->env_var, "API_KEY");
}

// A user type bound through the ADL pair.
struct Endpoint {
  std::string host;
  int port = 0;
};

Status liveconf_from_value(const Value& v, Endpoint& out) {
  if (!v.is_string()) {
    return Error(ErrorCode::kType, "expected \"host:port\"");
  }
  const std::string s(v.as_string());
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) {
    return Error(ErrorCode::kType, "expected \"host:port\"", {}, {}, "got \"" + s + "\"");
  }
  out.host = s.substr(0, colon);
  out.port = std::stoi(s.substr(colon + 1));
  return ok_status();
}

Value liveconf_to_value(const Endpoint& e) { return Value(e.host + ":" + std::to_string(e.port)); }

struct WithEndpoint {
  Endpoint upstream{"localhost", 80};
};

void liveconf_describe(Describer<WithEndpoint>& d) { d.field("upstream", &WithEndpoint::upstream); }

TEST(BindTest, UserTypesBindThroughAdlFunctions) {
  Value v = Value::object();
  v["upstream"] = "example.com:8443";
  Result<WithEndpoint> c = from_dict<WithEndpoint>(v);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->upstream.port, 8443);
  EXPECT_EQ(to_dict(*c).find("upstream")->as_string(), "example.com:8443");
  v["upstream"] = "nope";
  Result<WithEndpoint> bad = from_dict<WithEndpoint>(v);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().path(), KeyPath("upstream"));
}

struct WithParser {
  int level = 0;
};

void liveconf_describe(Describer<WithParser>& d) {
  d.field("level", &WithParser::level).parser([](std::string_view s) -> Result<int> {
    if (s == "low") {
      return 1;
    }
    if (s == "high") {
      return 9;
    }
    return Error(ErrorCode::kType, "expected low or high");
  });
}

TEST(BindTest, CustomParsersHandleText) {
  Value v = Value::object();
  v["level"] = "high";
  EXPECT_EQ(from_dict<WithParser>(v)->level, 9);
  v["level"] = 4;  // non-text still uses the built-in conversion
  EXPECT_EQ(from_dict<WithParser>(v)->level, 4);
  v["level"] = "medium";
  EXPECT_EQ(from_dict<WithParser>(v).error().message(), "expected low or high");
}

TEST(BindTest, TextHelpers) {
  EXPECT_EQ(detail::parse_bool_text("YES"), true);
  EXPECT_EQ(detail::parse_bool_text("Off"), false);
  EXPECT_FALSE(detail::parse_bool_text("maybe"));
  EXPECT_EQ(detail::parse_int_text("-0x10"), -16);
  EXPECT_EQ(detail::parse_int_text("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(detail::parse_int_text("9223372036854775808"));
  EXPECT_FALSE(detail::parse_int_text("12abc"));
  EXPECT_FALSE(detail::split_map_text("a=1,b"));
  EXPECT_TRUE(detail::split_list_text("  ").empty());
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

TEST(BindStrictTest, AnErrorBeforeANestedStructIsReportedOnce) {
  // Regression: in strict mode a nested struct bound after a failing field
  // returned that earlier error as its own, and it was recorded twice.
  Value v = Value::object();
  v.set("name", Value("NOT-valid"));  // fails the pattern; bound before db
  v.set("db.host", Value("h"));
  BindReport report;
  Result<testing::ServiceConfig> c =
      from_dict<testing::ServiceConfig>(v, BindOptions{true}, &report);
  ASSERT_FALSE(c);
  EXPECT_EQ(report.errors.size(), 1u) << report.status().to_string();
}

}  // namespace
}  // namespace liveconf
