// The environment source: names, conversions, secrets from files, the
// binding report, and a manager keeping the last good snapshot (BEHAVIOUR.md
// items 27-29).
#include <filesystem>

#include <gtest/gtest.h>

#include "liveconf/env.hpp"
#include "liveconf/store.hpp"

#include "testutil/configs.hpp"
#include "testutil/recorders.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::EnvConfig;
using testing::ScopedEnv;
using testing::TempDir;
using testing::wait_until;

EnvSourceOptions typed_options(std::string prefix = "APP") {
  EnvSourceOptions o;
  o.prefix = std::move(prefix);
  o.schema = &schema_of<EnvConfig>();
  return o;
}

const EnvBinding* binding(const EnvReport& r, std::string_view var) {
  for (const EnvBinding& b : r.bindings) {
    if (b.variable == var) {
      return &b;
    }
  }
  return nullptr;
}

TEST(EnvSourceTest, DerivesNamesFromTheSchema) {
  ScopedEnv a("APP_DEBUG", "yes");
  ScopedEnv b("APP_DB__PORT", "6543");
  ScopedEnv c("APP_DB__HOST", "db.internal");
  ScopedEnv d("APP_LABELS__TEAM", "infra");
  ScopedEnv e("APP_REPLICAS__EU__HOST", "eu.db");
  ScopedEnv f("APP_TIMEOUT", "1m30s");
  Result<EnvConfig> c1 = from_env<EnvConfig>(typed_options());
  ASSERT_TRUE(c1) << c1.error().to_string();
  EXPECT_TRUE(c1->debug);
  EXPECT_EQ(c1->db.port, 6543);
  EXPECT_EQ(c1->db.host, "db.internal");
  EXPECT_EQ(c1->labels.at("team"), "infra");
  EXPECT_EQ(c1->replicas.at("eu").host, "eu.db");
  EXPECT_EQ(c1->replicas.at("eu").port, 5432);  // the element's default
  EXPECT_EQ(c1->timeout, std::chrono::seconds(90));
  // Provenance: the variable and the source.
  Result<Value> tree = load_env(typed_options());
  ASSERT_TRUE(tree);
  const Value* port = tree->find("db.port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->origin().env_var(), "APP_DB__PORT");
  EXPECT_EQ(port->origin().to_string(), "$APP_DB__PORT, layer \"env:APP\"");
  // A trailing underscore in the prefix is the same prefix.
  EXPECT_EQ(from_env<EnvConfig>(typed_options("APP_"))->db.port, 6543);
}

TEST(EnvSourceTest, BuiltInConversions) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "Yes", "on", "ON"}) {
    ScopedEnv v("APP_DEBUG", yes);
    EXPECT_TRUE(from_env<EnvConfig>(typed_options())->debug) << yes;
  }
  for (const char* no : {"false", "False", "0", "no", "NO", "off", "Off"}) {
    ScopedEnv v("APP_DEBUG", no);
    EXPECT_FALSE(from_env<EnvConfig>(typed_options())->debug) << no;
  }
  ScopedEnv ratio("APP_RATIO", "0.25");
  ScopedEnv hosts("APP_HOSTS", "a, b ,c");
  ScopedEnv ports("APP_PORTS", "[80, 443]");
  ScopedEnv labels("APP_LABELS", "team=infra,tier=1");
  ScopedEnv extra("APP_EXTRA", "{\"k\": [1, 2]}");
  Result<EnvConfig> c = from_env<EnvConfig>(typed_options());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_DOUBLE_EQ(c->ratio, 0.25);
  EXPECT_EQ(c->hosts, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c->ports, (std::vector<int>{80, 443}));
  EXPECT_EQ(c->labels.at("tier"), "1");
  EXPECT_EQ(c->extra.find("k.1")->as_int(), 2);
  // A JSON document for a struct field, with a more specific variable on top.
  ScopedEnv db("APP_DB", R"({"host": "h1", "port": 1000})");
  ScopedEnv port("APP_DB__PORT", "2000");
  Result<EnvConfig> c2 = from_env<EnvConfig>(typed_options());
  ASSERT_TRUE(c2) << c2.error().to_string();
  EXPECT_EQ(c2->db.host, "h1");
  EXPECT_EQ(c2->db.port, 2000);
}

