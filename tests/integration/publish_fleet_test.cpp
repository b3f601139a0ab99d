// Safe publishing and the fleet report (issue 15; docs/fleet.md), against
// the suite's real etcd: a published document reads back exactly; a
// concurrent writer makes a publish fail with nothing written; an invalid
// document is refused before anything is written; `liveconf fleet` lists
// every instance with what it serves, who refused what, and forgets a
// killed instance within its lease.
#include <csignal>
#include <map>

#include <gtest/gtest.h>

#include "liveconf/etcd.hpp"
#include "liveconf/format.hpp"
#include "liveconf/store.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/etcd_fixture.hpp"
#include "testutil/etcd_server.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Value json(std::string_view text) {
  Result<Value> v = find_format("json")->parse(text, ParseOptions{});
  EXPECT_TRUE(v) << text;
  return v ? *v : Value();
}

class PublishTest : public EtcdFixture {
 protected:
  [[nodiscard]] std::map<std::string, std::string> keys(const std::string& prefix) const {
    std::map<std::string, std::string> out;
    const std::vector<EtcdKeyValue> all = client->get(prefix, true).value();
    for (const EtcdKeyValue& kv : all) {
      out[kv.key] = kv.value;
    }
    return out;
  }
  // The tree an etcd source reads under `prefix` now.
  [[nodiscard]] Value read_back(const std::string& prefix) const {
    ConfigManager m;
    EXPECT_TRUE(m.register_untyped("app").ok());
    EtcdSourceOptions o;
    o.connection.endpoints = {etcd->endpoint()};
    o.prefix = prefix;
    EXPECT_TRUE(m.add_source("app", make_etcd_source(o).value()).ok());
    return m.snapshot("app").value()->tree();
  }
  [[nodiscard]] std::vector<std::string> with_etcd(std::vector<std::string> args) const {
    args.insert(args.end(), {"--etcd", etcd->endpoint(), "--prefix", "/app/"});
    return args;
  }
};

TEST_F(PublishTest, APublishedConfigReadsBackExactlyAndKeysItNoLongerHasGo) {
  const Value config = json(R"({
    "server": {"port": 8080, "host": "0.0.0.0", "ratio": 0.5, "tls": false},
    "looks_like": {"number": "42", "bool": "true", "null": "null", "quoted": "\"q\"",
                   "empty": "", "object": "{}", "spaces": " padded "},
    "list": [1, "two", {"three": 3}], "nothing": null, "empty": {}})");
  ASSERT_TRUE(client->put("/app/stale/key", "gone soon"));
  ASSERT_TRUE(client->put("/app/server/port", "8080"));  // already right
  EtcdPublishPlan plan = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, config).value();
  EXPECT_EQ(plan.unchanged, 1u);
  ASSERT_TRUE(std::any_of(plan.writes.begin(), plan.writes.end(), [](const EtcdWrite& w) {
    return w.kind == EtcdWrite::Kind::kDelete && w.key == "/app/stale/key";
  }));
  Result<std::int64_t> done = publish_to_etcd(*client, plan);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_GT(*done, plan.revision);
  EXPECT_TRUE(read_back("/app/") == config) << read_back("/app/").to_display_string();
  EXPECT_EQ(keys("/app/").count("/app/stale/key"), 0u);
  EXPECT_EQ(keys("/app/").at("/app/looks_like/number"), "\"42\"");
  EXPECT_EQ(keys("/app/").at("/app/server/host"), "0.0.0.0");

  // Publishing the same again changes nothing and writes nothing.
  EtcdPublishPlan again = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, config).value();
  EXPECT_TRUE(again.writes.empty());
  EXPECT_EQ(publish_to_etcd(*client, again).value(), again.revision);

  // A key segment etcd's layout cannot hold is refused, naming the path.
  Result<EtcdPublishPlan> bad =
      plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, json(R"({"a/b": 1})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("a/b"), std::string::npos) << bad.error().message();
}

