// EnvironmentWatcher::poll() over 1,000 watched variables and merge_layers()
// over three 10,000-key layers: liveconf's side of the comparison with the
// seed's Python (bench/seed_python_bench.py runs the same cases on the same
// data; bench/seed_comparison.sh runs both and prints the ratios).
//
//   ./build/release/bench/env_bench [--reps N] [--target-ms MS] [--vars N] [--changed N]
//                                   [--clock cpu|wall]
//
// Cases (time per operation):
//   env_poll_nochange  one poll(), nothing changed since the last one (steady state)
//   env_set_only       set_env() of the `changed` variables alone (paid by env_set_and_poll)
//   env_poll_changed   one poll() that finds `changed` (10) variables changed by set_env()
//                      since the last poll; the poll alone is timed
//   env_set_and_poll   the same iterations timed whole: the set_env() calls and the poll()
//   merge_3x10k        merge_layers() of three layers of 10,000 top-level keys
//
// Each case is calibrated so one repetition takes about --target-ms, then
// timed --reps times, in this thread's CPU time (default) or wall-clock time.
// Output is one JSON object per line: a "sample" line per repetition, then a
// "summary" line per case (median, p10, p90, min, max).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "liveconf/env.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/value.hpp"

namespace {

// The clock every time is read from: this thread's CPU time by default, so
// time the scheduler gives to other processes on a shared machine is not
// counted (the code measured never blocks); --clock wall for wall-clock time.
clockid_t g_clock = CLOCK_THREAD_CPUTIME_ID;

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(g_clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  int reps = 15;
  double target_ms = 20.0;
  int vars = 1000;
  int changed = 10;
};

// Names and values shared with seed_python_bench.py: keep them identical.
std::string var_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "LCBENCH_VAR_%04d", i);
  return buf;
}
std::string var_value(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "value-%04d", i);
  return buf;
}
std::string changed_value(int i, int phase) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "value-%04d-%c", i, phase == 0 ? 'a' : 'b');
  return buf;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// Calibrates `batch(iters)` (which runs the operation iters times) to about
// target_ms, then prints one sample per repetition and a summary line. A batch
// returns the nanoseconds it timed itself (only part of each iteration), or a
// negative number to be timed as a whole.
template <typename Batch>
void run_case(const char* name, const Options& opt, std::size_t env_size, Batch batch) {
  std::int64_t iters = 1;
  while (true) {
    const std::int64_t t0 = now_ns();
    double ms = batch(iters) / 1e6;
    if (ms < 0) {
      ms = static_cast<double>(now_ns() - t0) / 1e6;
    }
    if (ms >= opt.target_ms / 2 || iters >= (std::int64_t{1} << 30)) {
      iters =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(iters) *
                                                              opt.target_ms / std::max(ms, 1e-3)));
      break;
    }
    iters *= 4;
  }
  std::vector<double> samples;
  for (int r = 0; r < opt.reps; ++r) {
    const std::int64_t t0 = now_ns();
    double ns = batch(iters);
    if (ns < 0) {
      ns = static_cast<double>(now_ns() - t0);
    }
    ns /= static_cast<double>(iters);
    samples.push_back(ns);
    std::printf(
        "{\"type\":\"sample\",\"impl\":\"liveconf\",\"case\":\"%s\",\"rep\":%d,\"iters\":%lld,"
        "\"ns_per_op\":%.1f}\n",
        name, r, static_cast<long long>(iters), ns);
  }
  std::printf(
      "{\"type\":\"summary\",\"impl\":\"liveconf\",\"case\":\"%s\",\"reps\":%d,\"iters\":%lld,"
      "\"clock\":\"%s\",\"env_size\":%zu,\"median_ns\":%.1f,\"p10_ns\":%.1f,\"p90_ns\":%.1f,\"min_"
      "ns\":%.1f,"
      "\"max_ns\":%.1f}\n",
      name, opt.reps, static_cast<long long>(iters),
      g_clock == CLOCK_THREAD_CPUTIME_ID ? "cpu" : "wall", env_size, percentile(samples, 0.5),
      percentile(samples, 0.1), percentile(samples, 0.9), percentile(samples, 0.0),
      percentile(samples, 1.0));
  std::fflush(stdout);
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "env_bench: %s\n", message.c_str());
  std::exit(1);
}

