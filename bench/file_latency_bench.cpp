// Change-to-callback latency of file sources, beside a bare inotify loop (the
// floor) measured in the same run; and a 10,000-file scale test.
//
//   ./build/release/bench/file_latency_bench [iterations]        (default 200)
//
// Latency is from the moment the writer's close() or rename() returns to the
// moment a subscriber sees the new typed value. Prints p50/p99 in microseconds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "liveconf/liveconf.hpp"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Cfg {
  int value = 0;
};
void liveconf_describe(liveconf::Describer<Cfg>& d) { d.field("value", &Cfg::value); }

std::string body(int n) { return "{\"value\": " + std::to_string(n) + "}\n"; }

// Each writer returns the time just before its final syscall (close or
// rename): the event can be queued, and seen, before that syscall returns.
Clock::time_point write_in_place(const fs::path& p, int n) {
  const std::string b = body(n);
  const int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
  (void)!::write(fd, b.data(), b.size());
  const auto t = Clock::now();
  ::close(fd);
  return t;
}

Clock::time_point write_atomic(const fs::path& p, int n) {
  const fs::path tmp = p.parent_path() / (".tmp-" + p.filename().string());
  write_in_place(tmp, n);
  const auto t = Clock::now();
  ::rename(tmp.c_str(), p.c_str());
  return t;
}

// data/app.json -> ..data/app.json, ..data -> gen-N: a Kubernetes-style swap.
Clock::time_point write_symlink_swap(const fs::path& dir, int n) {
  const fs::path gen = dir / ("..gen-" + std::to_string(n));
  fs::create_directory(gen);
  write_in_place(gen / "app.json", n);
  const fs::path tmp = dir / "..data_tmp";
  ::symlink(gen.filename().c_str(), tmp.c_str());
  const auto t = Clock::now();
  ::rename(tmp.c_str(), (dir / "..data").c_str());
  return t;
}

struct Stats {
  double p50 = 0;
  double p99 = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
  };
  return {at(0.5), at(0.99)};
}

// Waits until `seen` reaches n; returns the latency since `start`.
class Observed {
 public:
  void set(int n) {
    std::lock_guard<std::mutex> lk(mu_);
    value_ = n;
    at_ = Clock::now();
    cv_.notify_all();
  }
  double wait(int n, Clock::time_point start) {
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::seconds(5), [&] { return value_ >= n; })) {
      return -1;
    }
    return std::chrono::duration<double, std::micro>(at_ - start).count();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int value_ = -1;
  Clock::time_point at_;
};

// The floor: a bare inotify loop on the directory, stopping at the first
// IN_CLOSE_WRITE/IN_MOVED_TO naming the file.
Stats bare_inotify(const fs::path& dir, int iterations, bool atomic) {
  const fs::path file = dir / "floor.json";
  write_in_place(file, 0);
  const int fd = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO);
  Observed seen;
  std::atomic<int> expect{0};
  std::thread reader([&] {
    alignas(inotify_event) char buf[4096];
    while (true) {
      const ssize_t len = ::read(fd, buf, sizeof(buf));
      if (len <= 0) {
        return;
      }
      for (ssize_t off = 0; off < len;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);  // NOLINT
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->len > 0 && std::string(ev->name) == "floor.json") {
          seen.set(expect.load());
        }
      }
      if (expect.load() < 0) {
        return;
      }
    }
  });
  std::vector<double> lat;
  for (int i = 1; i <= iterations; ++i) {
    expect = i;
    const auto start = atomic ? write_atomic(file, i) : write_in_place(file, i);
    const double us = seen.wait(i, start);
    if (us >= 0) {
      lat.push_back(us);
    }
  }
  expect = -1;
  write_in_place(file, 0);  // wakes the reader so it can exit
  reader.join();
  ::close(fd);
  return stats(lat);
}

Stats liveconf_latency(const fs::path& dir, int iterations, std::chrono::milliseconds quiet,
                       int mode) {
  fs::path file = dir / "app.json";
  if (mode == 2) {
    write_symlink_swap(dir, 0);
    fs::create_symlink("..data/app.json", file);
  } else {
    write_in_place(file, 0);
  }
  liveconf::ConfigManager manager;
  (void)manager.register_config<Cfg>("c");
  liveconf::FileSourceOptions o;
  o.path = file;
  o.debounce.quiet = quiet;
  (void)manager.add_source("c", liveconf::make_file_source(o).value());
  Observed seen;
  auto sub = manager
                 .subscribe<Cfg>("c", "",
                                 [&](const Cfg&, const Cfg& now, const liveconf::ChangeSet&) {
                                   seen.set(now.value);
                                 })
                 .value();
  std::vector<double> lat;
  for (int i = 1; i <= iterations; ++i) {
    const auto start = mode == 0   ? write_in_place(file, i)
                       : mode == 1 ? write_atomic(file, i)
                                   : write_symlink_swap(dir, i);
    const double us = seen.wait(i, start);
    if (us >= 0) {
      lat.push_back(us);
    }
  }
  return stats(lat);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return 0;
}

