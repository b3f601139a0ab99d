// BEHAVIOUR.md section 7 (items 36-44): the etcd source against a real etcd
// server (tests/testutil/etcd_server.hpp) on 127.0.0.1, with independent
// writes through etcdctl and through liveconf::EtcdClient.
#include <arpa/inet.h>
#include <atomic>
#include <cstdio>
#include <dirent.h>
#include <future>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "liveconf/etcd.hpp"
#include "liveconf/store.hpp"

#include "sources/etcd/etcd_source_hooks.hpp"
#include "testutil/etcd_server.hpp"
#include "testutil/recorders.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

using namespace std::chrono_literals;
constexpr std::string_view kConfig = "app";

std::optional<std::string> scalar_text(const Value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  return v->is_string() ? std::string(v->as_string()) : v->to_display_string();
}

std::size_t count_entries(const char* dir) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (const dirent* e = ::readdir(d)) {
      n += e->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(d);
  }
  return n;
}

class EtcdSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LIVECONF_REQUIRE_ETCD();
    etcd = std::make_unique<EtcdServer>(tmp.path() / "etcd", server_options());
    ASSERT_TRUE(etcd->start());
    Result<std::unique_ptr<EtcdClient>> c = EtcdClient::create(connection());
    ASSERT_TRUE(c) << c.error().to_string();
    client = std::move(*c);
    start_manager();
  }
  void TearDown() override {
    subscription = Subscription();
    manager.reset();  // stops the source's session before the server goes
    client.reset();
    etcd.reset();
  }

  virtual EtcdOptions server_options() { return {}; }

  void start_manager() {
    subscription = Subscription();
    manager.reset();
    manager = std::make_unique<ConfigManager>(events.options());
    ASSERT_TRUE(manager->register_untyped(std::string(kConfig)).ok());
  }

  [[nodiscard]] EtcdConnection connection() const {
    EtcdConnection c;
    c.endpoints = {etcd->endpoint()};
    c.request_timeout = 2s;
    return c;
  }
  /// Fast reconnects and heartbeats keep the suite quick.
  [[nodiscard]] EtcdSourceOptions options(std::string prefix = "/app/") const {
    EtcdSourceOptions o;
    o.connection = connection();
    o.prefix = std::move(prefix);
    o.priority = 10;
    o.reconnect_delay = 50ms;
    o.backoff_initial = 50ms;
    o.backoff_max = 400ms;
    o.progress_interval = 200ms;
    o.progress_timeout = 1000ms;
    o.initial_timeout = 5s;
    o.debounce = Debounce{5ms, 500ms};
    return o;
  }

  /// A long first backoff with no jitter: after a disconnect, the test has
  /// about 4 s to change the server before the source reconnects.
  [[nodiscard]] EtcdSourceOptions slow_reconnect_options() const {
    EtcdSourceOptions o = options();
    o.reconnect_delay = 4s;
    o.backoff_initial = 4s;
    o.backoff_jitter = 0;
    o.backoff_max = 4s;
    return o;
  }

  Status add(EtcdSourceOptions o) {
    Result<std::unique_ptr<Source>> s = make_etcd_source(std::move(o));
    if (!s) {
      return s.status();
    }
    source = s->get();
    Status st = manager->add_source(kConfig, std::move(*s));
    // add_source returns after the listing; the watch is created right after
    // it. Tests that disturb the server next need the watch in place.
    if (st.ok() && etcd->running() && !wait_until([&] { return stats().connects >= 1; }, 10s)) {
      return Error(ErrorCode::kUnavailable, "the etcd source never opened its watch");
    }
    return st;
  }

  [[nodiscard]] EtcdSourceStats stats() const {
    std::optional<EtcdSourceStats> s = etcd_source_stats(*source);
    return s.value_or(EtcdSourceStats{});
  }
  [[nodiscard]] SnapshotPtr snapshot() const { return manager->snapshot(kConfig).value(); }
  [[nodiscard]] std::optional<std::string> value(std::string_view key) const {
    return scalar_text(snapshot()->find(KeyPath(key)));
  }
  bool wait_value(std::string_view key, const std::optional<std::string>& expected,
                  std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return value(key) == expected; }, timeout);
  }
  [[nodiscard]] std::optional<SourceStatus> source_status() const {
    Result<ConfigStatus> st = manager->status(kConfig);
    if (!st || st->sources.empty()) {
      return std::nullopt;
    }
    return st->sources.front();
  }
  bool wait_state(SourceState state, std::chrono::milliseconds timeout = 10s) const {
    return wait_until(
        [&] {
          const auto s = source_status();
          return s && s->state == state;
        },
        timeout);
  }
  [[nodiscard]] std::uint64_t publishes() const { return manager->status(kConfig)->publishes; }

  /// The config's tree as the server holds the prefix now (values as text).
  [[nodiscard]] std::map<std::string, std::string> server_state(const std::string& prefix) {
    std::map<std::string, std::string> out;
    Result<std::vector<EtcdKeyValue>> kvs = client->get(prefix, true);
    EXPECT_TRUE(kvs) << kvs.error().to_string();
    if (kvs) {
      for (const EtcdKeyValue& kv : *kvs) {
        out[kv.key.substr(prefix.size())] = kv.value;
      }
    }
    return out;
  }
  /// The config as flat key -> text, for top-level scalar keys.
  [[nodiscard]] std::map<std::string, std::string> config_state() const {
    std::map<std::string, std::string> out;
    const Value& root = snapshot()->tree();
    if (root.is_object()) {
      for (const auto& [k, v] : root.as_object()) {
        out[k] = *scalar_text(&v);
      }
    }
    return out;
  }

  /// A put through EtcdClient. Right after a server restart the client's
  /// old connection may fail one request ("Socket closed"); writes are not
  /// retried by the library (a retried write could apply twice), so the
  /// test retries until its deadline.
  std::int64_t put(const std::string& key, const std::string& value) {
    std::optional<Error> last;
    std::int64_t revision = 0;
    const bool done = wait_until(
        [&] {
          Result<std::int64_t> r = client->put(key, value);
          if (r) {
            revision = *r;
            return true;
          }
          last = r.error();
          return r.error().code() != ErrorCode::kUnavailable;
        },
        10s);
    EXPECT_TRUE(done && revision > 0) << (last ? last->to_string() : "timed out");
    return revision;
  }

  TempDir tmp;
  std::unique_ptr<EtcdServer> etcd;
  std::unique_ptr<EtcdClient> client;
  SourceEventLog events;
  std::unique_ptr<ConfigManager> manager;
  Source* source = nullptr;  // owned by the manager
  ChangeLog changes;
  Subscription subscription;
};