void bench_env(const Options& opt) {
  std::vector<std::string> names;
  for (int i = 0; i < opt.vars; ++i) {
    names.push_back(var_name(i));
    if (!liveconf::set_env(names.back(), var_value(i)).ok()) {
      fail("set_env failed");
    }
  }
  // The changed variables: spread evenly over the watched ones.
  std::vector<std::string> changed_names;
  std::vector<std::string> changed_values[2];
  for (int j = 0; j < opt.changed; ++j) {
    const int i = j * opt.vars / opt.changed;
    changed_names.push_back(var_name(i));
    changed_values[0].push_back(changed_value(i, 0));
    changed_values[1].push_back(changed_value(i, 1));
  }
  const std::size_t env_size = liveconf::environment_snapshot().size();

  liveconf::EnvironmentWatcher watcher(std::chrono::seconds(5));  // never started: poll() only
  std::uint64_t delivered = 0;
  watcher.watch_vars(names, [&](const liveconf::EnvChanges& c) { delivered += c.size(); });
  if (watcher.poll() != 0) {
    fail("the first poll saw changes");
  }

  run_case("env_poll_nochange", opt, env_size, [&](std::int64_t iters) {
    std::size_t n = 0;
    for (std::int64_t k = 0; k < iters; ++k) {
      n += watcher.poll();
    }
    if (n != 0) {
      fail("a no-change poll reported changes");
    }
    return -1.0;
  });

  int phase = 0;
  run_case("env_set_only", opt, env_size, [&](std::int64_t iters) {
    for (std::int64_t k = 0; k < iters; ++k) {
      phase ^= 1;
      for (std::size_t j = 0; j < changed_names.size(); ++j) {
        (void)liveconf::set_env(changed_names[j], changed_values[phase][j]);
      }
    }
    return -1.0;
  });
  (void)watcher.poll();  // catch up with the last values set above

  // set_env() of the changed variables, then one poll(): "env_poll_changed"
  // times the poll() alone (a clock read on each side of it), "env_set_and_poll"
  // the whole iteration.
  for (const bool poll_only : {true, false}) {
    run_case(poll_only ? "env_poll_changed" : "env_set_and_poll", opt, env_size,
             [&](std::int64_t iters) {
               const std::uint64_t before = delivered;
               std::size_t n = 0;
               std::int64_t polling = 0;
               for (std::int64_t k = 0; k < iters; ++k) {
                 phase ^= 1;
                 for (std::size_t j = 0; j < changed_names.size(); ++j) {
                   (void)liveconf::set_env(changed_names[j], changed_values[phase][j]);
                 }
                 const std::int64_t t0 = now_ns();
                 n += watcher.poll();
                 polling += now_ns() - t0;
               }
               const auto expected = static_cast<std::uint64_t>(iters) * changed_names.size();
               if (n != expected || delivered - before != expected) {
                 fail("poll() missed changes: " + std::to_string(n) + " reported, " +
                      std::to_string(delivered - before) + " delivered, " +
                      std::to_string(expected) + " expected");
               }
               return poll_only ? static_cast<double>(polling) : -1.0;
             });
  }

  for (const std::string& n : names) {
    (void)liveconf::unset_env(n);
  }
}

