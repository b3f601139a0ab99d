// The --schema compiler: a JSON Schema subset turned into a run-time Schema
// that converts, validates and names environment variables like a struct.
#include "cli/schema_file.hpp"

#include <gtest/gtest.h>

#include "liveconf/env.hpp"
#include "liveconf/format.hpp"
#include "liveconf/store.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::cli {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

// A manager that logs nothing.
ManagerOptions quiet() {
  ManagerOptions o;
  o.log = [](LogLevel, std::string_view) {};
  return o;
}

constexpr std::string_view kSchema = R"(title: svc
type: object
required: [server]
properties:
  server:
    type: object
    properties:
      port: {type: integer, minimum: 1, maximum: 65535, default: 8080}
      host: {type: string, default: localhost, minLength: 1}
  log_level: {type: string, enum: [debug, info], default: info}
  timeout: {type: string, format: duration, default: 30s}
  hosts: {type: array, items: {type: string}, maxItems: 3}
  labels: {type: object, additionalProperties: {type: integer}}
  api_key: {type: string, writeOnly: true, pattern: "^k-"}
  ratio: {type: number, x-env: RATIO}
  debug: {type: boolean}
  extra: {}
)";

Result<Value> parse(std::string_view text, std::string_view format = "yaml") {
  ParseOptions p;
  p.origin = make_file_origin("t", "t.yaml");
  return find_format(format)->parse(text, p);
}

SchemaFile compile(std::string_view text = kSchema) {
  Result<Value> doc = parse(text);
  EXPECT_TRUE(doc) << doc.error().to_string();
  Result<SchemaFile> s = compile_schema(*doc);
  EXPECT_TRUE(s) << s.error().to_string();
  return *s;
}

TEST(SchemaFileTest, DefaultsAndConversions) {
  SchemaFile s = compile();
  EXPECT_EQ(s.defaults.find("server.port")->as_int(), 8080);
  EXPECT_EQ(s.defaults.find("timeout")->as_string(), "30s");
  ConfigManager manager;
  ASSERT_TRUE(manager.register_schema("c", s.schema, s.defaults).ok());
  Value text = *parse(
      "server: {port: '9090'}\nhosts: a,b\nlabels: x=1,y=2\ndebug: 'yes'\n"
      "ratio: '0.5'\n");
  ASSERT_TRUE(manager.update("c", text).ok());
  std::shared_ptr<const Value> v = *manager.get<Value>("c");
  EXPECT_EQ(v->find("server.port")->as_int(), 9090);  // text became an integer
  EXPECT_EQ(v->find("server.host")->as_string(), "localhost");
  EXPECT_EQ(v->find("hosts.1")->as_string(), "b");
  EXPECT_EQ(v->find("labels.y")->as_int(), 2);
  EXPECT_TRUE(v->find("debug")->as_bool());
  EXPECT_DOUBLE_EQ(v->find("ratio")->as_double(), 0.5);
  // Converted values keep their origin.
  EXPECT_EQ(v->find("server.port")->origin().line(), 1u);
}

TEST(SchemaFileTest, ValidationRefusesAndKeepsLastGood) {
  SchemaFile s = compile();
  ConfigManager manager(quiet());
  ASSERT_TRUE(manager.register_schema("c", s.schema, s.defaults).ok());
  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& c : {Case{"server: {port: 0}", "must be at least 1"},
                        Case{"server: {port: x}", "expected integer"},
                        Case{"log_level: trace", "must be one of \"debug\", \"info\""},
                        Case{"timeout: soon", "expected a duration"},
                        Case{"hosts: [a, b, c, d]", "must have at most 3 items"},
                        Case{"labels: {a: one}", "expected integer"},
                        Case{"server: {host: ''}", "at least 1 characters"},
                        Case{"api_key: nope", "must match the pattern"}}) {
    Status st = manager.update("c", *parse(c.yaml), UpdateOptions{true});
    ASSERT_FALSE(st.ok()) << c.yaml;
    EXPECT_NE(st.error().to_string().find(c.message), std::string::npos)
        << c.yaml << ": " << st.error().to_string();
  }
  // The secret's value is never in the error.
  Status secret = manager.update("c", *parse("api_key: s3cret-value"), UpdateOptions{true});
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().to_string().find("s3cret-value"), std::string::npos);
  EXPECT_EQ((*manager.get<Value>("c"))->find("server.port")->as_int(), 8080);
  EXPECT_TRUE((*manager.snapshot("c"))->sensitive().matches("api_key"));
}