// --- 36. Initial load: paginated Range at one revision, then Watch from R+1 ---

TEST_F(EtcdSourceTest, B36_InitialLoadListsEveryPageAtOneRevision) {
  std::map<std::string, std::string> before;  // the prefix before the racing writes
  for (int i = 0; i < 25; ++i) {
    const std::string key = "key" + std::to_string(100 + i);
    put("/app/" + key, std::to_string(i));
    before[key] = std::to_string(i);
  }
  put("/apple/not-ours", "1");            // a neighbour of the prefix, not under it
  EtcdSourceOptions o = options("/app");  // "/" is appended: /apple stays out
  // 4 pages: key100-106, key107-113, key114-120, key121-124.
  o.page_size = 7;
  Result<std::unique_ptr<Source>> made = make_etcd_source(o);
  ASSERT_TRUE(made) << made.error().to_string();
  source = made->get();

  // Between the first page and the second, another writer changes keys on
  // every later page. A listing pinned at the first page's revision R cannot
  // see these writes; one that reads a later page at the current revision
  // would. Then the session is held after the listing, so the configuration
  // add_source publishes is the listing itself, before the watch replays the
  // writes. Shared state: the hooks run on the session thread.
  struct Race {
    std::vector<std::int64_t> revisions;  // of the racing writes
    std::vector<std::string> errors;
    int pages_seen = 0;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::once_flag once;
    void open() {
      std::call_once(once, [this] { release.set_value(); });
    }
  };
  auto race = std::make_shared<Race>();
  EtcdClient* writer = client.get();
  detail::EtcdSourceHooks hooks;
  hooks.after_page = [race, writer](int page) {
    race->pages_seen = std::max(race->pages_seen, page);
    if (page != 1 || !race->revisions.empty()) {
      return;
    }
    for (Result<std::int64_t> r : {writer->put("/app/key107", "changed"),     // page 2
                                   writer->remove("/app/key118"),             // page 3
                                   writer->put("/app/key119x", "new"),        // page 3
                                   writer->put("/app/key124", "changed")}) {  // page 4
      if (r) {
        race->revisions.push_back(*r);
      } else {
        race->errors.push_back(r.error().to_string());
      }
    }
  };
  hooks.after_list = [race] { (void)race->released.wait_for(10s); };
  ASSERT_TRUE(detail::set_etcd_source_hooks_for_test(*source, hooks));
  const struct Release {
    std::shared_ptr<Race> race;
    ~Release() { race->open(); }  // never leave the session held, even on a failed assert
  } release{race};

  const Status added = manager->add_source(kConfig, std::move(*made));
  ASSERT_TRUE(added.ok()) << added.to_string();
  ASSERT_TRUE(race->errors.empty()) << race->errors.front();
  ASSERT_EQ(race->revisions.size(), 4u);
  const EtcdSourceStats listed = stats();
  EXPECT_EQ(listed.lists, 1u);
  EXPECT_EQ(listed.list_pages, 4u) << "25 keys at 7 a page";
  EXPECT_EQ(race->pages_seen, 4);
  EXPECT_LT(listed.list_revision, race->revisions.front())
      << "R is the first page's revision, before the racing writes";
  // The published configuration is the prefix as it was at R, page for page.
  const CtlResult at_r =
      etcd->ctl({"get", "--prefix", "--rev=" + std::to_string(listed.list_revision), "/app/"});
  ASSERT_TRUE(at_r.ok()) << at_r.err;
  std::map<std::string, std::string> server_at_r;
  std::istringstream lines(at_r.out);
  for (std::string key, val; std::getline(lines, key) && std::getline(lines, val);) {
    server_at_r[key.substr(std::string("/app/").size())] = val;
  }
  EXPECT_EQ(server_at_r, before);
  EXPECT_EQ(config_state(), server_at_r) << "a page was read at a revision other than R";

  // Released, the watch starts at R + 1 and delivers each racing write once.
  race->open();
  ASSERT_TRUE(wait_until([&] { return stats().connects >= 1; }, 10s));
  const std::map<std::string, std::string> now = server_state("/app/");
  ASSERT_NE(now, before);
  ASSERT_TRUE(wait_until([&] { return config_state() == now; }, 10s));
  const EtcdSourceStats s = stats();
  EXPECT_EQ(s.lists, 1u);
  EXPECT_EQ(s.last_watch_start, s.list_revision + 1) << "the watch starts right after the list";
  EXPECT_EQ(s.events, 4u) << "each racing write exactly once";
}

TEST_F(EtcdSourceTest, B36_PutsRacingTheStartAreEachAppliedExactlyOnce) {
  // A writer keeps putting while the source lists and opens its watch, so
  // some puts land between the Range and the Watch. Every put after the
  // listing's revision must arrive as exactly one event, none before it.
  std::vector<std::int64_t> revisions;  // the writer's; read after join()
  std::atomic<int> written{0};
  std::jthread writer([&] {
    for (int i = 1; i <= 300; ++i) {
      Result<std::int64_t> r = client->put("/app/counter", std::to_string(i));
      if (r) {
        revisions.push_back(*r);
        written.fetch_add(1);
      }
    }
  });
  ASSERT_TRUE(wait_until([&] { return written.load() >= 20; }, 10s));
  const Status st = add(options());
  writer.join();
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(revisions.size(), 300u);
  ASSERT_TRUE(wait_value("counter", "300"));
  const EtcdSourceStats s = stats();
  const auto after_list = std::count_if(revisions.begin(), revisions.end(),
                                        [&](std::int64_t r) { return r > s.list_revision; });
  EXPECT_EQ(s.events, static_cast<std::uint64_t>(after_list))
      << "list revision " << s.list_revision;
  EXPECT_EQ(s.lists, 1u);
}

// --- 37. A transaction is one reload -------------------------------------------