TEST(EnvSourceTest, UnparsableValueNamesVariableValueAndType) {
  ScopedEnv v("APP_DB__PORT", "abc");
  Result<EnvConfig> c = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(c);
  const std::string msg = c.error().to_string();
  EXPECT_NE(msg.find("$APP_DB__PORT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"abc\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
  // Integers are range-checked by the field's type.
  ScopedEnv small("APP_SMALL", "300");
  ScopedEnv fixed("APP_DB__PORT", "1");
  Result<EnvConfig> c2 = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(c2);
  EXPECT_NE(c2.error().to_string().find("$APP_SMALL"), std::string::npos);
  // Malformed JSON in a list variable.
  ScopedEnv ok_small("APP_SMALL", "3");
  ScopedEnv ports("APP_PORTS", "[80,");
  Result<EnvConfig> c3 = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(c3);
  EXPECT_EQ(c3.error().code(), ErrorCode::kParse);
  EXPECT_NE(c3.error().to_string().find("APP_PORTS"), std::string::npos);
}

TEST(EnvSourceTest, SecretValuesNeverAppearInErrors) {
  ScopedEnv v("APP_DB__PASSWORD", "[s3cr3t-marker");  // not valid JSON, but a string field
  ASSERT_TRUE(from_env<EnvConfig>(typed_options()));
  ScopedEnv key("SERVICE_API_KEY", "s3cr3t-marker");
  ScopedEnv bad("APP_DB__PORT", "s3cr3t-marker");  // not a secret: shown
  Result<EnvConfig> c = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(c);
  EnvReport r = env_report(typed_options());
  const std::string text = r.to_string();
  EXPECT_NE(text.find("APP_DB__PASSWORD -> db.password (string): bound, secret"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("[s3cr3t"), std::string::npos) << text;
}

TEST(EnvSourceTest, ExplicitNamesAndPerFieldParsers) {
  ScopedEnv url("API_URL", "http://api");
  ScopedEnv workers("MAX_WORKERS", "8");
  ScopedEnv debug("DEBUG_ENABLED", "ON");  // the field's own parser: lower() in (...)
  EnvSourceOptions o;
  Result<testing::WatchedEnvConfig> c = from_env<testing::WatchedEnvConfig>(o);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->api_url, "http://api");
  EXPECT_EQ(c->max_workers, 8);
  EXPECT_TRUE(c->debug_enabled);
  EXPECT_EQ(c->log_level, "INFO");
  // The explicit name wins over the derived one; the report says so.
  ScopedEnv key("SERVICE_API_KEY", "explicit");
  ScopedEnv derived("APP_API_KEY", "derived");
  EXPECT_EQ(from_env<EnvConfig>(typed_options())->api_key, "explicit");
  EnvReport r = env_report(typed_options());
  ASSERT_NE(binding(r, "APP_API_KEY"), nullptr);
  EXPECT_EQ(binding(r, "APP_API_KEY")->state, EnvBindingState::kShadowed);
  EXPECT_EQ(binding(r, "SERVICE_API_KEY")->state, EnvBindingState::kBound);
}

TEST(EnvSourceTest, SecretsFromFiles) {
  TempDir dir;
  auto secret = dir.write("db-password", "hunter2\n");
  ScopedEnv file_var("APP_DB__PASSWORD_FILE", secret.string());
  ScopedEnv uri("APP_DB__HOST", "file://" + dir.write("host", "db.from.file").string());
  Result<EnvConfig> c = from_env<EnvConfig>(typed_options());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->db.password, "hunter2");  // one trailing newline dropped
  EXPECT_EQ(c->db.host, "db.from.file");
  EnvReport r = env_report(typed_options());
  ASSERT_NE(binding(r, "APP_DB__PASSWORD_FILE"), nullptr);
  EXPECT_TRUE(binding(r, "APP_DB__PASSWORD_FILE")->from_file);
  EXPECT_EQ(binding(r, "APP_DB__PASSWORD_FILE")->path, KeyPath("db.password"));
  // Explicit names take _FILE too.
  ScopedEnv key_file("SERVICE_API_KEY_FILE", dir.write("key", "k-from-file").string());
  EXPECT_EQ(from_env<EnvConfig>(typed_options())->api_key, "k-from-file");
  // NAME and NAME_FILE together are an error naming both.
  {
    ScopedEnv both("APP_DB__PASSWORD", "inline");
    Result<EnvConfig> e = from_env<EnvConfig>(typed_options());
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("APP_DB__PASSWORD and APP_DB__PASSWORD_FILE"),
              std::string::npos)
        << e.error().to_string();
  }
  // A missing file is an error naming the variable and the path, never a value.
  ScopedEnv missing("APP_DB__PASSWORD_FILE", (dir / "absent").string());
  Result<EnvConfig> m = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().to_string().find("APP_DB__PASSWORD_FILE"), std::string::npos);
  EXPECT_NE(m.error().to_string().find("absent"), std::string::npos);
  EXPECT_EQ(env_report(typed_options()).ok(), false);
}

