// A fleet on one etcd (issue 15; BEHAVIOUR.md item 56): LIVECONF_FLEET_SIZE
// (50 here; fewer under the sanitizers) `liveconf watch` processes, each
// reporting to the fleet (--report-as), against the suite's real etcd.
//   1. A put reaches every instance; put -> last instance's event beside put
//      -> a lone client's event, measured in the same run (printed; the
//      numbers are a BENCHMARKS.md row, not a test bound).
//   2. A quiet prefix across an etcd restart: no instance relists.
//   3. etcd SIGKILLed and restarted while puts go on before and after: every
//      instance ends on the final value, having seen its values in order,
//      relisting at most once; the reconnects spread (no 100 ms window holds
//      more than 20% of them).
//   4. Compaction past every instance's revision while they are cut off: each
//      relists exactly once.
// scripts/fleet.sh runs it with more puts and prints the latency row.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "liveconf/etcd.hpp"
#include "liveconf/format.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/etcd_fixture.hpp"
#include "testutil/etcd_server.hpp"
#include "testutil/http_client.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// What one instance printed: each config's value of "v", and its etcd
// source's state changes, with when the line arrived.
struct Seen {
  std::vector<std::pair<Clock::time_point, std::int64_t>> values;
  std::vector<std::pair<Clock::time_point, std::string>> states;
};

Seen seen_by(const WatchProcess& w) {
  Seen out;
  const std::vector<std::string> lines = w.lines();
  const std::vector<Clock::time_point> times = w.line_times();
  for (std::size_t i = 0; i < lines.size() && i < times.size(); ++i) {
    Result<Value> v = find_format("json")->parse(lines[i], ParseOptions{});
    if (!v) {
      continue;
    }
    const Value* event = v->find_member("event");
    if (event == nullptr || !event->is_string()) {
      continue;
    }
    if (event->as_string() == "source") {
      const Value* state = v->find_member("state");
      out.states.emplace_back(times[i],
                              state != nullptr && state->is_string() ? state->as_string() : "?");
      continue;
    }
    const Value* value = v->find(KeyPath("config.v"));
    if (value != nullptr && value->is_int()) {
      out.values.emplace_back(times[i], value->as_int());
    }
  }
  return out;
}

// What etcd itself counts (its /metrics): requests by gRPC method, watch
// streams and watchers; and its resident memory.
struct EtcdLoad {
  std::map<std::string, double> handled;  // grpc_server_handled_total by method
  double watch_streams = 0;
  double watchers = 0;
  double rss_mib = 0;
};

EtcdLoad etcd_load(EtcdServer& etcd) {
  EtcdLoad out;
  const HttpReply r = http_request(etcd.endpoint(), "/metrics");
  std::size_t at = 0;
  while (at < r.body.size()) {
    std::size_t end = r.body.find('\n', at);
    if (end == std::string::npos) {
      end = r.body.size();
    }
    const std::string line = r.body.substr(at, end - at);
    at = end + 1;
    const std::size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) {
      continue;
    }
    const double value = std::atof(line.c_str() + space + 1);
    if (line.rfind("grpc_server_handled_total{", 0) == 0) {
      const std::size_t m = line.find("grpc_method=\"");
      if (m != std::string::npos) {
        const std::size_t q = line.find('"', m + 13);
        out.handled[line.substr(m + 13, q - m - 13)] += value;
      }
    } else if (line.rfind("etcd_debugging_mvcc_watch_stream_total ", 0) == 0) {
      out.watch_streams = value;
    } else if (line.rfind("etcd_debugging_mvcc_watcher_total ", 0) == 0) {
      out.watchers = value;
    }
  }
  const std::string status =
      read_file("/proc/" + std::to_string(etcd.pid()) + "/status").value_or("");
  const std::size_t rss = status.find("VmRSS:");
  if (rss != std::string::npos) {
    out.rss_mib = std::atof(status.c_str() + rss + 6) / 1024.0;
  }
  return out;
}

// Requests by method between two readings, per instance: "Range 1.0, Watch 1.0".
std::string per_instance(const EtcdLoad& a, const EtcdLoad& b, std::size_t n) {
  std::string out;
  for (const auto& [method, count] : b.handled) {
    const double before = a.handled.count(method) != 0 ? a.handled.at(method) : 0.0;
    const double delta = count - before;
    if (delta > 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", method.c_str(),
                    delta / static_cast<double>(n));
      out += buf;
    }
  }
  return out.empty() ? "none" : out;
}

class FleetScaleTest : public EtcdFixture {
 protected:
  void TearDown() override {
    for (auto& w : fleet) {
      w->signal(SIGCONT);
    }
    fleet.clear();
  }