TEST_F(EtcdSourceTest, B37_MultiKeyTransactionIsAppliedAsOneReload) {
  put("/app/a", "1");
  put("/app/b", "1");
  ASSERT_TRUE(add(options()).ok());
  subscription = manager->subscribe(kConfig, KeyPath(), changes.fn()).value();
  const std::uint64_t before = publishes();
  // etcdctl txn: no compares, three writes in the success branch.
  // etcdctl's interactive txn: compares, an empty line, the success
  // requests, an empty line, the failure requests, an empty line.
  const CtlResult r =
      etcd->ctl({"txn"}, "\nput /app/a 2\nput /app/b 2\ndel /app/c\nput /app/d 2\n\n\n");
  ASSERT_TRUE(r.ok()) << r.err;
  ASSERT_TRUE(wait_value("d", "2"));
  ASSERT_TRUE(wait_until([&] { return changes.count() >= 1; }, 5s));
  EXPECT_EQ(changes.count(), 1u);
  EXPECT_EQ(changes.at(0).size(), 3u);  // a, b, d (c never existed)
  EXPECT_EQ(value("a"), "2");
  EXPECT_EQ(value("b"), "2");
  EXPECT_EQ(publishes(), before + 1);
  EXPECT_EQ(stats().events, 3u);  // deleting a missing key makes no event
}

// --- 38. Deletes, explicit and by lease expiry -----------------------------------

TEST_F(EtcdSourceTest, B38_ExplicitDeleteRemovesTheKey) {
  put("/app/keep", "1");
  put("/app/gone", "1");
  ASSERT_TRUE(add(options()).ok());
  ASSERT_EQ(value("gone"), "1");
  ASSERT_TRUE(etcd->del("/app/gone"));
  ASSERT_TRUE(wait_value("gone", std::nullopt));
  EXPECT_EQ(value("keep"), "1");
}

TEST_F(EtcdSourceTest, B38_LeaseExpiryRemovesTheKey) {
  put("/app/keep", "1");
  Result<std::int64_t> lease = client->grant_lease(1s);
  ASSERT_TRUE(lease) << lease.error().to_string();
  ASSERT_TRUE(client->put("/app/ephemeral", "here", *lease));
  ASSERT_TRUE(add(options()).ok());
  ASSERT_EQ(value("ephemeral"), "here");
  // Nobody keeps the lease alive: etcd expires it (its minimum TTL is a few
  // seconds) and sends a DELETE event.
  ASSERT_TRUE(wait_value("ephemeral", std::nullopt, 20s));
  EXPECT_EQ(value("keep"), "1");
  EXPECT_EQ(source_status()->state, SourceState::kOk);
}

// --- 39 / 40. Restart and crash: reconnect, resume from last-seen + 1 ----------

TEST_F(EtcdSourceTest, B39_SigtermRestartResumesFromLastSeenAndSeesWritesMadeMeanwhile) {
  put("/app/a", "1");
  ASSERT_TRUE(add(slow_reconnect_options()).ok());
  const EtcdSourceStats before = stats();
  etcd->stop(SIGTERM);
  ASSERT_TRUE(wait_state(SourceState::kStale));
  EXPECT_EQ(value("a"), "1");  // BEHAVIOUR 43
  ASSERT_TRUE(etcd->start());
  put("/app/a", "2");
  put("/app/b", "2");
  ASSERT_TRUE(etcd->del("/app/a"));
  ASSERT_FALSE(stats().connected) << "the source reconnected before the writes were made";
  ASSERT_TRUE(wait_value("b", "2", 15s));
  ASSERT_TRUE(wait_value("a", std::nullopt));
  ASSERT_TRUE(wait_state(SourceState::kOk));
  const EtcdSourceStats after = stats();
  EXPECT_EQ(after.lists, 1u) << "resumed, not listed again";
  EXPECT_EQ(after.last_watch_start, before.revision + 1);
  EXPECT_EQ(after.events, 3u);  // exactly the three writes: no duplicates
  EXPECT_EQ(after.connects, 2u);
}

TEST_F(EtcdSourceTest, B39_ReconnectsWaitAJitteredDelayThenDoubleToTheCapWithFullJitter) {
  put("/app/a", "1");
  EtcdSourceOptions o = options();
  o.reconnect_delay = 40ms;
  o.backoff_initial = 10ms;
  o.backoff_max = 320ms;
  o.backoff_jitter = 1.0;  // full jitter: anywhere in [0, nominal]
  // Each attempt against the dead server fails within this (requests wait
  // for a connection up to their deadline).
  o.connection.request_timeout = 300ms;
  ASSERT_TRUE(add(o).ok());
  ASSERT_EQ(stats().backoffs, 0u);
  ASSERT_TRUE(stats().recent_backoffs.empty());

  // The nominal wait of the `failed`-th attempt after the lost stream: the
  // delay, doubling from it.
  auto nominal = [&](std::size_t failed) {
    std::chrono::milliseconds n = o.reconnect_delay;
    for (std::size_t i = 0; i < failed; ++i) {
      n = std::min(n * 2, o.backoff_max);
    }
    return n;
  };

  etcd->kill();
  // Nominal 40 (the lost stream's delay), 80, 160, 320, 320, 320, 320, 320 ms.
  constexpr std::size_t kWaits = 8;
  ASSERT_TRUE(wait_until([&] { return stats().backoffs >= kWaits; }, 30s));
  const EtcdSourceStats s = stats();
  ASSERT_LE(s.backoffs, EtcdSourceStats::kRecentBackoffs);
  ASSERT_EQ(s.recent_backoffs.size(), s.backoffs);
  EXPECT_TRUE(s.recent_backoffs[0].after_lost_stream);
  std::set<double> factors;
  for (std::size_t i = 0; i < kWaits; ++i) {
    const EtcdBackoff& b = s.recent_backoffs[i];
    EXPECT_EQ(b.after_lost_stream, i == 0) << "wait " << i;
    EXPECT_EQ(b.nominal, nominal(i)) << "wait " << i;
    EXPECT_LE(b.nominal, o.backoff_max) << "wait " << i;
    // Full jitter: anywhere in [0, nominal].
    EXPECT_GE(b.wait.count(), 0) << "wait " << i;
    EXPECT_LE(b.wait, b.nominal) << "wait " << i << ": " << b.wait.count() << " ms";
    factors.insert(static_cast<double>(b.wait.count()) / static_cast<double>(b.nominal.count()));
  }
  EXPECT_EQ(s.recent_backoffs[kWaits - 1].nominal, o.backoff_max) << "the cap is reached";
  // Jitter: not one fixed factor. (All eight alike by chance: ~1e-15.)
  EXPECT_GT(factors.size(), 1u) << "every wait was " << *factors.begin() << " x nominal";
  EXPECT_FALSE(s.connected);

  // After a healthy stream the schedule starts again from the delay.
  const std::uint64_t connects = s.connects;
  ASSERT_TRUE(etcd->start());
  ASSERT_TRUE(wait_until([&] { return stats().connects > connects; }, 15s))
      << "backoffs " << stats().backoffs << ", state "
      << (source_status() && source_status()->last_error ? source_status()->last_error->to_string()
                                                         : "?");
  const std::uint64_t healthy_at = stats().backoffs;
  etcd->kill();
  ASSERT_TRUE(wait_until([&] { return stats().backoffs >= healthy_at + 3; }, 15s));
  const EtcdSourceStats t = stats();
  const std::size_t first =
      t.recent_backoffs.size() - static_cast<std::size_t>(t.backoffs - healthy_at);
  EXPECT_TRUE(t.recent_backoffs[first].after_lost_stream) << "not reset after a healthy stream";
  EXPECT_EQ(t.recent_backoffs[first].nominal, o.reconnect_delay);
  EXPECT_EQ(t.recent_backoffs[first + 1].nominal, nominal(1));
  EXPECT_EQ(t.recent_backoffs[first + 2].nominal, nominal(2));
}

