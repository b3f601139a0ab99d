// What the journal costs a publish (issue 14), and what a restore costs.
// BM_Publish: update() of one key, with no
// journal (the baseline, same run), with a journal that lets the kernel write
// back (JournalSync::kNone) and with one that fdatasyncs each record
// (kEveryRecord, the default), on a 10-key and a 10,000-key config. Counters:
// bytes per record, and whether secrets are sealed. The journal directory is
// under $LIVECONF_BENCH_DIR (default /var/tmp: a real disk, not a tmpfs).
//
//   ./build/release/bench/journal_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "liveconf/journal.hpp"
#include "liveconf/store.hpp"

namespace {

using namespace liveconf;

enum Mode : int { kNoJournal = 0, kSyncNone = 1, kSyncEvery = 2 };

std::filesystem::path bench_dir() {
  const char* env = std::getenv("LIVECONF_BENCH_DIR");
  std::filesystem::path d = std::filesystem::path(env != nullptr ? env : "/var/tmp") /
                            ("liveconf-journal-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// A config of `keys` keys in 100 sections, and a secret.
Value config_of(int keys) {
  Value base = Value::object();
  for (int i = 0; i < keys; ++i) {
    base["section" + std::to_string(i % 100)]["key" + std::to_string(i)] = i;
  }
  base["db"]["password"] = "hunter2";
  return base;
}

// A 0600 key file in `dir`.
std::filesystem::path write_key(const std::filesystem::path& dir) {
  const std::filesystem::path key = dir / "key";
  std::ofstream(key) << std::string(64, 'e');
  std::filesystem::permissions(
      key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return key;
}

void BM_Publish(benchmark::State& state) {
  const auto mode = static_cast<Mode>(state.range(0));
  const auto keys = static_cast<int>(state.range(1));
  const std::filesystem::path dir = bench_dir();
  std::unique_ptr<Journal> journal;
  if (mode != kNoJournal) {
    JournalOptions jo;
    jo.dir = dir / "journal";
    jo.key_file = write_key(dir);
    jo.sync = mode == kSyncEvery ? JournalSync::kEveryRecord : JournalSync::kNone;
    journal = Journal::open(jo).value();
  }
  ManagerOptions mo;
  mo.log = [](LogLevel, std::string_view) {};
  if (journal) {
    mo.on_publish = journal->publish_hook();
  }
  {
    ConfigManager manager(mo);
    RegisterOptions ro;
    ro.sensitive.emplace_back("db.password");
    ro.layers.push_back(Layer{"base", 0, config_of(keys), "v1"});
    if (!manager.register_untyped("app", ro).ok()) {
      state.SkipWithError("register failed");
      return;
    }
    std::int64_t n = 0;
    for (auto _ : state) {
      Value data = Value::object();
      data["n"] = ++n;
      if (!manager.update("app", data).ok()) {
        state.SkipWithError("update failed");
        break;
      }
    }
  }
  if (journal) {
    const JournalStats st = journal->stats();
    state.counters["bytes_per_record"] =
        static_cast<double>(st.bytes) / static_cast<double>(std::max<std::uint64_t>(1, st.records));
    state.counters["failures"] = static_cast<double>(st.failures);
  }
  journal.reset();
  std::filesystem::remove_all(dir);
}

// A journal with `keys` keys and `records` one-key updates after it, and the
// manager that wrote it (still running, serving the newest).
struct Written {
  std::filesystem::path dir;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<ConfigManager> manager;
  std::uint64_t first = 0;  // the generation with n absent
};

Written write_journal(int keys, int records, JournalSync sync) {
  Written w;
  w.dir = bench_dir();
  JournalOptions jo;
  jo.dir = w.dir / "journal";
  jo.key_file = write_key(w.dir);
  jo.sync = sync;
  w.journal = Journal::open(jo).value();
  ManagerOptions mo;
  mo.log = [](LogLevel, std::string_view) {};
  mo.on_publish = w.journal->publish_hook();
  w.manager = std::make_unique<ConfigManager>(mo);
  RegisterOptions ro;
  ro.sensitive.emplace_back("db.password");
  ro.layers.push_back(Layer{"base", 0, config_of(keys), "v1"});
  (void)w.manager->register_untyped("app", ro);
  w.first = w.manager->snapshot("app").value()->generation();
  for (int i = 0; i < records; ++i) {
    Value data = Value::object();
    data["n"] = i;
    (void)w.manager->update("app", data);
  }
  return w;
}

// Restoring a generation of a 10,000-key config from the journal on disk
// (read its records, unseal, decode the layers with their origins, merge):
// what a rollback will cost before its publish. The generation restored is
// 50 or 5,000 records after its segment's start, so its unchanged layers are
// in an earlier record, as in a real journal; the segment's layer index finds
// that record without reading the ones between.
void BM_Restore(benchmark::State& state) {
  Written w = write_journal(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                            JournalSync::kNone);
  const std::uint64_t generation = w.manager->snapshot("app").value()->generation();
  w.manager.reset();
  std::size_t nodes = 0;
  for (auto _ : state) {
    Result<RestoredGeneration> r = w.journal->restore("app", generation);
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      break;
    }
    Value tree = r->tree();
    nodes = tree.node_count();
    benchmark::DoNotOptimize(tree);
  }
  state.counters["nodes"] = static_cast<double>(nodes);
  w.journal.reset();
  std::filesystem::remove_all(w.dir);
}

// An operator's rollback of a 10,000-key config, from the call to the
// published snapshot: Journal::rollback restores the generation from disk
// (unsealing its secret), ConfigManager::pin merges, binds and publishes it,
// and the journal writes the pin's record with fdatasync (the default sync).
// The goal is under 50 ms. Each iteration is followed, untimed, by unpin().
void BM_Rollback(benchmark::State& state) {
  Written w = write_journal(static_cast<int>(state.range(0)), 10, JournalSync::kEveryRecord);
  for (auto _ : state) {
    const Status st = w.journal->rollback(*w.manager, "app", w.first);
    if (!st.ok()) {
      state.SkipWithError(st.to_string().c_str());
      break;
    }
    state.PauseTiming();
    (void)w.manager->unpin("app");
    state.ResumeTiming();
  }
  w.manager.reset();
  w.journal.reset();
  std::filesystem::remove_all(w.dir);
}

// The health gate's revert of the same config (ConfigManager::revert: the
// healthy stack merged, bound and published, journaled with fdatasync); an
// untimed update() makes a generation to revert before each iteration.
void BM_HealthRevert(benchmark::State& state) {
  Written w = write_journal(static_cast<int>(state.range(0)), 0, JournalSync::kEveryRecord);
  (void)w.manager->mark_healthy("app", w.first);
  std::int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Value data = Value::object();
    data["n"] = ++n;
    (void)w.manager->update("app", data);
    state.ResumeTiming();
    Result<std::uint64_t> r = w.manager->revert("app", RevertOptions{0, "bench"});
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      break;
    }
  }
  w.manager.reset();
  w.journal.reset();
  std::filesystem::remove_all(w.dir);
}

// Journal::open on a directory of `records` records of a 10,000-key config:
// what a restart pays before its first publish (the scan that indexes every
// record and cuts a torn tail).
void BM_Open(benchmark::State& state) {
  Written w = write_journal(10000, static_cast<int>(state.range(0)), JournalSync::kNone);
  w.manager.reset();
  w.journal.reset();
  JournalOptions jo;
  jo.dir = w.dir / "journal";
  jo.key_file = w.dir / "key";
  jo.sync = JournalSync::kNone;
  std::uint64_t records = 0;
  for (auto _ : state) {
    Result<std::unique_ptr<Journal>> j = Journal::open(jo);
    if (!j) {
      state.SkipWithError(j.error().to_string().c_str());
      break;
    }
    records = (*j)->stats().records;
  }
  state.counters["records"] = static_cast<double>(records);
  std::filesystem::remove_all(w.dir);
}

BENCHMARK(BM_Rollback)->ArgNames({"keys"})->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HealthRevert)->ArgNames({"keys"})->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Open)->ArgNames({"records"})->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Restore)
    ->ArgNames({"keys", "records_before"})
    ->Args({10000, 50})
    ->Args({10000, 5000})
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Publish)
    ->ArgNames({"mode", "keys"})
    ->ArgsProduct({{kNoJournal, kSyncNone, kSyncEvery}, {10, 10000}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