// Layer `index` (0, 1, 2 = a, b, c) holds keys [5000 * index, 5000 * index + 10000):
// a 0..9999, b 5000..14999, c 10000..19999. Even keys hold an integer, odd
// keys a short string. Each value carries an origin (its layer's file and a
// line), as a parser would give it.
liveconf::Layer make_layer(int index) {
  static const char* const kNames[] = {"layer_a", "layer_b", "layer_c"};
  const std::string name = kNames[index];
  auto info = std::make_shared<liveconf::OriginInfo>();
  info->source = name;
  info->file = name + ".json";
  liveconf::Object obj;
  obj.reserve(10000);
  const char suffix = static_cast<char>('a' + index);
  for (int k = 0; k < 10000; ++k) {
    const int i = 5000 * index + k;
    char key[16];
    std::snprintf(key, sizeof key, "key_%05d", i);
    liveconf::Value v;
    if (i % 2 == 0) {
      v = liveconf::Value(i * 3 + index);
    } else {
      char s[16];
      std::snprintf(s, sizeof s, "s%d%c", i, suffix);
      v = liveconf::Value(std::string(s));
    }
    v.set_origin(liveconf::Origin(info, static_cast<std::uint32_t>(k + 2), 3));
    obj.insert(key, std::move(v));
  }
  liveconf::Value data(std::move(obj));
  data.set_origin(liveconf::Origin(info, 1, 1));
  // The seed's priorities are a=30, b=20, c=10 and the lower number wins; here
  // the higher wins, so each layer gets the seed's priority negated.
  const int seed_priority = 30 - 10 * index;
  return liveconf::Layer{name, -seed_priority, std::move(data), "v1"};
}

void bench_merge(const Options& opt) {
  std::vector<liveconf::Layer> layers;
  for (int i = 0; i < 3; ++i) {
    layers.push_back(make_layer(i));
  }
  const liveconf::MergePolicies policies;
  // Check the result once: 20,000 keys; winners a 5,000, b 5,000, c 10,000.
  {
    const liveconf::Value merged = liveconf::merge_layers(layers, policies);
    std::size_t wins[3] = {0, 0, 0};
    std::int64_t int_sum = 0;
    std::size_t strings = 0;
    for (const auto& [key, value] : merged.as_object()) {
      const std::string& src = value.origin().source();
      for (int i = 0; i < 3; ++i) {
        wins[i] += static_cast<std::size_t>(src == layers[static_cast<std::size_t>(i)].name);
      }
      if (value.is_int()) {
        int_sum += value.as_int();
      } else if (value.is_string()) {
        ++strings;
      }
    }
    std::printf(
        "{\"type\":\"check\",\"impl\":\"liveconf\",\"case\":\"merge_3x10k\",\"keys\":%zu,"
        "\"wins\":{\"layer_a\":%zu,\"layer_b\":%zu,\"layer_c\":%zu},\"int_sum\":%lld,"
        "\"strings\":%zu}\n",
        merged.size(), wins[0], wins[1], wins[2], static_cast<long long>(int_sum), strings);
  }
  run_case("merge_3x10k", opt, liveconf::environment_snapshot().size(), [&](std::int64_t iters) {
    std::size_t total = 0;
    for (std::int64_t k = 0; k < iters; ++k) {
      const liveconf::Value merged = liveconf::merge_layers(layers, policies);
      total += merged.size();  // the result is destroyed inside the timed loop, as in Python
    }
    if (total != static_cast<std::size_t>(iters) * 20000) {
      fail("merge produced the wrong number of keys");
    }
    return -1.0;
  });
}

int parse_int(const char* s, const char* flag) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0) {
    fail(std::string("bad value for ") + flag + ": " + s);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      fail("missing value for " + a);
    }
    const char* v = argv[++i];
    if (a == "--reps") {
      opt.reps = parse_int(v, "--reps");
    } else if (a == "--target-ms") {
      opt.target_ms = parse_int(v, "--target-ms");
    } else if (a == "--vars") {
      opt.vars = parse_int(v, "--vars");
    } else if (a == "--changed") {
      opt.changed = parse_int(v, "--changed");
    } else if (a == "--clock") {
      if (std::strcmp(v, "cpu") != 0 && std::strcmp(v, "wall") != 0) {
        fail(std::string("--clock takes cpu or wall, not ") + v);
      }
      g_clock = std::strcmp(v, "cpu") == 0 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    } else {
      fail("unknown option " + a +
           " (--reps N, --target-ms MS, --vars N, --changed N, --clock cpu|wall)");
    }
  }
  if (opt.changed > opt.vars) {
    fail("--changed must not exceed --vars");
  }
  bench_env(opt);
  bench_merge(opt);
  return 0;
}