TEST_F(EtcdSourceTest, B56_WithoutJitterEveryWaitIsItsNominalValue) {
  put("/app/a", "1");
  EtcdSourceOptions o = options();
  o.reconnect_delay = 30ms;
  o.backoff_initial = 20ms;
  o.backoff_max = 80ms;
  o.backoff_jitter = 0;
  o.connection.request_timeout = 300ms;
  ASSERT_TRUE(add(o).ok());
  etcd->kill();
  ASSERT_TRUE(wait_until([&] { return stats().backoffs >= 5; }, 30s));
  const EtcdSourceStats s = stats();
  // After a lost stream: the delay, then doubling from it to the cap.
  std::vector<std::chrono::milliseconds> expected{30ms, 60ms, 80ms, 80ms, 80ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s.recent_backoffs[i].nominal, expected[i]) << "wait " << i;
    EXPECT_EQ(s.recent_backoffs[i].wait, expected[i]) << "wait " << i;
  }

  // With no stream before (unreachable at start): backoff_initial, doubling.
  start_manager();
  o.optional = true;
  o.initial_timeout = 100ms;
  ASSERT_TRUE(add(o).ok());
  ASSERT_TRUE(wait_until([&] { return stats().backoffs >= 4; }, 30s));
  const EtcdSourceStats u = stats();
  expected = {20ms, 40ms, 80ms, 80ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_FALSE(u.recent_backoffs[i].after_lost_stream) << "wait " << i;
    EXPECT_EQ(u.recent_backoffs[i].wait, expected[i]) << "wait " << i;
  }

  // Out-of-range settings are refused up front.
  EtcdSourceOptions bad = options();
  bad.backoff_jitter = 1.5;
  EXPECT_EQ(make_etcd_source(bad).error().code(), ErrorCode::kValidation);
  bad = options();
  bad.reconnect_delay = -1ms;
  EXPECT_EQ(make_etcd_source(bad).error().code(), ErrorCode::kValidation);
}

// A reconnect waiting for etcd's connection (the herd guard) is ended by
// stop() within a slice, not after the request timeout.
TEST_F(EtcdSourceTest, StoppingWhileWaitingForAReconnectIsPrompt) {
  put("/app/a", "1");
  EtcdSourceOptions o = options();
  o.reconnect_delay = 10ms;
  o.backoff_initial = 10ms;
  o.backoff_max = 20ms;
  o.connection.request_timeout = 10s;  // what a stop must not wait for
  ASSERT_TRUE(add(o).ok());
  etcd->kill();
  // The session is in the herd guard, waiting for a connection that will not come.
  ASSERT_TRUE(wait_until([&] { return stats().connection_waits >= 1; }));
  const auto started = std::chrono::steady_clock::now();
  manager.reset();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 3s) << "the stop waited "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

TEST_F(EtcdSourceTest, B40_SigkillMidStreamIsADisconnectResumedTheSameWay) {
  ASSERT_TRUE(add(options()).ok());
  std::atomic<int> written{0};
  std::jthread writer([&](const std::stop_token& stop) {
    auto c = EtcdClient::create(connection());
    for (int i = 0; !stop.stop_requested(); ++i) {
      if ((*c)->put("/app/k" + std::to_string(i % 20), std::to_string(i))) {
        written.fetch_add(1);
      } else {
        std::this_thread::sleep_for(10ms);  // pace retries while etcd is down
      }
    }
  });
  ASSERT_TRUE(wait_until([&] { return stats().events >= 50; }, 10s));
  etcd->kill();
  ASSERT_TRUE(wait_state(SourceState::kStale));
  ASSERT_TRUE(etcd->start());
  const int at_restart = written.load();
  ASSERT_TRUE(wait_until([&] { return written.load() >= at_restart + 50; }, 10s));
  writer.request_stop();
  writer.join();
  ASSERT_TRUE(wait_state(SourceState::kOk));
  const std::map<std::string, std::string> server = server_state("/app/");
  ASSERT_TRUE(wait_until([&] { return config_state() == server; }, 10s));
  EXPECT_EQ(stats().lists, 1u) << "resumed from last-seen + 1, no relist";
  EXPECT_GE(stats().connects, 2u);
}

// --- 41. Compaction while disconnected -----------------------------------------

TEST_F(EtcdSourceTest, B41_CompactionWhileDisconnectedRelistsToTheServersExactState) {
  put("/app/a", "1");
  put("/app/b", "1");
  ASSERT_TRUE(add(slow_reconnect_options()).ok());
  ASSERT_TRUE(etcd->restart());  // the source now waits 4 s to reconnect
  ASSERT_TRUE(wait_state(SourceState::kStale));
  ASSERT_TRUE(etcd->del("/app/b"));
  put("/app/c", "3");
  const std::int64_t compact_at = put("/app/a", "2");
  ASSERT_TRUE(client->compact(compact_at).ok());
  ASSERT_FALSE(stats().connected) << "the source reconnected before the compaction";
  ASSERT_TRUE(wait_value("c", "3", 15s));
  ASSERT_TRUE(wait_state(SourceState::kOk));
  EXPECT_EQ(config_state(), server_state("/app/"));  // b deleted, a = 2, c = 3
  const EtcdSourceStats s = stats();
  EXPECT_EQ(s.lists, 2u);
  EXPECT_EQ(s.compact_revision, compact_at);
  EXPECT_GT(s.last_watch_start, s.compact_revision)
      << "a watch is never opened at or below the known compaction";
}

