// The read path under a publishing writer: liveconf's Reader<T>::get() against
// a mutex-guarded shared_ptr and std::atomic<std::shared_ptr>, in one binary.
// Each benchmark runs with 1 and 2 reader threads while a background writer
// publishes 1000 snapshots a second through the same mechanism.
//
//   ./build/release/bench/read_path_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command)
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <benchmark/benchmark.h>

#include "liveconf/liveconf.hpp"

namespace {

struct Cfg {
  int timeout = 30;
  bool enabled = true;
};

void liveconf_describe(liveconf::Describer<Cfg>& d) {
  d.field("timeout", &Cfg::timeout);
  d.field("enabled", &Cfg::enabled);
}

// Runs `publish(n)` about every millisecond until stopped.
class Writer {
 public:
  template <typename Fn>
  explicit Writer(Fn publish)
      : thread_([this, publish] {
          int n = 0;
          auto next = std::chrono::steady_clock::now();
          while (!stop_.load(std::memory_order_relaxed)) {
            publish(++n);
            next += std::chrono::milliseconds(1);
            std::this_thread::sleep_until(next);  // paces the writer; not a synchronisation wait
          }
        }) {}
  ~Writer() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// State shared by the benchmark threads; thread 0 sets it up and tears it down.
struct Shared {
  std::unique_ptr<liveconf::ConfigManager> manager;
  std::mutex mu;
  std::shared_ptr<const Cfg> guarded;
  std::atomic<std::shared_ptr<const Cfg>> atomic_ptr;
  std::unique_ptr<Writer> writer;
};
Shared g;

// Setup/Teardown run once around all threads of a run (Google Benchmark >= 1.7).
void setup_reader(const benchmark::State&) {
  g.manager = std::make_unique<liveconf::ConfigManager>();
  (void)g.manager->register_config<Cfg>("bench");
  g.writer = std::make_unique<Writer>([](int n) {
    liveconf::Value v = liveconf::Value::object();
    v["timeout"] = n;
    (void)g.manager->update("bench", v);
  });
}
void teardown_reader(const benchmark::State&) {
  g.writer.reset();
  g.manager.reset();
}

void setup_mutex(const benchmark::State&) {
  g.guarded = std::make_shared<const Cfg>();
  g.writer = std::make_unique<Writer>([](int n) {
    auto next = std::make_shared<const Cfg>(Cfg{n, true});
    std::lock_guard<std::mutex> lk(g.mu);
    g.guarded = std::move(next);
  });
}

void setup_atomic(const benchmark::State&) {
  g.atomic_ptr.store(std::make_shared<const Cfg>());
  g.writer = std::make_unique<Writer>([](int n) {
    g.atomic_ptr.store(std::make_shared<const Cfg>(Cfg{n, true}));
  });
}

void teardown_writer(const benchmark::State&) { g.writer.reset(); }

void BM_ReaderGet(benchmark::State& state) {
  liveconf::Reader<Cfg> reader = g.manager->reader<Cfg>("bench").value();
  long sum = 0;
  for (auto _ : state) {
    sum += reader.get().timeout;
    benchmark::DoNotOptimize(sum);
  }
}

void BM_MutexSharedPtr(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) {
    std::shared_ptr<const Cfg> p;
    {
      std::lock_guard<std::mutex> lk(g.mu);
      p = g.guarded;
    }
    sum += p->timeout;
    benchmark::DoNotOptimize(sum);
  }
}

void BM_AtomicSharedPtr(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) {
    std::shared_ptr<const Cfg> p = g.atomic_ptr.load(std::memory_order_acquire);
    sum += p->timeout;
    benchmark::DoNotOptimize(sum);
  }
}

BENCHMARK(BM_ReaderGet)
    ->Setup(setup_reader)
    ->Teardown(teardown_reader)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_MutexSharedPtr)
    ->Setup(setup_mutex)
    ->Teardown(teardown_writer)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_AtomicSharedPtr)
    ->Setup(setup_atomic)
    ->Teardown(teardown_writer)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