TEST_F(PublishTest, AConcurrentWriterMakesThePublishFailWithNothingWritten) {
  ASSERT_TRUE(client->put("/app/a", "1"));
  ASSERT_TRUE(client->put("/app/b", "1"));
  const Value first = json(R"({"a": 2, "b": 2})");
  const Value second = json(R"({"a": 3, "b": 3, "c": 3})");
  // A running instance of the fleet, watching the prefix throughout.
  ConfigManager live;
  ASSERT_TRUE(live.register_untyped("app").ok());
  EtcdSourceOptions o;
  o.connection.endpoints = {etcd->endpoint()};
  o.prefix = "/app/";
  ASSERT_TRUE(live.add_source("app", make_etcd_source(o).value()).ok());
  // Both plans are made against the same state; the first to commit wins.
  EtcdPublishPlan p1 = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, first).value();
  EtcdPublishPlan p2 = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, second).value();
  ASSERT_TRUE(publish_to_etcd(*client, p1).ok());
  Result<std::int64_t> lost = publish_to_etcd(*client, p2);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(lost.error().message().find("nothing was written"), std::string::npos);
  EXPECT_TRUE(read_back("/app/") == first);
  // The fleet converges on the winner, and never saw the loser.
  ASSERT_TRUE(wait_until([&] { return live.snapshot("app").value()->tree() == first; }));
  EXPECT_EQ(live.snapshot("app").value()->find("c"), nullptr);

  // A key deleted, or one created, under the prefix after the plan: refused too.
  EtcdPublishPlan p3 = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, second).value();
  ASSERT_TRUE(client->remove("/app/b"));
  EXPECT_EQ(publish_to_etcd(*client, p3).error().code(), ErrorCode::kFailedPrecondition);
  EtcdPublishPlan p4 = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, second).value();
  ASSERT_TRUE(client->put("/app/new", "x"));
  EXPECT_EQ(publish_to_etcd(*client, p4).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(keys("/app/"),
            (std::map<std::string, std::string>{{"/app/a", "2"}, {"/app/new", "x"}}));
  // A key outside the prefix changing does not matter.
  EtcdPublishPlan p5 = plan_etcd_publish(*client, "/app/", EtcdLayout::kTree, second).value();
  ASSERT_TRUE(client->put("/apple", "x"));
  EXPECT_TRUE(publish_to_etcd(*client, p5).ok());
  EXPECT_TRUE(read_back("/app/") == second);
}