TEST_F(EtcdSourceTest, B41_AResumeAtACompactedRevisionIsNeverReportedOkOnTheOldMirror) {
  put("/app/a", "1");
  put("/app/b", "1");
  ASSERT_TRUE(add(slow_reconnect_options()).ok());
  ASSERT_TRUE(etcd->restart());  // the source now waits 4 s to reconnect
  ASSERT_TRUE(wait_state(SourceState::kStale));
  const std::uint64_t old_generation = snapshot()->generation();
  // Only a delete under the prefix: its newest key is unchanged, its count
  // is not, so the source resumes from its revision, which is compacted.
  ASSERT_TRUE(etcd->del("/app/b"));
  const std::int64_t compact_at = put("/other/x", "1");
  ASSERT_TRUE(client->compact(compact_at).ok());
  ASSERT_FALSE(stats().connected) << "the source reconnected before the compaction";
  ASSERT_TRUE(wait_value("b", std::nullopt, 15s));
  ASSERT_TRUE(wait_state(SourceState::kOk));
  // etcd sends the watch's `created` before the compaction notice: the source
  // must not call itself ok in between, on the old mirror (b still there, the
  // generation from before the outage). The first ok after the stale report
  // (announced just after status() shows it) must come with the relisting.
  std::optional<SourceEvent> back;
  ASSERT_TRUE(wait_until([&] {
    bool stale = false;
    for (std::size_t i = 0; i < events.count(); ++i) {
      const SourceEvent e = events.at(i);
      if (e.state == SourceState::kStale) {
        stale = true;
      } else if (stale && e.state == SourceState::kOk) {
        back = e;
        return true;
      }
    }
    return false;
  }));
  EXPECT_GT(back->generation, old_generation)
      << "reported ok at generation " << back->generation << " (the old mirror) before relisting";
  EXPECT_EQ(config_state(), server_state("/app/"));
  const EtcdSourceStats s = stats();
  EXPECT_EQ(s.compact_revision, compact_at)
      << "the watch was opened at the compacted revision (the case under test)";
  EXPECT_EQ(s.lists, 2u);
  EXPECT_EQ(s.relists, 1u);
  EXPECT_EQ(s.fast_forwards, 0u);
}

// --- Reconnects of a quiet prefix: no relist after others' writes + compaction ---

TEST_F(EtcdSourceTest,
       B39_AQuietPrefixResumesAfterOthersWritesCompactionAndARestartWithoutRelisting) {
  put("/app/a", "1");
  put("/app/b", "2");
  ASSERT_TRUE(add(options()).ok());
  const EtcdSourceStats before = stats();
  // The rest of the cluster moves on and its history is compacted past the
  // last revision the source saw.
  std::int64_t compact_at = 0;
  for (int i = 0; i < 20; ++i) {
    compact_at = put("/other/k" + std::to_string(i % 3), std::to_string(i));
  }
  ASSERT_TRUE(client->compact(compact_at).ok());
  ASSERT_LT(before.revision, compact_at);
  ASSERT_TRUE(etcd->restart());
  ASSERT_TRUE(wait_until(
      [&] {
        const EtcdSourceStats s = stats();
        return s.reconnects >= 1 && s.connected;
      },
      15s));
  ASSERT_TRUE(wait_state(SourceState::kOk));
  const EtcdSourceStats after = stats();
  EXPECT_EQ(after.lists, 1u) << "relisted";
  EXPECT_EQ(after.relists, 0u);
  EXPECT_GE(after.fast_forwards, 1u);
  EXPECT_GE(after.revision, compact_at) << "the resume revision advanced to the server's";
  EXPECT_GT(after.last_watch_start, compact_at);
  EXPECT_EQ(after.compact_revision, 0) << "no watch was opened at a compacted revision";
  EXPECT_EQ(after.events, 0u);
  EXPECT_EQ(config_state(), server_state("/app/"));
  // The watch opened at the new revision is live.
  put("/app/c", "3");
  ASSERT_TRUE(wait_value("c", "3"));
  EXPECT_EQ(stats().lists, 1u);
  EXPECT_EQ(stats().events, 1u);
}

// --- 42. A frozen server is detected; the source recovers after SIGCONT ----------

TEST_F(EtcdSourceTest, B42_FrozenServerIsDetectedByProgressRequestsAndRecovers) {
  put("/app/a", "1");
  ASSERT_TRUE(add(options()).ok());
  ASSERT_TRUE(etcd->pause());
  // progress_interval 200 ms + progress_timeout 1 s: detected well within 10 s.
  const auto paused_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_state(SourceState::kStale));
  EXPECT_LT(std::chrono::steady_clock::now() - paused_at, 10s);
  // The first stale report says why: the unanswered progress request. (It is
  // announced just after status() shows the state: wait for it.)
  const std::optional<SourceEvent> stale = events.wait_for(
      [](const SourceEvent& e) { return e.state == SourceState::kStale && e.error.has_value(); });
  ASSERT_TRUE(stale.has_value());
  const std::string first_stale = stale->error->to_string();
  EXPECT_NE(first_stale.find("no answer to a progress request"), std::string::npos) << first_stale;
  EXPECT_EQ(value("a"), "1");
  ASSERT_TRUE(etcd->resume());
  ASSERT_TRUE(wait_state(SourceState::kOk, 15s));
  put("/app/a", "2");
  EXPECT_TRUE(wait_value("a", "2"));
}

// --- 43. An outage never empties the configuration ------------------------------