TEST(SchemaFileTest, RequiredKeys) {
  SchemaFile s = compile(R"(type: object
required: [name]
properties:
  name: {type: string}
)");
  ConfigManager manager(quiet());
  Status st = manager.register_schema("c", s.schema, s.defaults);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().to_string().find("required key is missing at name"), std::string::npos)
      << st.error().to_string();
}

TEST(SchemaFileTest, EnvironmentNamesAndTextFromTheSchema) {
  SchemaFile s = compile();
  ScopedEnv port("SVC_SERVER__PORT", "7000");
  ScopedEnv ratio("RATIO", "0.25");
  ScopedEnv typo("SVC_LOG_LEVLE", "debug");
  ConfigManager manager;
  ASSERT_TRUE(manager.register_schema("c", s.schema, s.defaults).ok());
  EnvSourceOptions env;
  env.prefix = "SVC";
  ASSERT_TRUE(manager.add_source("c", *make_env_source(env)).ok());
  std::shared_ptr<const Value> v = *manager.get<Value>("c");
  EXPECT_EQ(v->find("server.port")->as_int(), 7000);
  EXPECT_DOUBLE_EQ(v->find("ratio")->as_double(), 0.25);
  env.schema = s.schema.get();
  EnvReport report = env_report(env);
  const std::string text = report.to_string();
  EXPECT_NE(text.find("SVC_LOG_LEVLE: unknown"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean SVC_LOG_LEVEL?"), std::string::npos) << text;
  EXPECT_NE(text.find("SVC_SERVER__PORT -> server.port (integer): bound"), std::string::npos)
      << text;
}

TEST(SchemaFileTest, UnsupportedKeywordsAreErrorsWithPositions) {
  Result<SchemaFile> s = compile_schema(*parse("type: object\nproperties:\n  a: {oneOf: []}\n"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("unsupported keyword \"oneOf\""), std::string::npos);
  EXPECT_EQ(s.error().origin().line(), 3u);
  EXPECT_FALSE(compile_schema(*parse("type: object\nproperties:\n  a: {type: int}\n")));
  EXPECT_FALSE(compile_schema(*parse("type: string\n")));
  EXPECT_FALSE(compile_schema(*parse("properties:\n  a: {pattern: '('}\n")));
  EXPECT_FALSE(compile_schema(*parse("properties:\n  a: {}\nrequired: [b]\n")));
  EXPECT_TRUE(
      compile_schema(*parse("properties:\n  a: {}\nadditionalProperties: false\n"))->strict);
}

TEST(SchemaFileTest, LoadsJsonAndYamlFiles) {
  TempDir dir;
  auto json = dir.write("s.json", R"({"properties": {"a": {"type": "integer", "default": 1}}})");
  Result<SchemaFile> s = load_schema_file(json);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->defaults.find("a")->as_int(), 1);
  EXPECT_EQ(s->defaults.find("a")->origin().file(), json.string());
  Result<SchemaFile> missing = load_schema_file(dir / "nope.yaml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("nope.yaml"), std::string::npos);
}

}  // namespace
}  // namespace liveconf::cli

namespace liveconf::cli {
namespace {

TEST(SchemaFileTest, EachProblemIsReportedOnce) {
  SchemaFile s = compile(R"(type: object
additionalProperties: false
properties:
  rate_limit:
    type: object
    properties:
      rps: {type: integer, maximum: 10000}
  timeouts:
    type: object
    properties:
      request: {type: string, format: duration, default: 30s}
)");
  Value tree = s.defaults;
  tree.set("rate_limit.rps", Value(25000));
  BindReport report = s.schema->check(tree, BindOptions{s.strict});
  ASSERT_EQ(report.errors.size(), 1u) << report.status().to_string();
  EXPECT_EQ(report.errors[0].message(), "must be at most 10000");
}

}  // namespace
}  // namespace liveconf::cli