TEST_F(PublishTest, CliRefusesAnInvalidDocumentWithFileLineColumnAndWritesNothing) {
  const fs::path schema = tmp.write("schema.json", R"({"type": "object", "properties": {
      "port": {"type": "integer", "minimum": 1, "maximum": 65535}}})");
  const fs::path bad = tmp.write("bad.yaml", "name: demo\nport: 70000\n");
  CliResult r =
      run_cli(with_etcd({"publish", "--file", bad.string(), "--schema", schema.string()}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:2:7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was published"), std::string::npos) << r.err;
  const fs::path broken = tmp.write("broken.json", "{\"port\": 80,\n \"x\": [1, 2\n");
  r = run_cli(with_etcd({"publish", "--file", broken.string()}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("broken.json:"), std::string::npos) << r.err;
  EXPECT_TRUE(keys("/app/").empty());
  r = run_cli({"publish", "--file", bad.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(PublishTest, CliDryRunPrintsTheChangesThenPublishWritesThemSecretsMasked) {
  ASSERT_TRUE(client->put("/app/old", "1"));
  ASSERT_TRUE(client->put("/app/port", "80"));
  const fs::path file =
      tmp.write("app.yaml", "port: 8080\nname: demo\ndb:\n  password: PUBLISHSECRETQZ\n");
  CliResult r = run_cli(
      with_etcd({"publish", "--file", file.string(), "--secret", "db.password", "--dry-run"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("~ /app/port = 8080"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+ /app/name = demo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+ /app/db/password = ***"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("- /app/old"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run: nothing written"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PUBLISHSECRETQZ"), std::string::npos);
  EXPECT_EQ(keys("/app/").size(), 2u);
  // A schema's secret fields are masked the same way.
  const fs::path schema = tmp.write("schema.json", R"({"type": "object", "properties": {
      "db": {"type": "object", "properties": {"password": {"type": "string", "writeOnly": true}}}}})");
  r = run_cli(
      with_etcd({"publish", "--file", file.string(), "--schema", schema.string(), "--dry-run"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("+ /app/db/password = ***"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PUBLISHSECRETQZ"), std::string::npos);

  r = run_cli(with_etcd(
      {"publish", "--file", file.string(), "--secret", "db.password", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Value out = json(r.out);
  EXPECT_TRUE(out.find(KeyPath("published"))->as_bool()) << r.out;
  EXPECT_EQ(out.find(KeyPath("writes"))->size(), 4u) << r.out;
  EXPECT_EQ(r.out.find("PUBLISHSECRETQZ"), std::string::npos);
  EXPECT_EQ(
      keys("/app/"),
      (std::map<std::string, std::string>{
          {"/app/db/password", "PUBLISHSECRETQZ"}, {"/app/name", "demo"}, {"/app/port", "8080"}}));
}

// --- The fleet report --------------------------------------------------------

TEST_F(PublishTest, FleetListsEachInstanceWhatItServesWhoRefusedAndForgetsTheDead) {
  ASSERT_TRUE(client->put("/app/port", "80"));
  const fs::path schema = tmp.write("schema.json", R"({"type": "object", "properties": {
      "port": {"type": "integer"}}})");
  auto watch_args = [&](const std::string& id, bool strict) {
    std::vector<std::string> a =
        with_etcd({"watch", "--format", "json", "--report-as", id, "--report-ttl", "2s"});
    if (strict) {
      a.insert(a.end(), {"--schema", schema.string()});
    }
    return a;
  };
  std::vector<std::unique_ptr<WatchProcess>> fleet;
  for (const char* id : {"alpha", "beta", "gamma"}) {
    fleet.push_back(std::make_unique<WatchProcess>(watch_args(id, std::string(id) == "gamma")));
    ASSERT_TRUE(fleet.back()->next_line(10s)) << fleet.back()->out();
  }
  auto view = [&] {
    CliResult r =
        run_cli({"fleet", "--etcd", etcd->endpoint(), "--prefix", "/app/", "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json(r.out);
  };
  auto instance = [&](const Value& v, std::string_view id) -> const Value* {
    const Value* list = v.find(KeyPath("instances"));
    for (std::size_t i = 0; list != nullptr && list->is_array() && i < list->size(); ++i) {
      const Value& e = list->as_array()[i];
      const Value* name = e.find_member("id");
      if (name != nullptr && name->is_string() && name->as_string() == id) {
        return &e;
      }
    }
    return nullptr;
  };
  auto int_of = [](const Value* e, std::string_view field) -> std::int64_t {
    const Value* f = e == nullptr ? nullptr : e->find(KeyPath(field));
    return f != nullptr && f->is_int() ? f->as_int() : -1;
  };
  // A value only the strict instance refuses.
  const std::int64_t bad = client->put("/app/port", "\"x\"").value();
  ASSERT_TRUE(wait_until([&] {
    const Value now = view();
    return instance(now, "beta") != nullptr && int_of(instance(now, "alpha"), "revision") == bad &&
           int_of(instance(now, "gamma"), "refused.revision") == bad;
  })) << view().to_display_string();
  Value v = view();
  EXPECT_EQ(v.find(KeyPath("latest_revision"))->as_int(), bad);
  const Value* g = instance(v, "gamma");
  EXPECT_EQ(g->find(KeyPath("refused.revision"))->as_int(), bad);
  EXPECT_NE(g->find(KeyPath("refused.reason"))->as_string().find("port"), std::string::npos);
  EXPECT_EQ(g->find_member("state")->as_string(), "error");
  EXPECT_TRUE(g->find_member("lagging")->as_bool());
  EXPECT_FALSE(instance(v, "beta")->find_member("lagging")->as_bool());
  CliResult text = run_cli({"fleet", "--etcd", etcd->endpoint(), "--prefix", "/app/"});
  EXPECT_NE(text.out.find("3 instances"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 behind, 1 refusing"), std::string::npos) << text.out;

  // A good value again: the refusal is over for everyone.
  const std::int64_t good = client->put("/app/port", "81").value();
  ASSERT_TRUE(wait_until([&] {
    const Value now = view();
    const Value* e = instance(now, "gamma");
    return int_of(e, "revision") == good && e->find_member("refused")->is_null();
  })) << view().to_display_string();

  // kill -9: gone when its lease runs out. SIGTERM: gone at once (revoked).
  fleet[0]->signal(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return instance(view(), "alpha") == nullptr; }, 15s));
  fleet[1]->signal(SIGTERM);
  ASSERT_TRUE(fleet[1]->wait_exit(10s));
  EXPECT_EQ(instance(view(), "beta"), nullptr);
  EXPECT_NE(instance(view(), "gamma"), nullptr);
}

}  // namespace
}  // namespace liveconf::testing
