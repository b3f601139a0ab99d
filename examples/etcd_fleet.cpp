// One live configuration for a fleet: two processes read the same etcd
// prefix into a typed config; one write (a transaction of two keys) reaches
// both, as one change each.
//
//   etcd_fleet_example 127.0.0.1:2379            (needs a running etcd)
//
// The program is its own fleet: it starts two copies of itself as workers
// ("alpha" and "beta"), waits until both have loaded the configuration,
// writes the change with liveconf::EtcdClient and prints what each worker
// reported. Workers exit when their stdin closes.
#include <algorithm>
#include <array>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <mutex>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "liveconf/etcd.hpp"
#include "liveconf/liveconf.hpp"

extern char** environ;

namespace example {

constexpr const char* kPrefix = "/fleet-example/";

struct FleetConfig {
  int rate_limit = 100;
  std::string mode = "normal";
};

inline void liveconf_describe(liveconf::Describer<FleetConfig>& d) {
  d.name("FleetConfig");
  d.field("rate_limit", &FleetConfig::rate_limit).description("Requests per second").min(1);
  d.field("mode", &FleetConfig::mode).description("Service mode");
}

std::string describe(const FleetConfig& c) {
  return "rate_limit=" + std::to_string(c.rate_limit) + " mode=" + c.mode;
}

// ---- a worker: one member of the fleet ----------------------------------------

int run_worker(const std::string& endpoint, const std::string& name) {
  liveconf::ManagerOptions mo;
  mo.log = [](liveconf::LogLevel, std::string_view) {};  // keep stdout for the coordinator
  liveconf::ConfigManager manager(mo);
  if (!manager.register_config<FleetConfig>("fleet").ok()) {
    return 1;
  }
  liveconf::EtcdSourceOptions etcd;
  etcd.connection.endpoints = {endpoint};
  etcd.prefix = kPrefix;
  auto source = liveconf::make_etcd_source(etcd);
  if (!source || !manager.add_source("fleet", std::move(*source)).ok()) {
    std::cout << name << " cannot reach etcd" << std::endl;
    return 1;
  }
  std::mutex mu;
  auto sub = manager.subscribe("fleet", "",
                               [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr&,
                                   const liveconf::ChangeSet& changes) {
                                 std::lock_guard<std::mutex> lk(mu);
                                 std::cout << name << " changed (" << changes.size() << " keys): "
                                           << describe(*manager.get<FleetConfig>("fleet").value())
                                           << std::endl;
                               });
  {
    std::lock_guard<std::mutex> lk(mu);
    std::cout << name << " loaded: " << describe(*manager.get<FleetConfig>("fleet").value())
              << std::endl;
  }
  // Serve until the coordinator closes our stdin.
  char c;
  while (::read(STDIN_FILENO, &c, 1) > 0) {
  }
  return 0;
}

// ---- the coordinator ------------------------------------------------------------

struct Worker {
  std::string name;
  pid_t pid = -1;
  FILE* out = nullptr;  // the worker's stdout
  int in = -1;          // the worker's stdin (closing it stops the worker)

  [[nodiscard]] std::string next_line() const {
    std::array<char, 512> buf{};
    return std::fgets(buf.data(), buf.size(), out) != nullptr ? std::string(buf.data()) : "";
  }
};

Worker spawn_worker(const std::string& self, const std::string& endpoint, const std::string& name) {
  int out_pipe[2];
  int in_pipe[2];
  // Close-on-exec: the second worker must not inherit the first one's pipes
  // (its copy of the first worker's stdin would keep that worker alive).
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  std::vector<std::string> args = {self, "--worker", endpoint, name};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  Worker w;
  w.name = name;
  if (posix_spawn(&w.pid, self.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(in_pipe[0]);
  w.out = ::fdopen(out_pipe[0], "r");
  w.in = in_pipe[1];
  return w;
}

int run_coordinator(const std::string& self, const std::string& endpoint) {
  liveconf::EtcdConnection connection;
  connection.endpoints = {endpoint};
  auto client = liveconf::EtcdClient::create(connection);
  if (!client) {
    std::cerr << client.error().to_string() << "\n";
    return 1;
  }
  // Start from the defaults: nothing under the prefix.
  if (auto r = (*client)->remove(kPrefix, true); !r) {
    std::cerr << r.error().to_string() << "\n";
    return 1;
  }
  std::vector<Worker> workers;
  for (const char* name : {"alpha", "beta"}) {
    workers.push_back(spawn_worker(self, endpoint, name));
  }
  for (const Worker& w : workers) {
    std::cout << w.next_line();  // "<name> loaded: ..."
  }
  std::cout << "operator: put rate_limit=500, mode=degraded (one transaction)\n";
  using Kind = liveconf::EtcdWrite::Kind;
  auto written = (*client)->commit({{Kind::kPut, std::string(kPrefix) + "rate_limit", "500", 0},
                                    {Kind::kPut, std::string(kPrefix) + "mode", "degraded", 0}});
  if (!written) {
    std::cerr << written.error().to_string() << "\n";
    return 1;
  }
  for (const Worker& w : workers) {
    std::cout << w.next_line();  // "<name> changed (2 keys): ..."
  }
  int status = 0;
  for (Worker& w : workers) {
    ::close(w.in);
    ::waitpid(w.pid, &status, 0);
    std::fclose(w.out);
  }
  (void)(*client)->remove(kPrefix, true);
  return 0;
}

}  // namespace example

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--worker") {
    return example::run_worker(argv[2], argv[3]);
  }
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " ETCD_ENDPOINT   (e.g. 127.0.0.1:2379)\n";
    return 2;
  }
  return example::run_coordinator("/proc/self/exe", argv[1]);
}