TEST(EnvSourceTest, NameFilePointingAtADirectoryIsAnErrorNamingTheVariable) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "secrets");
  ScopedEnv file_var("APP_DB__PASSWORD_FILE", (dir.path() / "secrets").string());
  Result<EnvConfig> c = from_env<EnvConfig>(typed_options());
  ASSERT_FALSE(c);
  const std::string error = c.error().to_string();
  EXPECT_NE(error.find("APP_DB__PASSWORD_FILE"), std::string::npos) << error;
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST(EnvSourceTest, BindingReport) {
  ScopedEnv good("APP_DB__PORT", "1");
  ScopedEnv typo("APP_DB__PROT", "2");
  ScopedEnv typo2("APP_LOG_LEVLE", "debug");
  ScopedEnv bad("APP_RATIO", "lots");
  ScopedEnv deep("APP_DEBUG__X", "1");
  ScopedEnv list("APP_HOSTS__0", "a");
  ScopedEnv other("OTHER_THING", "1");
  EnvReport r = env_report(typed_options());
  EXPECT_EQ(binding(r, "OTHER_THING"), nullptr);  // not under the prefix
  ASSERT_NE(binding(r, "APP_DB__PORT"), nullptr);
  EXPECT_EQ(binding(r, "APP_DB__PORT")->state, EnvBindingState::kBound);
  EXPECT_EQ(binding(r, "APP_DB__PORT")->expected_type, "integer");
  EXPECT_EQ(binding(r, "APP_DB__PROT")->state, EnvBindingState::kUnknown);
  EXPECT_EQ(binding(r, "APP_DB__PROT")->suggestion, "APP_DB__PORT");
  EXPECT_EQ(binding(r, "APP_LOG_LEVLE")->suggestion, "APP_LOG_LEVEL");
  EXPECT_EQ(binding(r, "APP_RATIO")->state, EnvBindingState::kTypeError);
  EXPECT_NE(binding(r, "APP_RATIO")->message.find("expected number"), std::string::npos)
      << binding(r, "APP_RATIO")->message;
  EXPECT_EQ(binding(r, "APP_DEBUG__X")->state, EnvBindingState::kUnknown);
  EXPECT_NE(binding(r, "APP_HOSTS__0")->message.find("set as a whole"), std::string::npos);
  EXPECT_FALSE(r.ok());
  const std::string text = r.to_string();
  EXPECT_NE(text.find("APP_DB__PROT: unknown: no field \"prot\" in db; did you mean APP_DB__PORT?"),
            std::string::npos)
      << text;
  // Every variable the schema reads is listed, set or not.
  bool has_map = false;
  for (const auto& [name, path] : r.known) {
    has_map = has_map || name == "APP_REPLICAS__<KEY>__HOST";
  }
  EXPECT_TRUE(has_map);
}

