// Change-to-callback latency of file sources, beside a bare inotify loop (the
// floor) measured in the same run; and a 10,000-file scale test.
//
//   ./build/release/bench/file_latency_bench [iterations] [--dirs N] [--files M]
//       [--input DIR] [--scale-only]
//
// iterations: changes per scenario (default 200). The scale test generates N
// conf.d directories of M one-key JSON files (default 100 x 100); with
// --input it copies DIR instead (each subdirectory a conf.d source, or DIR
// itself when it has none) and adds one file, the one it changes, to the
// middle directory. --scale-only skips the single-file scenarios.
//
// Latency is from the moment the writer's close() or rename() returns to the
// moment a subscriber sees the new typed value. Prints p50/p99 in microseconds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
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

// The temp file written in `staging` (same filesystem), renamed into place.
Clock::time_point write_atomic_from(const fs::path& staging, const fs::path& p, int n) {
  const fs::path tmp = staging / p.filename();
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

enum class Save : std::uint8_t {
  kInPlace,           // truncate and write the file itself
  kAtomic,            // temp file beside it, renamed over (one watched file)
  kSymlinkSwap,       // Kubernetes ..data swap
  kDirTempInside,     // a conf.d directory source; the temp file is created inside it
  kDirTempElsewhere,  // the same, the temp file written in another directory
};

Stats liveconf_latency(const fs::path& dir, int iterations, std::chrono::milliseconds quiet,
                       Save mode) {
  const bool conf_d = mode == Save::kDirTempInside || mode == Save::kDirTempElsewhere;
  const fs::path watched = conf_d ? dir / "conf.d" : dir / "app.json";
  const fs::path file = conf_d ? watched / "app.json" : watched;
  const fs::path elsewhere = dir / "staging";
  if (conf_d) {
    fs::create_directories(watched);
    fs::create_directories(elsewhere);
  }
  if (mode == Save::kSymlinkSwap) {
    write_symlink_swap(dir, 0);
    fs::create_symlink("..data/app.json", file);
  } else {
    write_in_place(file, 0);
  }
  liveconf::ConfigManager manager;
  (void)manager.register_config<Cfg>("c");
  liveconf::FileSourceOptions o;
  o.path = watched;
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
    Clock::time_point start;
    switch (mode) {
      case Save::kInPlace:
        start = write_in_place(file, i);
        break;
      case Save::kAtomic:
      case Save::kDirTempInside:  // write_atomic's temp file is in the file's directory
        start = write_atomic(file, i);
        break;
      case Save::kSymlinkSwap:
        start = write_symlink_swap(dir, i);
        break;
      case Save::kDirTempElsewhere:
        start = write_atomic_from(elsewhere, file, i);
        break;
    }
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

struct ScaleOptions {
  int dirs = 100;
  int files = 100;
  fs::path input;  // copy this tree instead of generating one
};

void scale(const fs::path& root, int iterations, const ScaleOptions& opt, Stats single) {
  // N conf.d directories of M files: N directory sources, N x M layers.
  auto write_json = [](const fs::path& p, const std::string& key, int n) {
    std::ofstream out(p, std::ios::trunc);
    out << "{\"" << key << "\": " << n << "}\n";
    out.flush();
    const auto t = Clock::now();
    out.close();
    return t;
  };
  std::vector<fs::path> dirs;
  std::size_t files = 0;
  if (opt.input.empty()) {
    for (int d = 0; d < opt.dirs; ++d) {
      dirs.push_back(root / ("d" + std::to_string(d)));
      fs::create_directories(dirs.back());
      for (int f = 0; f < opt.files; ++f) {
        write_json(dirs.back() / ("f" + std::to_string(f) + ".json"),
                   "k" + std::to_string(d) + "_" + std::to_string(f), 0);
        ++files;
      }
    }
  } else {
    fs::copy(opt.input, root / "input", fs::copy_options::recursive);
    for (const auto& entry : fs::directory_iterator(root / "input")) {
      if (entry.is_directory()) {
        dirs.push_back(entry.path());
      }
    }
    if (dirs.empty()) {
      dirs.push_back(root / "input");
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& d : dirs) {
      for (const auto& entry : fs::directory_iterator(d)) {
        files += entry.is_regular_file() ? 1 : 0;
      }
    }
  }
  // The file that changes: in the middle directory, sorting in the middle
  // for a generated tree, added (and so sorting last) for a copied one.
  const fs::path middle = dirs[dirs.size() / 2];
  const fs::path changed = opt.input.empty()
                               ? middle / ("f" + std::to_string(opt.files / 2) + ".json")
                               : middle / "zz-liveconf-bench.json";
  const std::string key = opt.input.empty() ? "k" + std::to_string(dirs.size() / 2) + "_" +
                                                  std::to_string(opt.files / 2)
                                            : "liveconf_bench_value";
  if (!opt.input.empty()) {
    write_json(changed, key, 0);
    ++files;
  }
  auto sources = [&] {
    std::vector<std::unique_ptr<liveconf::Source>> out;
    for (const fs::path& d : dirs) {
      liveconf::FileSourceOptions o;
      o.path = d;
      o.debounce.quiet = std::chrono::milliseconds(0);
      out.push_back(liveconf::make_file_source(o).value());
    }
    return out;
  };
  // Start-up both ways: every directory in one add_sources call (one merge,
  // one publish), then one add_source call per directory (a publish each).
  double batch_ms = 0;
  {
    liveconf::ConfigManager once;
    (void)once.register_untyped("big");
    auto all = sources();
    const auto t = Clock::now();
    (void)once.add_sources("big", std::move(all));
    batch_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  }
  const long rss_before = rss_kib();
  liveconf::ConfigManager manager;
  (void)manager.register_untyped("big");
  auto each = sources();
  const auto t0 = Clock::now();
  for (auto& source : each) {
    (void)manager.add_source("big", std::move(source));
  }
  const double startup_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const long rss_after = rss_kib();
  const double cpu0 = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // measuring idle CPU: nothing to wait for
  const double idle_cpu_ms = (cpu_seconds() - cpu0) * 1000;

  Observed seen;
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
  // The process's CPU time over the changes (the writes, the reloads, the
  // dispatch): steadier than the latency on a busy machine, since time spent
  // waiting for a core is not counted.
  const double change_cpu0 = cpu_seconds();
  for (int i = 1; i <= iterations; ++i) {
    const auto start = write_json(changed, key, i);
    const double us = seen.wait(i, start);
    if (us >= 0) {
      lat.push_back(us);
    }
  }
  const double cpu_per_change_us = (cpu_seconds() - change_cpu0) * 1e6 / iterations;
  const Stats s = stats(lat);
  std::printf(
      "scale: %zu files, %zu conf.d dirs: start-up (add_source per dir) %.0f ms, RSS +%ld MiB "
      "(process %ld MiB), idle CPU %.1f ms "
      "over 2 s, change latency p50 %.0f us p99 %.0f us\n",
      files, dirs.size(), startup_ms, (rss_after - rss_before) / 1024, rss_after / 1024,
      idle_cpu_ms, s.p50, s.p99);
  std::printf("scale: process CPU per change (write, reload, publish, dispatch): %.0f us\n",
              cpu_per_change_us);
  std::printf("scale: start-up with one add_sources call for every directory: %.0f ms\n", batch_ms);
  std::printf("scale: change latency / single watched file (p50 %.0f us, same run): %.1fx\n",
              single.p50, s.p50 / single.p50);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  bool scale_only = false;
  ScaleOptions scale_options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--dirs" && has_value) {
      scale_options.dirs = std::atoi(argv[++i]);
    } else if (arg == "--files" && has_value) {
      scale_options.files = std::atoi(argv[++i]);
    } else if (arg == "--input" && has_value) {
      scale_options.input = fs::absolute(argv[++i]);
    } else if (arg == "--scale-only") {
      scale_only = true;
    } else if (!arg.empty() && arg[0] != '-') {
      iterations = std::atoi(arg.c_str());
    } else {
      std::fprintf(stderr,
                   "usage: file_latency_bench [iterations] [--dirs N] [--files M] "
                   "[--input DIR] [--scale-only]\n");
      return 2;
    }
  }
  if (iterations < 1 || scale_options.dirs < 1 || scale_options.files < 1) {
    std::fprintf(stderr, "file_latency_bench: counts must be at least 1\n");
    return 2;
  }
  if (!scale_options.input.empty() && !fs::is_directory(scale_options.input)) {
    std::fprintf(stderr, "file_latency_bench: %s is not a directory\n",
                 scale_options.input.c_str());
    return 2;
  }
  const fs::path base = fs::current_path() / ("latency-bench-" + std::to_string(::getpid()));
  auto fresh = [&](const std::string& name) {
    const fs::path p = base / name;
    fs::create_directories(p);
    return p;
  };
  Stats single;
  if (!scale_only) {
    std::printf("%-44s %10s %10s\n", "scenario (latency, us)", "p50", "p99");
    auto row = [](const char* name, Stats s) {
      std::printf("%-44s %10.0f %10.0f\n", name, s.p50, s.p99);
    };
    constexpr std::chrono::milliseconds kZero{0};
    row("floor: bare inotify, in-place", bare_inotify(fresh("f1"), iterations, false));
    row("floor: bare inotify, rename", bare_inotify(fresh("f2"), iterations, true));
    single = liveconf_latency(fresh("l0"), iterations, kZero, Save::kInPlace);
    row("liveconf debounce 0, in-place", single);
    row("liveconf debounce 0, rename",
        liveconf_latency(fresh("l1"), iterations, kZero, Save::kAtomic));
    row("liveconf debounce 0, symlink swap",
        liveconf_latency(fresh("l2"), iterations, kZero, Save::kSymlinkSwap));
    row("liveconf debounce 0, conf.d, temp elsewhere",
        liveconf_latency(fresh("l4"), iterations, kZero, Save::kDirTempElsewhere));
    row("liveconf debounce 0, conf.d, temp inside",
        liveconf_latency(fresh("l5"), iterations, kZero, Save::kDirTempInside));
    row("liveconf default 100ms, in-place",
        liveconf_latency(fresh("l3"), std::max(10, iterations / 10), std::chrono::milliseconds(100),
                         Save::kInPlace));
  } else {
    single =
        liveconf_latency(fresh("l0"), iterations, std::chrono::milliseconds(0), Save::kInPlace);
  }
  scale(fresh("scale"), std::max(10, iterations / 4), scale_options, single);
  fs::remove_all(base);
  return 0;
}
