// Soak (issue 7, item 5): thousands of randomised changes across several
// sources while reader threads read, then the published config must equal
// the final sources, every invalid state must have been refused, and open
// descriptors, threads and memory must be back to their baseline.
//
// Sources of the typed config "soak" (each owns its keys):
//   a  a JSON file changed with random save patterns (atomic rename, in place,
//      vim, JetBrains, emacs, delete + recreate),
//   b  a YAML file in a Kubernetes ConfigMap volume (the AtomicWriter's
//      symlink swap),
//   c  a TOML file changed with random save patterns,
//   e  an environment variable (SOAK_ESEQ) set with liveconf::set_env.
// Every valid write raises the source's sequence number; a part's `check`
// must be seq * 7 + 1 (a struct validator), so a torn or mixed state cannot
// bind. Invalid writes (syntax errors, wrong types, a wrong check, empty
// files, unparsable env values) are mixed in; each must be refused with the
// previous values kept.
//
// Readers check, on every read, that each part's seq never goes backwards
// (a newer state is never replaced by an older one) and that the generation
// never decreases.
//
// Size: LIVECONF_SOAK_CHANGES (default 300, seconds in ctest); the long run
// documented in BENCHMARKS.md sets it to 20000. LIVECONF_SOAK_SEED replays a
// run (the seed is printed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/bind.hpp"
#include "liveconf/env.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Part {
  int seq = 0;
  int check = 1;
  std::string pad;
};

void liveconf_describe(Describer<Part>& d) {
  d.field("seq", &Part::seq).min(0);
  d.field("check", &Part::check);
  d.field("pad", &Part::pad);
  d.validate([](const Part& p) -> Status {
    if (p.check != p.seq * 7 + 1) {
      return Error(ErrorCode::kValidation, "check does not match seq", {}, KeyPath("check"));
    }
    return ok_status();
  });
}

struct SoakConfig {
  Part a;
  Part b;
  Part c;
  int eseq = 0;
};

void liveconf_describe(Describer<SoakConfig>& d) {
  d.name("SoakConfig");
  d.field("a", &SoakConfig::a);
  d.field("b", &SoakConfig::b);
  d.field("c", &SoakConfig::c);
  d.field("eseq", &SoakConfig::eseq).min(0);
}

constexpr std::string_view kName = "soak";
constexpr Debounce kDebounce{20ms, 500ms};

std::size_t count_threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

std::size_t rss_kib() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

enum class Format { kJson, kYaml, kToml };

std::string render(Format f, std::string_view key, int seq, int check, const std::string& pad) {
  const std::string s = std::to_string(seq);
  const std::string c = std::to_string(check);
  switch (f) {
    case Format::kJson:
      return "{\"" + std::string(key) + "\": {\"seq\": " + s + ", \"check\": " + c +
             ", \"pad\": \"" + pad + "\"}}\n";
    case Format::kYaml:
      return std::string(key) + ":\n  seq: " + s + "\n  check: " + c + "\n  pad: \"" + pad + "\"\n";
    case Format::kToml:
      return "[" + std::string(key) + "]\nseq = " + s + "\ncheck = " + c + "\npad = \"" + pad +
             "\"\n";
  }
  return {};
}

// One of four kinds of invalid content for a part.
std::string render_invalid(Format f, std::string_view key, int kind, int seq) {
  switch (kind) {
    case 0:  // a syntax error
      return f == Format::kJson   ? "{\"" + std::string(key) + "\": {\"seq\": 1,"
             : f == Format::kYaml ? std::string(key) + ": [unclosed\n"
                                  : "[" + std::string(key) + "\nseq = 1\n";
    case 1: {  // seq of the wrong type
      std::string text = render(f, key, seq, seq * 7 + 1, "");
      const std::string from = std::to_string(seq);
      const auto at = text.find(from);
      return text.replace(at, from.size(), f == Format::kYaml ? "not-a-number" : "\"x1\"");
    }
    case 2:  // the validator refuses it
      return render(f, key, seq, seq * 7 + 2, "");
    default:  // empty: a truncated write
      return {};
  }
}