TEST_F(EtcdSourceTest, B43_OutageKeepsTheLastGoodLayerAndReportsTheSourceStale) {
  put("/app/a", "1");
  ASSERT_TRUE(add(options()).ok());
  const std::uint64_t generation = snapshot()->generation();
  etcd->kill();
  ASSERT_TRUE(wait_state(SourceState::kStale));
  EXPECT_EQ(value("a"), "1");
  EXPECT_EQ(snapshot()->generation(), generation) << "nothing was published";
  const std::optional<SourceStatus> st = source_status();
  ASSERT_TRUE(st->last_error.has_value());
  EXPECT_EQ(st->last_error->code(), ErrorCode::kUnavailable);
  EXPECT_NE(st->last_error->message().find(etcd->endpoint()), std::string::npos)
      << st->last_error->to_string();
  EXPECT_TRUE(events.wait_for([](const SourceEvent& e) { return e.state == SourceState::kStale; })
                  .has_value());
  ASSERT_TRUE(etcd->start());
  ASSERT_TRUE(wait_state(SourceState::kOk, 15s));
  EXPECT_EQ(value("a"), "1");
}

TEST_F(EtcdSourceTest, B43_UnreachableAtStartFailsARequiredSourceAndStalesAnOptionalOne) {
  etcd->kill();
  EtcdSourceOptions o = options();
  o.initial_timeout = 500ms;
  const Status required = add(o);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error().code(), ErrorCode::kUnavailable) << required.to_string();
  o.optional = true;
  ASSERT_TRUE(add(o).ok());
  EXPECT_EQ(source_status()->state, SourceState::kStale);
  ASSERT_TRUE(etcd->start());
  put("/app/a", "1");
  EXPECT_TRUE(wait_value("a", "1", 15s));
  EXPECT_EQ(source_status()->state, SourceState::kOk);
}

// --- 44. A delete-then-put burst never publishes an empty configuration ----------

TEST_F(EtcdSourceTest, B44_DeletePrefixThenReputNeverPublishesAnEmptyConfig) {
  for (const char* k : {"a", "b", "c"}) {
    put(std::string("/app/") + k, "1");
  }
  ASSERT_TRUE(add(options()).ok());
  std::vector<std::size_t> sizes;
  std::mutex mu;
  subscription = manager
                     ->subscribe(kConfig, KeyPath(),
                                 [&](const SnapshotPtr&, const SnapshotPtr& now, const ChangeSet&) {
                                   std::lock_guard<std::mutex> lk(mu);
                                   sizes.push_back(now->tree().size());
                                 })
                     .value();
  for (int round = 2; round <= 4; ++round) {
    // Separate requests, as a tool rewriting the prefix makes them; the
    // pause between delete and re-put is longer than the debounce.
    ASSERT_TRUE(client->remove("/app/", true));
    std::this_thread::sleep_for(100ms);  // the gap under test, not a wait for a result
    for (const char* k : {"a", "b", "c"}) {
      put(std::string("/app/") + k, std::to_string(round));
    }
    ASSERT_TRUE(wait_value("c", std::to_string(round)));
  }
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_FALSE(sizes.empty());
  for (std::size_t n : sizes) {
    // Between the re-puts a configuration with some of the keys may go out
    // (each put is its own revision); an empty one never does.
    EXPECT_GT(n, 0u) << "an empty configuration was published";
  }
}

TEST_F(EtcdSourceTest, B44_APrefixThatStaysEmptyIsPublishedEmptyAfterTheGrace) {
  put("/app/a", "1");
  EtcdSourceOptions o = options();
  o.empty_grace = 500ms;
  ASSERT_TRUE(add(o).ok());
  ASSERT_TRUE(client->remove("/app/", true));
  ASSERT_TRUE(wait_value("a", std::nullopt, 10s));
  EXPECT_EQ(snapshot()->tree().size(), 0u);
}

// --- Mapping and provenance ----------------------------------------------------

// --- 54. Health gate: quarantined content stays out however it comes back --