struct Ambiguous {
  int port = 0;
  int Port = 0;  // NOLINT: the point of the test
};
void liveconf_describe(Describer<Ambiguous>& d) {
  d.field("port", &Ambiguous::port);
  d.field("Port", &Ambiguous::Port);
}

TEST(EnvSourceTest, AmbiguousNamesAreReportedAndIgnored) {
  ScopedEnv v("AMB_PORT", "5");
  EnvSourceOptions o;
  o.prefix = "AMB";
  o.schema = &schema_of<Ambiguous>();
  EnvReport r = env_report(o);
  ASSERT_EQ(r.bindings.size(), 1u);
  EXPECT_EQ(r.bindings[0].state, EnvBindingState::kAmbiguous);
  EXPECT_NE(r.bindings[0].message.find("port, Port"), std::string::npos);
  Result<Ambiguous> c = from_env<Ambiguous>(o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->Port, 0);
}

TEST(EnvSourceTest, UntypedInfersJsonAndNeedsAPrefix) {
  ScopedEnv a("UNT_SERVER__PORT", "8080");
  ScopedEnv b("UNT_SERVER__NAME", "web");
  ScopedEnv c("UNT_FLAGS", "[\"x\"]");
  ScopedEnv d("UNT_ON", "true");
  ScopedEnv e("UNT_TOKEN", "[not json");  // untyped: not JSON, so a string
  EnvSourceOptions o;
  o.prefix = "UNT";
  Result<Value> t = load_env(o);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->find("server.port")->as_int(), 8080);
  EXPECT_EQ(t->find("server.name")->as_string(), "web");
  EXPECT_EQ(t->find("flags.0")->as_string(), "x");
  EXPECT_TRUE(t->find("on")->as_bool());
  EXPECT_EQ(t->find("token")->as_string(), "[not json");
  EXPECT_FALSE(load_env(EnvSourceOptions{}));
  ConfigManager manager;
  ASSERT_TRUE(manager.register_untyped("u").ok());
  Status st = manager.add_source("u", *make_env_source(EnvSourceOptions{}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("needs a prefix"), std::string::npos);
}