// Writes `content` to `path` with save pattern `pattern` (testutil).
void save(const fs::path& path, const std::string& content, int pattern) {
  (void)save_with_pattern(path, content, pattern);
}

ManagerOptions quiet() {
  ManagerOptions o;
  o.log = [](LogLevel, std::string_view) {};
  return o;
}

struct Totals {
  std::size_t changes = 0;
  std::size_t invalid = 0;
  std::size_t waited = 0;
};

class SoakTest : public ::testing::Test {
 protected:
  void TearDown() override { (void)unset_env("SOAK_ESEQ"); }
};

TEST_F(SoakTest, RandomisedChangesAcrossSourcesWithReaders) {
  const std::size_t changes = env_size("LIVECONF_SOAK_CHANGES", 300);
  const auto seed = static_cast<std::uint32_t>(
      env_size("LIVECONF_SOAK_SEED", static_cast<std::size_t>(std::random_device{}())));
  SCOPED_TRACE("LIVECONF_SOAK_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
  auto pad = [&] {
    // Mostly small, sometimes up to 64 KiB: random sizes cross read buffers.
    const std::size_t n = pick(8) == 0 ? rng() % 65536 : rng() % 200;
    std::string s(n, 'x');
    for (char& ch : s) {
      ch = static_cast<char>('a' + pick(26));
    }
    return s;
  };

  TempDir dir;
  fs::create_directories(dir.path() / "a");
  fs::create_directories(dir.path() / "c");
  fs::create_directories(dir.path() / "volume");
  const fs::path a = dir.path() / "a" / "a.json";
  const fs::path c = dir.path() / "c" / "c.toml";
  KubernetesAtomicWriter volume(dir.path() / "volume");
  const fs::path b = dir.path() / "volume" / "b.yaml";
  write_file(a, render(Format::kJson, "a", 0, 1, ""));
  write_file(c, render(Format::kToml, "c", 0, 1, ""));
  volume.write({{"b.yaml", render(Format::kYaml, "b", 0, 1, "")}});
  ASSERT_TRUE(set_env("SOAK_ESEQ", "0").ok());

  // Baselines before any manager exists (the shared inotify instance and
  // every watcher thread come and go with their users). One thread started
  // and joined first: TSan starts its own background thread with the
  // program's first thread, and it stays.
  std::thread([] {}).join();
  malloc_trim(0);
  const std::size_t fds_before = count_open_fds();
  const std::size_t threads_before = count_threads();
  const std::size_t rss_before = rss_kib();

  std::atomic<std::uint64_t> reads{0};
  std::atomic<bool> stop{false};
  std::atomic<int> reader_failures{0};
  std::string first_reader_failure;
  std::mutex failure_mu;
  Totals totals;
  std::uint64_t publishes = 0;
  std::uint64_t failures = 0;
  const auto started = std::chrono::steady_clock::now();
  {
    ConfigManager manager(quiet());
    ASSERT_TRUE(manager.register_config<SoakConfig>(std::string(kName)).ok());
    auto add_file = [&](const fs::path& path) {
      FileSourceOptions o;
      o.path = path;
      o.debounce = kDebounce;
      Result<std::unique_ptr<Source>> s = make_file_source(std::move(o));
      ASSERT_TRUE(s) << s.error().to_string();
      const Status st = manager.add_source(kName, std::move(*s));
      ASSERT_TRUE(st.ok()) << st.to_string();
    };
    add_file(a);
    add_file(b);
    add_file(c);
    EnvSourceOptions env;
    env.prefix = "SOAK";
    Result<std::unique_ptr<Source>> env_source = make_env_source(env);
    ASSERT_TRUE(env_source) << env_source.error().to_string();
    ASSERT_TRUE(manager.add_source(kName, std::move(*env_source)).ok());

    // Readers: every read must be a complete state that never goes back.
    std::vector<std::thread> readers;
    // Stops and joins the readers however the test body ends (a failed
    // ASSERT returns early; a joinable std::thread would terminate).
    struct Joiner {
      std::atomic<bool>& stop;
      std::vector<std::thread>& threads;
      ~Joiner() {
        stop = true;
        for (std::thread& t : threads) {
          if (t.joinable()) {
            t.join();
          }
        }
      }
    } joiner{stop, readers};
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&] {
        Result<Reader<SoakConfig>> reader = manager.reader<SoakConfig>(kName);
        if (!reader) {
          ++reader_failures;
          return;
        }
        int last[4] = {0, 0, 0, 0};
        std::uint64_t last_generation = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          const SoakConfig& cfg = reader->get();
          const std::uint64_t g = reader->snapshot()->generation();
          const int now[4] = {cfg.a.seq, cfg.b.seq, cfg.c.seq, cfg.eseq};
          std::string problem;
          if (g < last_generation) {
            problem = "generation went back";
          }
          for (int i = 0; i < 4; ++i) {
            if (now[i] < last[i]) {
              problem = "part " + std::to_string(i) + " went back from " + std::to_string(last[i]) +
                        " to " + std::to_string(now[i]);
            }
            last[i] = now[i];
          }
          for (const Part* p : {&cfg.a, &cfg.b, &cfg.c}) {
            if (p->check != p->seq * 7 + 1) {
              problem = "an invalid part was published";
            }
          }
          if (!problem.empty() && reader_failures++ == 0) {
            std::lock_guard<std::mutex> lk(failure_mu);
            first_reader_failure = problem;
          }
          last_generation = g;
          reads.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }

    auto snapshot_seq = [&](int part) {
      Result<std::shared_ptr<const SoakConfig>> cfg = manager.get<SoakConfig>(kName);
      if (!cfg) {
        return -1;
      }
      const SoakConfig& s = **cfg;
      return part == 0 ? s.a.seq : part == 1 ? s.b.seq : part == 2 ? s.c.seq : s.eseq;
    };
    const std::string names[4] = {"file:" + a.string(), "file:" + b.string(), "file:" + c.string(),
                                  "env:SOAK"};
    auto source = [&](int part) -> std::optional<SourceStatus> {
      Result<ConfigStatus> st = manager.status(kName);
      if (st) {
        for (const SourceStatus& s : st->sources) {
          if (s.name == names[part]) {
            return s;
          }
        }
      }
      return std::nullopt;
    };

    int seq[4] = {0, 0, 0, 0};
    bool broken[4] = {false, false, false, false};  // its last change was invalid
    std::string env_now = "0";
    auto write_part = [&](int part, const std::string& content) {
      if (part == 0) {
        save(a, content, pick(6));
      } else if (part == 1) {
        volume.write({{"b.yaml", content}});
      } else {
        save(c, content, pick(6));
      }
    };
    const Format formats[3] = {Format::kJson, Format::kYaml, Format::kToml};
    const char* keys[3] = {"a", "b", "c"};
    auto write_valid = [&](int part) {
      ++seq[part];
      broken[part] = false;
      if (part == 3) {
        env_now = std::to_string(seq[part]);
        ASSERT_TRUE(set_env("SOAK_ESEQ", env_now).ok());
      } else {
        write_part(part, render(formats[part], keys[part], seq[part], seq[part] * 7 + 1, pad()));
      }
    };

    for (std::size_t i = 0; i < changes && !HasFatalFailure(); ++i) {
      const int part = pick(4);
      const bool invalid = pick(8) == 0;
      ++totals.changes;
      if (invalid) {
        // The previous valid state must be live first, so "kept" is exact.
        ASSERT_TRUE(wait_until([&] { return snapshot_seq(part) == seq[part]; }))
            << "part " << part << " never reached seq " << seq[part];
        const auto before = source(part);
        ASSERT_TRUE(before.has_value());
        const int kind = pick(4);
        if (part == 3) {
          // Unparsable or refused by min(0); never the value already set
          // (an unchanged variable is no change at all).
          std::string bad = kind % 2 == 0 ? "seven" : "-3";
          if (bad == env_now) {
            bad = bad == "seven" ? "-3" : "seven";
          }
          env_now = bad;
          ASSERT_TRUE(set_env("SOAK_ESEQ", bad).ok());
        } else {
          write_part(part, render_invalid(formats[part], keys[part], kind, seq[part] + 1));
        }
        ASSERT_TRUE(wait_until([&] {
          const auto now = source(part);
          return now && now->state == SourceState::kError && now->loads > before->loads;
        })) << "invalid change "
            << i << " to part " << part << " (kind " << kind << ") was never refused";
        EXPECT_EQ(snapshot_seq(part), seq[part]) << "the refused change replaced the last good";
        ++totals.invalid;
        broken[part] = true;
        continue;
      }
      write_valid(part);
      if (pick(4) == 0) {
        ++totals.waited;
        ASSERT_TRUE(wait_until([&] { return snapshot_seq(part) == seq[part]; }))
            << "part " << part << " never reached seq " << seq[part];
      }
    }

    // A source left broken by its last change gets one more valid change.
    for (int p = 0; p < 4; ++p) {
      if (broken[p]) {
        write_valid(p);
      }
    }
    // Settled: every source ok and at its last value.
    ASSERT_TRUE(wait_until(
        [&] {
          for (int p = 0; p < 4; ++p) {
            const auto s = source(p);
            if (snapshot_seq(p) != seq[p] || !s || s->state != SourceState::kOk) {
              return false;
            }
          }
          return true;
        },
        30s))
        << "final seqs " << seq[0] << " " << seq[1] << " " << seq[2] << " " << seq[3];
    stop = true;
    for (std::thread& t : readers) {
      t.join();
    }

    // The published tree equals the final sources loaded afresh.
    {
      ConfigManager fresh(quiet());
      ASSERT_TRUE(fresh.register_config<SoakConfig>(std::string(kName)).ok());
      for (const fs::path& p : {a, b, c}) {
        FileSourceOptions o;
        o.path = p;
        o.watch = WatchMode::kNone;
        ASSERT_TRUE(fresh.add_source(kName, make_file_source(std::move(o)).value()).ok());
      }
      EnvSourceOptions e;
      e.prefix = "SOAK";
      e.watch = false;
      ASSERT_TRUE(fresh.add_source(kName, make_env_source(e).value()).ok());
      const SnapshotPtr live = manager.snapshot(kName).value();
      const SnapshotPtr expected = fresh.snapshot(kName).value();
      EXPECT_TRUE(live->tree() == expected->tree())
          << "live:\n"
          << manager.export_config(kName).value() << "\nfrom the sources:\n"
          << fresh.export_config(kName).value();
    }
    const ConfigStatus st = manager.status(kName).value();
    publishes = st.publishes;
    failures = st.failures;
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;

  EXPECT_EQ(reader_failures.load(), 0) << first_reader_failure;
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(totals.changes, changes);
  if (changes >= 100) {
    EXPECT_GT(totals.invalid, 0u) << "no invalid change was tried";
  }

  // Back to baseline once the manager is gone.
  EXPECT_TRUE(wait_until([&] { return count_threads() == threads_before; }))
      << count_threads() << " threads, " << threads_before << " before";
  EXPECT_TRUE(wait_until([&] { return count_open_fds() == fds_before; }))
      << count_open_fds() << " fds, " << fds_before << " before";
  malloc_trim(0);
  const std::size_t rss_after = rss_kib();
  if (!kSanitized) {
    // Allocator caches and the readers' arenas may keep a little; a leak of
    // the snapshots or layers written (up to 64 KiB each) would not fit.
    EXPECT_LT(rss_after, rss_before + 16 * 1024)
        << "RSS " << rss_after << " KiB after, " << rss_before << " KiB before";
  }
  std::printf(
      "soak: seed %u, %zu changes (%zu invalid, %zu waited for) in %.1f s; %llu publishes; "
      "%llu refused by binding; %llu reads; fds %zu -> %zu, threads %zu -> %zu, RSS %zu -> %zu "
      "KiB\n",
      seed, totals.changes, totals.invalid, totals.waited,
      std::chrono::duration<double>(elapsed).count(), static_cast<unsigned long long>(publishes),
      static_cast<unsigned long long>(failures), static_cast<unsigned long long>(reads.load()),
      fds_before, count_open_fds(), threads_before, count_threads(), rss_before, rss_after);
}

}  // namespace
}  // namespace liveconf::testing
