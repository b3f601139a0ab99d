// A full reload of a 10 MB JSON config (parse, merge, bind, diff, publish)
// against simdjson's raw DOM parse of the same bytes, in the same run, plus
// each stage alone so the costs can be compared.
//
//   ./build/release/bench/reload_bench [FILE.json] --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command)
//
// With FILE.json every stage runs on that document instead of the built-in
// one (a map of ~96,000 five-field objects). The typed bind and the typed
// full reload need the built-in document's shape and are skipped for a file;
// the untyped full reload runs on both. Its "changed" document is a second
// parse of the same bytes under another version, so the diff compares every
// leaf (nothing is shared between the two trees).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>

#include "liveconf/liveconf.hpp"

#ifdef LIVECONF_HAVE_SIMDJSON
#include <simdjson.h>
#endif

namespace {

struct Item {
  std::string name;
  double weight = 0;
  std::vector<std::string> tags;
  bool enabled = false;
  int count = 0;
};

void liveconf_describe(liveconf::Describer<Item>& d) {
  d.field("name", &Item::name);
  d.field("weight", &Item::weight);
  d.field("tags", &Item::tags);
  d.field("enabled", &Item::enabled);
  d.field("count", &Item::count);
}

struct Catalog {
  std::string version = "1";
  std::map<std::string, Item> items;
};

void liveconf_describe(liveconf::Describer<Catalog>& d) {
  d.field("version", &Catalog::version);
  d.field("items", &Catalog::items);
}

// A deterministic document of about `bytes` bytes; `variant` changes one value.
std::string make_document(std::size_t bytes, int variant) {
  std::string out = "{\n  \"version\": \"v" + std::to_string(variant) + "\",\n  \"items\": {\n";
  for (int i = 0; out.size() < bytes; ++i) {
    if (i > 0) {
      out += ",\n";
    }
    const std::string id = std::to_string(i);
    out += "    \"item-" + id + "\": {\"name\": \"Item number " + id +
           "\", \"weight\": " + std::to_string(i % 1000) + ".25, \"tags\": [\"red\", \"t" +
           std::to_string(i % 17) + "\"], \"enabled\": " + (i % 3 == 0 ? "true" : "false") +
           ", \"count\": " + std::to_string(i * 7 % 100000) + "}";
  }
  out += "\n  }\n}\n";
  return out;
}

constexpr std::size_t kBytes = std::size_t{10} << 20;

// The document given on the command line, if any (set before benchmarks run).
std::string g_file_path;   // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
std::string g_file_bytes;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

bool built_in() { return g_file_path.empty(); }

const std::string& doc(int variant) {
  if (!built_in()) {
    return g_file_bytes;
  }
  static const std::string a = make_document(kBytes, 0);
  static const std::string b = make_document(kBytes, 1);
  return variant == 0 ? a : b;
}

liveconf::Value parse(const std::string& text) {
  liveconf::ParseOptions opts;
  const std::string path = built_in() ? "catalog.json" : g_file_path;
  opts.origin = liveconf::make_file_origin("file:" + path, path);
  opts.max_bytes = std::max<std::size_t>(opts.max_bytes, text.size());
  return liveconf::find_format("json")->parse(text, opts).value();
}

#ifdef LIVECONF_HAVE_SIMDJSON
void BM_SimdjsonDomParse(benchmark::State& state) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(doc(0));
  for (auto _ : state) {
    simdjson::dom::element root;
    auto error = parser.parse(padded).get(root);
    benchmark::DoNotOptimize(error);
    benchmark::DoNotOptimize(root);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc(0).size()));
}
BENCHMARK(BM_SimdjsonDomParse)->Unit(benchmark::kMillisecond);
#endif

void BM_LiveconfJsonParse(benchmark::State& state) {
  for (auto _ : state) {
    liveconf::Value v = parse(doc(0));
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc(0).size()));
}
BENCHMARK(BM_LiveconfJsonParse)->Unit(benchmark::kMillisecond);

void BM_Merge(benchmark::State& state) {
  std::vector<liveconf::Layer> layers = {
      {"defaults", liveconf::kDefaultsPriority, liveconf::to_dict(Catalog{}, {true}), "d"},
      {"file:catalog.json", 10, parse(doc(0)), "1"}};
  for (auto _ : state) {
    liveconf::Value merged = liveconf::merge_layers(layers, {});
    benchmark::DoNotOptimize(merged);
  }
}
BENCHMARK(BM_Merge)->Unit(benchmark::kMillisecond);

void BM_Bind(benchmark::State& state) {
  if (!built_in()) {
    state.SkipWithError("the typed bind needs the built-in document's shape");
    return;
  }
  const liveconf::Value tree = parse(doc(0));
  for (auto _ : state) {
    auto c = liveconf::from_dict<Catalog>(tree);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Bind)->Unit(benchmark::kMillisecond);

void BM_Diff(benchmark::State& state) {
  const liveconf::Value a = parse(doc(0));
  const liveconf::Value b = parse(doc(1));
  for (auto _ : state) {
    liveconf::ChangeSet c = liveconf::diff(a, b);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Diff)->Unit(benchmark::kMillisecond);

// Parse + merge (+ bind) + publish (ConfigManager::set_layer) + diff against
// the previous snapshot: everything a file change costs before subscribers
// run. The two documents alternate, each under a new version.
void reload_loop(benchmark::State& state, liveconf::ConfigManager& manager,
                 const std::string& config) {
  int variant = 0;
  std::uint64_t version = 0;
  for (auto _ : state) {
    const liveconf::SnapshotPtr before = manager.snapshot(config).value();
    liveconf::Status st = manager.set_layer(
        config, {"file:" + config + ".json", 10, parse(doc(variant)), std::to_string(++version)});
    if (!st.ok()) {
      state.SkipWithError(st.to_string().c_str());
      break;
    }
    const liveconf::SnapshotPtr after = manager.snapshot(config).value();
    liveconf::ChangeSet c = liveconf::diff(before->tree(), after->tree());
    benchmark::DoNotOptimize(c);
    variant ^= 1;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc(0).size()));
}

void BM_FullReload(benchmark::State& state) {
  if (!built_in()) {
    state.SkipWithError("the typed reload needs the built-in document's shape");
    return;
  }
  liveconf::ConfigManager manager;
  (void)manager.register_config<Catalog>("catalog");
  reload_loop(state, manager, "catalog");
}
BENCHMARK(BM_FullReload)->Unit(benchmark::kMillisecond);

// The same without a type (no bind), for any document.
void BM_FullReloadUntyped(benchmark::State& state) {
  liveconf::ConfigManager manager;
  (void)manager.register_untyped("doc");
  reload_loop(state, manager, "doc");
}
BENCHMARK(BM_FullReloadUntyped)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // A first argument that is not a flag names the document to measure.
  if (argc > 1 && argv[1][0] != '-') {
    g_file_path = argv[1];
    std::ifstream in(g_file_path, std::ios::binary);
    if (!in.is_open()) {
      std::cerr << "reload_bench: cannot read " << g_file_path << ": " << std::strerror(errno)
                << "\n";
      return 2;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    g_file_bytes = bytes.str();
    liveconf::ParseOptions probe;
    probe.max_bytes = std::max<std::size_t>(probe.max_bytes, g_file_bytes.size());
    if (auto v = liveconf::find_format("json")->parse(g_file_bytes, probe); !v) {
      std::cerr << "reload_bench: " << v.error().to_string() << "\n";
      return 2;
    }
    std::printf("document: %s, %zu bytes\n", g_file_path.c_str(), g_file_bytes.size());
    argv[1] = argv[0];
    ++argv;
    --argc;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