TEST_F(EtcdSourceTest, B54_AQuarantinedValuePutAgainStaysOut) {
  put("/app/level", "1");
  ASSERT_TRUE(add(options()).ok());
  ASSERT_TRUE(manager->mark_healthy(kConfig, snapshot()->generation()).ok());
  put("/app/level", "2");
  ASSERT_TRUE(wait_value("level", "2"));
  Result<std::uint64_t> r = manager->revert(kConfig, RevertOptions{0, "level 2 broke it"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(value("level"), "1");
  ASSERT_TRUE(wait_state(SourceState::kError));

  // The same value put again has a new revision and is the same content.
  const std::uint64_t loads = source_status()->loads;
  put("/app/level", "2");
  ASSERT_TRUE(wait_until([&] { return source_status()->loads > loads; }));
  EXPECT_EQ(value("level"), "1");
  EXPECT_EQ(snapshot()->generation(), *r);
  EXPECT_EQ(source_status()->state, SourceState::kError);

  put("/app/level", "3");
  ASSERT_TRUE(wait_value("level", "3"));
  EXPECT_TRUE(wait_state(SourceState::kOk));
}

// --- 56. Offline boot from the encrypted last-good cache -------------------

constexpr std::string_view kCacheMarker = "ETCDCACHESECRETQZ";

TEST_F(EtcdSourceTest, B56_OfflineBootServesTheCacheAtOnceStaleThenConvergesWithOneDiff) {
  EtcdSourceOptions o = options();
  o.cache_file = tmp / "app.cache";
  o.cache_key_file = write_key_file(tmp / "cache.key");
  put("/app/a", "1");
  put("/app/password", std::string(kCacheMarker));
  ASSERT_TRUE(add(o).ok());
  const std::int64_t first = stats().revision;
  ASSERT_TRUE(wait_until([&] { return stats().cache_revision == first; }));
  EXPECT_GE(stats().cache_writes, 1u);
  const std::int64_t second = put("/app/a", "2");
  ASSERT_TRUE(wait_value("a", "2"));
  ASSERT_TRUE(wait_until([&] { return stats().cache_revision == second; }));
  EXPECT_EQ(all_bytes(o.cache_file).find(kCacheMarker), std::string::npos);
  EXPECT_TRUE(stats().cache_error.empty()) << stats().cache_error;

  // The process goes, etcd changes, then etcd goes too.
  start_manager();
  put("/app/a", "3");
  etcd->kill();

  // A new process with etcd down starts from the cache at once, stale.
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(add(o).ok());
  const auto took = std::chrono::steady_clock::now() - started;
  std::printf("offline boot: add_source returned in %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_LT(took, 100ms) << "waited for etcd instead of serving the cache";
  EXPECT_EQ(value("a"), "2");
  EXPECT_EQ(value("password"), std::string(kCacheMarker));
  std::optional<SourceStatus> st = source_status();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->state, SourceState::kStale);
  ASSERT_TRUE(st->last_error.has_value());
  EXPECT_NE(st->last_error->message().find("serving the cache " + o.cache_file.string() +
                                           " of revision " + std::to_string(second)),
            std::string::npos)
      << st->last_error->message();
  EXPECT_TRUE(stats().serving_cache);

  // etcd returns: one diff, to what etcd holds now.
  subscription = manager->subscribe(kConfig, KeyPath(), changes.fn()).value();
  ASSERT_TRUE(etcd->start());
  ASSERT_TRUE(wait_value("a", "3", 20s));
  ASSERT_TRUE(wait_state(SourceState::kOk));
  // The subscriber is called on the dispatch thread after the publish that
  // wait_value saw: wait for the call, then check there was exactly one.
  ASSERT_TRUE(wait_until([&] { return changes.count() >= 1; }));
  EXPECT_EQ(changes.count(), 1u);
  EXPECT_EQ(changes.at(0).size(), 1u);
  EXPECT_FALSE(stats().serving_cache);
  const std::int64_t now_at = stats().revision;
  EXPECT_TRUE(wait_until([&] { return stats().cache_revision == now_at; }));
}

TEST_F(EtcdSourceTest, B56_ATamperedCacheIsRefusedWithTheReasonAndTreatedAsAbsent) {
  EtcdSourceOptions o = options();
  o.cache_file = tmp / "app.cache";
  o.cache_key_file = write_key_file(tmp / "cache.key");
  put("/app/a", "1");
  ASSERT_TRUE(add(o).ok());
  ASSERT_TRUE(wait_until([&] { return stats().cache_writes >= 1; }));
  start_manager();
  etcd->kill();
  std::string bytes = *read_file(o.cache_file);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  write_file(o.cache_file, bytes);

  // Optional: stale with nothing, and the reason names the cache.
  o.optional = true;
  o.initial_timeout = 500ms;
  ASSERT_TRUE(add(o).ok());
  EXPECT_EQ(value("a"), std::nullopt);
  std::optional<SourceStatus> st = source_status();
  ASSERT_TRUE(st.has_value() && st->last_error.has_value());
  EXPECT_EQ(st->state, SourceState::kStale);
  EXPECT_NE(st->last_error->message().find("cache " + o.cache_file.string() + " is refused"),
            std::string::npos)
      << st->last_error->message();
  EXPECT_NE(stats().cache_error.find("fails authentication"), std::string::npos);

  // Required: add_source fails, saying why the cache did not help.
  start_manager();
  o.optional = false;
  Status required = add(o);
  ASSERT_FALSE(required.ok());
  EXPECT_NE(required.error().message().find("is refused"), std::string::npos)
      << required.error().message();

  // Without a key there is no cache at all: never plaintext.
  EtcdSourceOptions no_key = options();
  no_key.cache_file = tmp / "app.cache";
  Result<std::unique_ptr<Source>> refused = make_etcd_source(no_key);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kValidation);
}

TEST_F(EtcdSourceTest, KeysBecomePathsValuesAreJsonElseStringsWithKeyAndRevision) {
  put("/app/db/port", "5432");
  put("/app/db/host", "db.internal");
  put("/app/db/ssl", "true");
  put("/app/limits", R"({"rps": 100, "burst": [1, 2]})");
  const std::int64_t rev = put("/app/name", R"("quoted")");
  ASSERT_TRUE(add(options()).ok());
  const SnapshotPtr s = snapshot();
  const Value* port = s->find(KeyPath("db.port"));
  ASSERT_NE(port, nullptr);
  EXPECT_TRUE(port->is_int());
  EXPECT_EQ(port->as_int(), 5432);
  EXPECT_EQ(port->origin().remote_key(), "/app/db/port");
  EXPECT_EQ(s->find(KeyPath("db.host"))->as_string(), "db.internal");
  EXPECT_TRUE(s->find(KeyPath("db.ssl"))->as_bool());
  EXPECT_EQ(s->find(KeyPath("limits.rps"))->as_int(), 100);
  EXPECT_EQ(s->find(KeyPath("limits.burst"))->size(), 2u);
  const Value* name = s->find(KeyPath("name"));
  EXPECT_EQ(name->as_string(), "quoted");
  EXPECT_EQ(name->origin().location(), "/app/name@" + std::to_string(rev));
  EXPECT_EQ(name->origin().source(), "etcd:/app/");
}

TEST_F(EtcdSourceTest, ConflictingKeysAreAnErrorNamingBothAndKeepTheLastGood) {
  put("/app/db", "plain");
  ASSERT_TRUE(add(options()).ok());
  put("/app/db/port", "1");
  ASSERT_TRUE(wait_state(SourceState::kError));
  const std::string error = source_status()->last_error->to_string();
  EXPECT_NE(error.find("/app/db/port"), std::string::npos) << error;
  EXPECT_NE(error.find("\"/app/db\""), std::string::npos) << error;
  EXPECT_EQ(value("db"), "plain");
  ASSERT_TRUE(etcd->del("/app/db"));
  EXPECT_TRUE(wait_value("db.port", "1"));
  EXPECT_TRUE(wait_state(SourceState::kOk));
}

TEST_F(EtcdSourceTest, DocumentLayoutReadsOneKeyAsYamlAndReportsLinesInsideIt) {
  put("/app/config.yaml", "server:\n  port: 8080\n  name: one\n");
  EtcdSourceOptions o = options("/app/config.yaml");
  o.layout = EtcdLayout::kDocument;
  ASSERT_TRUE(add(o).ok());
  EXPECT_EQ(value("server.port"), "8080");
  put("/app/config.yaml", "server:\n  port: 9090\n  name: [unclosed\n");
  ASSERT_TRUE(wait_state(SourceState::kError));
  const std::string error = source_status()->last_error->to_string();
  EXPECT_NE(error.find("/app/config.yaml@"), std::string::npos) << error;
  EXPECT_EQ(value("server.port"), "8080");  // the last good document keeps serving
  put("/app/config.yaml", "server:\n  port: 9090\n");
  EXPECT_TRUE(wait_value("server.port", "9090"));
}

// --- Start-up never holds the update thread --------------------------------------

// Forwards to a real source, and says when add_source has started waiting
// for it (to order the test's steps, not to change what the source does).
class AnnouncingSource final : public Source {
 public:
  AnnouncingSource(std::unique_ptr<Source> inner, std::atomic<bool>& waiting)
      : inner_(std::move(inner)), waiting_(waiting) {}
  const std::string& name() const noexcept override { return inner_->name(); }
  Debounce debounce() const noexcept override { return inner_->debounce(); }
  Status attach(const SourceContext& context) override { return inner_->attach(context); }
  void wait_ready() override {
    waiting_ = true;
    inner_->wait_ready();
  }
  Result<SourceLoad> load() override { return inner_->load(); }
  Result<WatchHandle> watch(std::function<void()> changed) override {
    return inner_->watch(std::move(changed));
  }
  bool busy() const override { return inner_->busy(); }

 private:
  std::unique_ptr<Source> inner_;
  std::atomic<bool>& waiting_;
};

TEST(EtcdStartupTest, AFileChangePublishesAndUpdatesReturnWhileAnUnreachableEtcdIsBeingAdded) {
  // A loopback port that refuses connections: bound (so nothing else takes
  // it) but never listening.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const std::unique_ptr<const int, void (*)(const int*)> closer(&fd,
                                                                [](const int* f) { ::close(*f); });
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string endpoint = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TempDir tmp;
  const std::filesystem::path file = tmp.write("app.json", R"({"mode": "one"})");
  SourceEventLog events;
  ConfigManager manager(events.options());
  ASSERT_TRUE(manager.register_untyped("app").ok());
  ASSERT_TRUE(manager.register_untyped("other").ok());
  FileSourceOptions f;
  f.path = file;
  f.debounce = Debounce{5ms, 100ms};
  ASSERT_TRUE(manager.add_source("app", make_file_source(f).value()).ok());
  auto mode = [&] { return scalar_text(manager.snapshot("app").value()->find(KeyPath("mode"))); };
  ASSERT_EQ(mode(), "one");

  EtcdSourceOptions o;
  o.connection.endpoints = {endpoint};
  o.connection.request_timeout = 1s;
  o.prefix = "/app/";
  o.priority = 10;
  o.initial_timeout = 8s;  // a required source: add_source fails once this passes
  std::atomic<bool> waiting{false};
  std::atomic<bool> add_returned{false};
  Status added;
  std::jthread adder([&] {
    added = manager.add_source(
        "app", std::make_unique<AnnouncingSource>(make_etcd_source(o).value(), waiting));
    add_returned = true;
  });
  ASSERT_TRUE(wait_until([&] { return waiting.load(); }, 10s));

  // While add_source waits for etcd, the file reloads and updates go through.
  // Order, not timing: each step is seen done *before* add_source is seen done.
  write_file(file, R"({"mode": "two"})");
  bool published_first = false;
  ASSERT_TRUE(wait_until(
      [&] {
        if (mode() == "two") {
          published_first = !add_returned.load();
          return true;
        }
        return add_returned.load();
      },
      20s));
  EXPECT_TRUE(published_first) << "the file change waited for the etcd source";
  EXPECT_TRUE(manager.update("other", Value::object()).ok());
  EXPECT_TRUE(manager.update("app", Value::object()).ok());
  EXPECT_FALSE(add_returned.load()) << "update() waited for the etcd source";

  adder.join();
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), ErrorCode::kUnavailable) << added.to_string();
  EXPECT_NE(added.to_string().find(endpoint), std::string::npos) << added.to_string();
  EXPECT_EQ(mode(), "two");
}