  void start_instance(std::size_t i) {
    fleet.push_back(std::make_unique<WatchProcess>(std::vector<std::string>{
        "watch", "--etcd", etcd->endpoint(), "--prefix", "/app/", "--format", "json", "--report-as",
        "i" + std::to_string(i), "--report-ttl", "10s"}));
  }
  // A put, retried while etcd is away (writes are not retried by the client).
  std::int64_t put(std::int64_t v) {
    std::int64_t revision = 0;
    EXPECT_TRUE(wait_until(
        [&] {
          Result<std::int64_t> r = client->put("/app/v", std::to_string(v));
          revision = r ? *r : 0;
          return r.ok();
        },
        60s));
    return revision;
  }
  [[nodiscard]] bool all_see(std::int64_t v, std::chrono::milliseconds timeout = 60s) const {
    return wait_until(
        [&] {
          return std::all_of(fleet.begin(), fleet.end(), [&](const auto& w) {
            const Seen s = seen_by(*w);
            return !s.values.empty() && s.values.back().second == v;
          });
        },
        timeout);
  }
  // The fleet report's relists per instance id, once every instance reports
  // having reconnected at least `min_reconnects` times.
  std::map<std::string, FleetInstance> report(std::uint64_t min_reconnects = 0) {
    std::map<std::string, FleetInstance> out;
    EXPECT_TRUE(wait_until(
        [&] {
          Result<FleetView> v = read_fleet(*client, "/app/");
          if (!v) {
            return false;
          }
          out.clear();
          for (FleetInstance& i : v->instances) {
            out[i.id] = std::move(i);
          }
          return out.size() == fleet.size() &&
                 std::all_of(out.begin(), out.end(), [&](const auto& e) {
                   return e.second.reconnects + e.second.relists >= min_reconnects;
                 });
        },
        60s))
        << "the fleet report never showed every instance (reconnected " << min_reconnects
        << " times)";
    return out;
  }

  std::vector<std::unique_ptr<WatchProcess>> fleet;
};