void scale(const fs::path& root, int iterations) {
  // 100 conf.d directories of 100 files: 100 directory sources, 10,000 layers.
  constexpr int kDirs = 100;
  constexpr int kPerDir = 100;
  auto file_of = [&](int d, int f) {
    return root / ("d" + std::to_string(d)) / ("f" + std::to_string(f) + ".json");
  };
  auto key_of = [](int d, int f) { return "k" + std::to_string(d) + "_" + std::to_string(f); };
  auto write_key = [&](int d, int f, int n) {
    std::ofstream out(file_of(d, f), std::ios::trunc);
    out << "{\"" << key_of(d, f) << "\": " << n << "}\n";
    out.flush();
    const auto t = Clock::now();
    out.close();
    return t;
  };
  for (int d = 0; d < kDirs; ++d) {
    fs::create_directories(root / ("d" + std::to_string(d)));
    for (int f = 0; f < kPerDir; ++f) {
      write_key(d, f, 0);
    }
  }
  const long rss_before = rss_kib();
  liveconf::ConfigManager manager;
  (void)manager.register_untyped("big");
  const auto t0 = Clock::now();
  for (int d = 0; d < kDirs; ++d) {
    liveconf::FileSourceOptions o;
    o.path = root / ("d" + std::to_string(d));
    o.debounce.quiet = std::chrono::milliseconds(0);
    (void)manager.add_source("big", liveconf::make_file_source(o).value());
  }
  const double startup_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const long rss_after = rss_kib();
  const double cpu0 = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // measuring idle CPU: nothing to wait for
  const double idle_cpu_ms = (cpu_seconds() - cpu0) * 1000;

  Observed seen;
  const std::string key = key_of(57, 42);
  auto sub = manager
                 .subscribe("big", key,
                            [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr& now,
                                const liveconf::ChangeSet&) {
                              if (const liveconf::Value* v = now->find(liveconf::KeyPath(key))) {
                                seen.set(static_cast<int>(v->as_int()));
                              }
                            })
                 .value();
  std::vector<double> lat;
  for (int i = 1; i <= iterations; ++i) {
    const auto start = write_key(57, 42, i);
    const double us = seen.wait(i, start);
    if (us >= 0) {
      lat.push_back(us);
    }
  }
  const Stats s = stats(lat);
  std::printf(
      "scale: 10000 files, 100 conf.d dirs: start-up %.0f ms, RSS +%ld MiB, idle CPU %.1f ms "
      "over 2 s, change latency p50 %.0f us p99 %.0f us\n",
      startup_ms, (rss_after - rss_before) / 1024, idle_cpu_ms, s.p50, s.p99);
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  const fs::path base = fs::current_path() / ("latency-bench-" + std::to_string(::getpid()));
  auto fresh = [&](const std::string& name) {
    const fs::path p = base / name;
    fs::create_directories(p);
    return p;
  };
  std::printf("%-34s %10s %10s\n", "scenario (latency, us)", "p50", "p99");
  auto row = [](const char* name, Stats s) {
    std::printf("%-34s %10.0f %10.0f\n", name, s.p50, s.p99);
  };
  row("floor: bare inotify, in-place", bare_inotify(fresh("f1"), iterations, false));
  row("floor: bare inotify, rename", bare_inotify(fresh("f2"), iterations, true));
  row("liveconf debounce 0, in-place",
      liveconf_latency(fresh("l0"), iterations, std::chrono::milliseconds(0), 0));
  row("liveconf debounce 0, rename",
      liveconf_latency(fresh("l1"), iterations, std::chrono::milliseconds(0), 1));
  row("liveconf debounce 0, symlink swap",
      liveconf_latency(fresh("l2"), iterations, std::chrono::milliseconds(0), 2));
  row("liveconf default 100ms, in-place",
      liveconf_latency(fresh("l3"), std::max(10, iterations / 10), std::chrono::milliseconds(100),
                       0));
  std::printf("single file for the scale comparison: see \"debounce 0, in-place\" above\n");
  scale(fresh("scale"), std::max(10, iterations / 4));
  fs::remove_all(base);
  return 0;
}
