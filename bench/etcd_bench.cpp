// etcd source benchmarks against a running etcd (bench/etcd_bench.sh starts
// one on 127.0.0.1 and runs this):
//
//   1. put -> callback latency: one put through liveconf::EtcdClient, then the
//      time until (a) a liveconf subscriber is called with the new value and
//      (b) `etcdctl watch` prints it, measured in the same run, alternating.
//      Both watch the same key; the clock starts just before the put.
//   2. initial load of N keys: add_source until the snapshot has them all,
//      against `etcdctl get --prefix` of the same keys.
//
// Prints one JSON object per result line, then a summary table.
//
//   etcd_bench ENDPOINT [samples=200] [keys=10000]
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "liveconf/etcd.hpp"
#include "liveconf/liveconf.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A child process with its stdout on a pipe.
struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;

  static Child spawn(std::vector<std::string> args) {
    int p[2];
    if (::pipe(p) != 0) {
      std::perror("pipe");
      std::exit(1);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    Child c;
    if (posix_spawnp(&c.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
      std::perror("posix_spawnp");
      std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    c.out = p[0];
    return c;
  }
};

struct Latencies {
  std::vector<double> liveconf_us;
  std::vector<double> etcdctl_us;
};

Latencies put_latency(const std::string& endpoint, int samples) {
  liveconf::EtcdConnection conn;
  conn.endpoints = {endpoint};
  auto client = liveconf::EtcdClient::create(conn).value();
  (void)client->put("/bench/lat/k", "0");

  liveconf::ManagerOptions mo;
  liveconf::ConfigManager manager(mo);
  (void)manager.register_untyped("bench");
  liveconf::EtcdSourceOptions so;
  so.connection = conn;
  so.prefix = "/bench/lat/";
  so.debounce = liveconf::Debounce{std::chrono::milliseconds(0), std::chrono::milliseconds(0)};
  if (!manager.add_source("bench", liveconf::make_etcd_source(so).value()).ok()) {
    std::cerr << "add_source failed\n";
    std::exit(1);
  }
  std::mutex mu;
  std::condition_variable cv;
  std::int64_t seen = 0;
  Clock::time_point seen_at;
  auto sub = manager
                 .subscribe("bench", liveconf::KeyPath("k"),
                            [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr& now,
                                const liveconf::ChangeSet&) {
                              const liveconf::Value* v = now->find(liveconf::KeyPath("k"));
                              const auto at = Clock::now();
                              std::lock_guard<std::mutex> lk(mu);
                              seen = v != nullptr && v->is_int() ? v->as_int() : -1;
                              seen_at = at;
                              cv.notify_all();
                            })
                 .value();
  Child ctl = Child::spawn({"etcdctl", "--endpoints=" + endpoint, "watch", "/bench/lat/k"});
  // etcdctl prints "PUT", the key and the value for each event; a reader
  // thread stamps each value line the moment it arrives, so neither watcher
  // waits for the other.
  std::map<std::int64_t, Clock::time_point> ctl_seen;
  std::thread reader([&] {
    std::string buffer;
    std::array<char, 4096> buf{};
    for (ssize_t n; (n = ::read(ctl.out, buf.data(), buf.size())) > 0;) {
      const auto at = Clock::now();
      buffer.append(buf.data(), static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        const std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) != 0) {
          std::lock_guard<std::mutex> lk(mu);
          ctl_seen.emplace(std::stoll(line), at);
          cv.notify_all();
        }
      }
    }
  });
  (void)client->put("/bench/lat/k", "1");  // both watchers are live once both saw it
  {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_for(lk, std::chrono::seconds(10), [&] { return seen == 1 && ctl_seen.count(1) != 0; });
  }
  Latencies out;
  for (int i = 0; i < samples; ++i) {
    const int value = 2 + i;
    const auto t0 = Clock::now();
    (void)client->put("/bench/lat/k", std::to_string(value));
    std::unique_lock<std::mutex> lk(mu);
    const bool both = cv.wait_for(lk, std::chrono::seconds(5),
                                  [&] { return seen == value && ctl_seen.count(value) != 0; });
    if (!both) {
      std::cerr << "sample " << i << ": a watcher did not see the put within 5 s\n";
      continue;
    }
    out.liveconf_us.push_back(std::chrono::duration<double, std::micro>(seen_at - t0).count());
    out.etcdctl_us.push_back(
        std::chrono::duration<double, std::micro>(ctl_seen[value] - t0).count());
  }
  ::kill(ctl.pid, SIGTERM);
  reader.join();
  int st = 0;
  ::waitpid(ctl.pid, &st, 0);
  ::close(ctl.out);
  return out;
}