// --- Reconnect cycles leak nothing --------------------------------------------

TEST_F(EtcdSourceTest, HundredReconnectCyclesLeakNoThreadsOrConnections) {
  put("/app/a", "0");
  // One cycle first, so gRPC's process-wide threads exist before counting.
  ASSERT_TRUE(add(options()).ok());
  ASSERT_TRUE(manager->remove_source(kConfig, source->name()).ok());
  const std::size_t threads0 = count_entries("/proc/self/task");
  const std::size_t fds0 = count_entries("/proc/self/fd");
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(add(options()).ok()) << "cycle " << i;
    if (i % 20 == 0) {
      // Some cycles reconnect through a server restart.
      ASSERT_TRUE(etcd->restart());
      put("/app/a", std::to_string(i));
      ASSERT_TRUE(wait_value("a", std::to_string(i), 15s)) << "cycle " << i;
    }
    ASSERT_TRUE(manager->remove_source(kConfig, source->name()).ok());
  }
  // A leak grows with the cycles (100 threads or sockets); gRPC's own
  // executor pool may keep a few more threads after a busy spell, and
  // closes idle sockets asynchronously: allow a small constant, wait for it.
  constexpr std::size_t kSlack = 8;
  EXPECT_TRUE(
      wait_until([&] { return count_entries("/proc/self/task") <= threads0 + kSlack; }, 10s))
      << count_entries("/proc/self/task") << " threads, " << threads0 << " before";
  EXPECT_TRUE(wait_until([&] { return count_entries("/proc/self/fd") <= fds0 + kSlack; }, 10s))
      << count_entries("/proc/self/fd") << " descriptors, " << fds0 << " before";
}

// --- Auth ----------------------------------------------------------------------

TEST_F(EtcdSourceTest, UsernamePasswordAuthWorksAndAWrongPasswordIsAClearErrorWithoutIt) {
  put("/app/a", "1");
  ASSERT_TRUE(etcd->ctl({"user", "add", "root:rootpw-S3CRET"}).ok());
  ASSERT_TRUE(etcd->ctl({"auth", "enable"}).ok());
  etcd->set_ctl_args({"--user=root:rootpw-S3CRET"});
  EtcdSourceOptions o = options();
  o.connection.username = "root";
  o.connection.password = "wrong-pw-S3CRET";
  o.initial_timeout = 2s;
  const Status bad = add(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.to_string().find("S3CRET"), std::string::npos) << bad.to_string();
  EXPECT_NE(bad.to_string().find("root"), std::string::npos) << bad.to_string();
  o.connection.password = "rootpw-S3CRET";
  ASSERT_TRUE(add(o).ok());
  EXPECT_EQ(value("a"), "1");
  ASSERT_TRUE(etcd->put("/app/a", "2"));
  EXPECT_TRUE(wait_value("a", "2"));
}

}  // namespace
}  // namespace liveconf::testing
