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

void BM_Publish(benchmark::State& state) {
  const auto mode = static_cast<Mode>(state.range(0));
  const auto keys = static_cast<int>(state.range(1));
  const std::filesystem::path dir = bench_dir();
  std::unique_ptr<Journal> journal;
  if (mode != kNoJournal) {
    const std::filesystem::path key = dir / "key";
    std::ofstream(key) << std::string(64, 'e');
    std::filesystem::permissions(
        key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    JournalOptions jo;
    jo.dir = dir / "journal";
    jo.key_file = key;
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
    Value base = Value::object();
    for (int i = 0; i < keys; ++i) {
      base["section" + std::to_string(i % 100)]["key" + std::to_string(i)] = i;
    }
    base["db"]["password"] = "hunter2";
    ro.layers.push_back(Layer{"base", 0, base, "v1"});
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

// Restoring a generation of a 10,000-key config from the journal on disk
// (read its records, unseal, decode the layers with their origins, merge):
// what a rollback will cost before its publish. The generation restored is
// 50 or 5,000 records after its segment's start, so its unchanged layers are
// in an earlier record, as in a real journal; the segment's layer index finds
// that record without reading the ones between.
void BM_Restore(benchmark::State& state) {
  const std::filesystem::path dir = bench_dir();
  const std::filesystem::path key = dir / "key";
  std::ofstream(key) << std::string(64, 'e');
  std::filesystem::permissions(
      key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  JournalOptions jo;
  jo.dir = dir / "journal";
  jo.key_file = key;
  jo.sync = JournalSync::kNone;
  std::unique_ptr<Journal> journal = Journal::open(jo).value();
  std::uint64_t generation = 0;
  {
    ManagerOptions mo;
    mo.log = [](LogLevel, std::string_view) {};
    mo.on_publish = journal->publish_hook();
    ConfigManager manager(mo);
    RegisterOptions ro;
    ro.sensitive.emplace_back("db.password");
    Value base = Value::object();
    for (int i = 0; i < static_cast<int>(state.range(0)); ++i) {
      base["section" + std::to_string(i % 100)]["key" + std::to_string(i)] = i;
    }
    base["db"]["password"] = "hunter2";
    ro.layers.push_back(Layer{"base", 0, base, "v1"});
    (void)manager.register_untyped("app", ro);
    for (int i = 0; i < static_cast<int>(state.range(1)); ++i) {
      Value data = Value::object();
      data["n"] = i;
      (void)manager.update("app", data);
    }
    generation = manager.snapshot("app").value()->generation();
  }
  std::size_t nodes = 0;
  for (auto _ : state) {
    Result<RestoredGeneration> r = journal->restore("app", generation);
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      break;
    }
    Value tree = r->tree();
    nodes = tree.node_count();
    benchmark::DoNotOptimize(tree);
  }
  state.counters["nodes"] = static_cast<double>(nodes);
  journal.reset();
  std::filesystem::remove_all(dir);
}

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