void initial_load(const std::string& endpoint, int keys) {
  liveconf::EtcdConnection conn;
  conn.endpoints = {endpoint};
  auto client = liveconf::EtcdClient::create(conn).value();
  (void)client->remove("/bench/load/", true);
  std::vector<liveconf::EtcdWrite> batch;
  for (int i = 0; i < keys; ++i) {
    batch.push_back({liveconf::EtcdWrite::Kind::kPut,
                     "/bench/load/svc" + std::to_string(i % 100) + "/key" + std::to_string(i),
                     std::to_string(i), 0});
    if (batch.size() == 100) {  // etcd's --max-txn-ops default is 128
      (void)client->commit(batch);
      batch.clear();
    }
  }
  if (!batch.empty()) {
    (void)client->commit(batch);
  }
  std::vector<double> ours_ms;
  std::vector<double> ctl_ms;
  for (int round = 0; round < 5; ++round) {
    {
      liveconf::ConfigManager manager;
      (void)manager.register_untyped("load");
      liveconf::EtcdSourceOptions so;
      so.connection = conn;
      so.prefix = "/bench/load/";
      const auto t0 = Clock::now();
      if (!manager.add_source("load", liveconf::make_etcd_source(so).value()).ok()) {
        std::cerr << "add_source failed\n";
        std::exit(1);
      }
      const auto t1 = Clock::now();
      ours_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    const auto t0 = Clock::now();
    Child ctl = Child::spawn(
        {"etcdctl", "--endpoints=" + endpoint, "get", "--prefix", "/bench/load/", "-w", "json"});
    std::string all;
    std::array<char, 65536> buf{};
    for (ssize_t n; (n = ::read(ctl.out, buf.data(), buf.size())) > 0;) {
      all.append(buf.data(), static_cast<std::size_t>(n));
    }
    int st = 0;
    ::waitpid(ctl.pid, &st, 0);
    ::close(ctl.out);
    ctl_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::cout << R"({"bench":"initial_load","keys":)" << keys << R"(,"liveconf_ms_median":)"
            << percentile(ours_ms, 50) << R"(,"liveconf_ms_min":)" << percentile(ours_ms, 0)
            << R"(,"liveconf_ms_max":)" << percentile(ours_ms, 100)
            << R"(,"etcdctl_get_ms_median":)" << percentile(ctl_ms, 50)
            << R"(,"etcdctl_get_ms_min":)" << percentile(ctl_ms, 0) << R"(,"etcdctl_get_ms_max":)"
            << percentile(ctl_ms, 100) << "}\n";
  (void)client->remove("/bench/load/", true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: etcd_bench ENDPOINT [samples=200] [keys=10000]\n";
    return 2;
  }
  const std::string endpoint = argv[1];
  const int samples = argc > 2 ? std::stoi(argv[2]) : 200;
  const int keys = argc > 3 ? std::stoi(argv[3]) : 10000;
  const Latencies l = put_latency(endpoint, samples);
  for (const auto& [name, v] : {std::pair{"liveconf_subscriber", &l.liveconf_us},
                                std::pair{"etcdctl_watch", &l.etcdctl_us}}) {
    std::cout << R"({"bench":"put_to_callback","who":")" << name << R"(","samples":)" << v->size()
              << R"(,"p50_us":)" << percentile(*v, 50) << R"(,"p99_us":)" << percentile(*v, 99)
              << R"(,"min_us":)" << percentile(*v, 0) << "}\n";
  }
  std::cout << R"({"bench":"put_to_callback","ratio_p50":)"
            << percentile(l.liveconf_us, 50) / percentile(l.etcdctl_us, 50) << R"(,"ratio_p99":)"
            << percentile(l.liveconf_us, 99) / percentile(l.etcdctl_us, 99) << "}\n";
  initial_load(endpoint, keys);
  return 0;
}