TEST(EnvSourceTest, ManagerKeepsLastGoodAndRecoversAtOnce) {
  ScopedEnv port("MGR_DB__PORT", "6000");
  testing::SourceEventLog events;
  ConfigManager manager(events.options());
  ASSERT_TRUE(manager.register_config<EnvConfig>("c").ok());
  EnvSourceOptions o;
  o.prefix = "MGR";
  o.poll_interval = std::chrono::hours(1);  // only set_env can wake it
  ASSERT_TRUE(manager.add_source("c", *make_env_source(o)).ok());
  auto get = [&] { return *manager.get<EnvConfig>("c"); };
  EXPECT_EQ(get()->db.port, 6000);
  const std::uint64_t gen = (*manager.snapshot("c"))->generation();

  ASSERT_TRUE(set_env("MGR_DB__PORT", "abc").ok());
  ASSERT_TRUE(wait_until([&] { return events.count() > 0; }));
  EXPECT_EQ(get()->db.port, 6000);  // the last good snapshot stays
  EXPECT_EQ((*manager.snapshot("c"))->generation(), gen);
  const SourceEvent event = events.at(0);
  EXPECT_EQ(event.state, SourceState::kError);
  ASSERT_TRUE(event.error.has_value());
  EXPECT_NE(event.error->to_string().find("$MGR_DB__PORT"), std::string::npos);
  EXPECT_EQ(event.generation, gen);
  ASSERT_TRUE(set_env("MGR_DB__PORT", "7000").ok());
  ASSERT_TRUE(wait_until([&] { return get()->db.port == 7000; }));
  // The layer version identifies the content: a fresh load of the same
  // environment has the same version (so live and fresh agree), an edit
  // changes it, and it is a keyed hash (values may be secret).
  auto version_of = [&] {
    auto versions = (*manager.snapshot("c"))->layer_versions();
    auto it = std::find_if(versions.begin(), versions.end(),
                           [](const LayerVersion& v) { return v.name == "env:MGR"; });
    return it == versions.end() ? std::string() : it->version;
  };
  const std::string v7000 = version_of();
  EXPECT_EQ(v7000.rfind("env:", 0), 0u) << v7000;
  {
    EnvSourceOptions fresh_options;
    fresh_options.prefix = "MGR";
    fresh_options.watch = false;
    std::unique_ptr<Source> fresh = make_env_source(fresh_options).value();
    ASSERT_TRUE(fresh->attach(SourceContext{"c", &schema_of<EnvConfig>()}).ok());
    Result<SourceLoad> loaded = fresh->load();
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->layers.size(), 1u);
    EXPECT_EQ(loaded->layers[0].version, v7000) << "a fresh load of the same environment";
  }
  ASSERT_TRUE(set_env("MGR_DB__PORT", "7001").ok());
  ASSERT_TRUE(wait_until([&] { return get()->db.port == 7001; }));
  EXPECT_NE(version_of(), v7000);
  ASSERT_TRUE(set_env("MGR_DB__PORT", "7000").ok());
  ASSERT_TRUE(wait_until([&] { return get()->db.port == 7000; }));
  EXPECT_EQ(version_of(), v7000) << "the same content, the same version";
  ASSERT_TRUE(unset_env("MGR_DB__PORT").ok());
  ASSERT_TRUE(wait_until([&] { return get()->db.port == 5432; }));
}

TEST(EnvSourceTest, SecretFileChangesReload) {
  TempDir dir;
  auto secret = dir.write("pw", "one");
  ScopedEnv file_var("SEC_DB__PASSWORD_FILE", secret.string());
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<EnvConfig>("c").ok());
  EnvSourceOptions o;
  o.prefix = "SEC";
  ASSERT_TRUE(manager.add_source("c", *make_env_source(o)).ok());
  EXPECT_EQ((*manager.get<EnvConfig>("c"))->db.password, "one");
  // Kubernetes rotates a secret by swapping a symlink; a rename is the same event shape.
  testing::write_file(dir / "pw.tmp", "two\n");
  std::filesystem::rename(dir / "pw.tmp", secret);
  ASSERT_TRUE(wait_until([&] { return (*manager.get<EnvConfig>("c"))->db.password == "two"; }));
  // The export masks it.
  EXPECT_EQ(manager.export_config("c")->find("two"), std::string::npos);
}

TEST(EnvSourceTest, SetEnvValidatesNames) {
  EXPECT_EQ(set_env("", "x").error().code(), ErrorCode::kValidation);
  EXPECT_EQ(set_env("A=B", "x").error().code(), ErrorCode::kValidation);
  EXPECT_EQ(set_env("A", std::string_view("x\0y", 3)).error().code(), ErrorCode::kValidation);
  ASSERT_TRUE(set_env("LIVECONF_SET_ENV_TEST", "1").ok());
  EXPECT_EQ(get_env("LIVECONF_SET_ENV_TEST"), "1");
  EXPECT_EQ(environment_snapshot("LIVECONF_SET_ENV_").size(), 1u);
  ASSERT_TRUE(unset_env("LIVECONF_SET_ENV_TEST").ok());
  EXPECT_EQ(get_env("LIVECONF_SET_ENV_TEST"), std::nullopt);
  EXPECT_TRUE(unset_env("LIVECONF_SET_ENV_TEST").ok());
}

}  // namespace
}  // namespace liveconf