TEST_F(FleetScaleTest, B56_EveryPutReachesEveryInstanceAcrossRestartsCrashesAndCompaction) {
  const std::size_t size = static_cast<std::size_t>(env_int("LIVECONF_FLEET_SIZE", 50));
  const int puts = env_int("LIVECONF_FLEET_PUTS", 20);
  std::int64_t v = 0;
  put(v);

  const EtcdLoad idle = etcd_load(*etcd);
  // 1a. One client alone: put -> its event.
  start_instance(0);
  ASSERT_TRUE(all_see(v)) << fleet[0]->err();
  std::vector<double> alone;
  for (int k = 0; k < puts; ++k) {
    const auto t = Clock::now();
    put(++v);
    ASSERT_TRUE(all_see(v));
    alone.push_back(ms(seen_by(*fleet[0]).values.back().first - t));
  }
  // 1b. The whole fleet: put -> the last instance's event.
  for (std::size_t i = 1; i < size; ++i) {
    start_instance(i);
  }
  ASSERT_TRUE(all_see(v)) << "not every instance loaded";
  const EtcdLoad loaded = etcd_load(*etcd);
  std::printf(
      "etcd with %zu instances: %.0f watch streams, %.0f watchers, RSS %.1f MiB (%.1f MiB "
      "without any); each instance's start cost it: %s\n",
      size, loaded.watch_streams, loaded.watchers, loaded.rss_mib, idle.rss_mib,
      per_instance(idle, loaded, size).c_str());
  const std::int64_t first_fleet_value = v + 1;
  std::vector<double> last;
  for (int k = 0; k < puts; ++k) {
    const auto t = Clock::now();
    put(++v);
    ASSERT_TRUE(all_see(v));
    Clock::time_point latest = t;
    for (const auto& w : fleet) {
      latest = std::max(latest, seen_by(*w).values.back().first);
    }
    last.push_back(ms(latest - t));
  }
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    std::vector<std::int64_t> got;
    for (const auto& [when, value] : seen_by(*fleet[i]).values) {
      if (value >= first_fleet_value) {
        got.push_back(value);
      }
    }
    ASSERT_EQ(got.size(), static_cast<std::size_t>(puts)) << "instance " << i << " missed a put";
  }
  std::printf(
      "fleet of %zu: put -> event, %d puts each: one client alone p50 %.1f ms p99 %.1f ms; "
      "the last of %zu p50 %.1f ms p99 %.1f ms; ratio p50 %.2f p99 %.2f\n",
      size, puts, percentile(alone, 0.5), percentile(alone, 0.99), size, percentile(last, 0.5),
      percentile(last, 0.99), percentile(last, 0.5) / percentile(alone, 0.5),
      percentile(last, 0.99) / percentile(alone, 0.99));

  // 2. A quiet prefix across a restart: every instance reconnects, none relists.
  std::map<std::string, FleetInstance> before = report();
  ASSERT_TRUE(etcd->restart());
  // etcd's counters start again with the process; wait (reading only its
  // /metrics, no gRPC) until every instance has its watch again, and a little
  // for their fleet entries to be put.
  ASSERT_TRUE(
      wait_until([&] { return etcd_load(*etcd).watch_streams >= static_cast<double>(size); }, 30s));
  const EtcdLoad rewatched = etcd_load(*etcd);
  std::map<std::string, FleetInstance> after = report(1);
  std::printf("a quiet restart: each instance's reconnect cost etcd: %s\n",
              per_instance(EtcdLoad{}, rewatched, size).c_str());
  for (const auto& [id, i] : after) {
    EXPECT_EQ(i.relists, before[id].relists) << id << " relisted a quiet prefix";
    EXPECT_GE(i.reconnects, before[id].reconnects + 1) << id;
  }
  ASSERT_TRUE(all_see(v));

  // 3. SIGKILL while puts go on before and after.
  before = report();
  const std::int64_t from = v;
  const std::int64_t final_value = v + 40;
  std::atomic<std::int64_t> written{v};
  std::thread writer([&] {
    for (std::int64_t x = from + 1; x <= final_value; ++x) {
      put(x);
      written = x;
    }
  });
  ASSERT_TRUE(wait_until([&] { return written >= from + 10; }));
  const auto killed_at = Clock::now();
  etcd->kill();
  ASSERT_TRUE(etcd->start());
  const auto back_at = Clock::now();
  writer.join();
  v = final_value;
  ASSERT_TRUE(all_see(v)) << "not every instance reached the final value";
  after = report();
  std::vector<double> reconnected;  // ms after etcd was back, by each instance's own report
  const auto back_wall =
      std::chrono::system_clock::now() -
      std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - back_at);
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const Seen s = seen_by(*fleet[i]);
    std::int64_t previous = 0;
    for (const auto& [when, value] : s.values) {
      EXPECT_GE(value, previous) << "instance " << i << " went back from " << previous;
      previous = value;
    }
    const std::string id = "i" + std::to_string(i);
    const FleetInstance& r = after[id];
    EXPECT_LE(r.relists, before[id].relists + 1) << id;
    EXPECT_GE(r.reconnects + r.relists, before[id].reconnects + before[id].relists + 1) << id;
    reconnected.push_back(
        std::chrono::duration<double, std::milli>(r.connected - back_wall).count());
  }
  std::sort(reconnected.begin(), reconnected.end());
  if (std::getenv("LIVECONF_FLEET_VERBOSE") != nullptr) {
    for (double r : reconnected) {
      std::printf("  reconnected %.0f ms after etcd was back\n", r);
    }
  }
  std::size_t crowded = 0;
  for (std::size_t a = 0, b = 0; b < reconnected.size(); ++b) {
    while (reconnected[b] - reconnected[a] >= 100.0) {
      ++a;
    }
    crowded = std::max(crowded, b - a + 1);
  }
  std::printf(
      "etcd SIGKILL: etcd back %.0f ms after the kill; %zu reconnects (each instance's first "
      "request through) from %.0f to %.0f ms after it was back; the busiest 100 ms window held "
      "%zu (%.0f%%)\n",
      ms(back_at - killed_at), reconnected.size(), reconnected.empty() ? 0.0 : reconnected.front(),
      reconnected.empty() ? 0.0 : reconnected.back(), crowded,
      100.0 * static_cast<double>(crowded) / static_cast<double>(std::max<std::size_t>(1, size)));
  if (size >= 30) {  // a smaller fleet is too few for a share of it to mean much
    EXPECT_LE(crowded * 5, size) << "more than 20% of the fleet reconnected within 100 ms";
  }

  // 4. Compaction past every instance while they are cut off (stopped, and
  //    etcd restarted so their connections are gone): each relists once.
  before = report();
  for (auto& w : fleet) {
    w->signal(SIGSTOP);
  }
  etcd->kill();
  ASSERT_TRUE(etcd->start());
  for (int k = 0; k < 5; ++k) {
    put(++v);
  }
  ASSERT_TRUE(client->compact(client->revision().value()).ok());
  for (auto& w : fleet) {
    w->signal(SIGCONT);
  }
  ASSERT_TRUE(all_see(v));
  after = report();
  ASSERT_TRUE(wait_until([&] {
    after = report();
    return std::all_of(after.begin(), after.end(), [&](const auto& e) {
      return e.second.relists >= before[e.first].relists + 1;
    });
  }));
  for (const auto& [id, i] : after) {
    EXPECT_EQ(i.relists, before[id].relists + 1) << id;
  }
}

}  // namespace
}  // namespace liveconf::testing
