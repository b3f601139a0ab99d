// A full reload of a 10 MB JSON config (parse, merge, bind, diff, publish)
// against simdjson's raw DOM parse of the same bytes, in the same run, plus
// each stage alone so the costs can be compared.
//
//   ./build/release/bench/reload_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command)
#include <map>
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

const std::string& doc(int variant) {
  static const std::string a = make_document(kBytes, 0);
  static const std::string b = make_document(kBytes, 1);
  return variant == 0 ? a : b;
}

liveconf::Value parse(const std::string& text) {
  liveconf::ParseOptions opts;
  opts.origin = liveconf::make_file_origin("file:catalog.json", "catalog.json");
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

// Parse + merge + bind + publish (ConfigManager::set_layer) + diff against the
// previous snapshot: everything a file change costs before subscribers run.
void BM_FullReload(benchmark::State& state) {
  liveconf::ConfigManager manager;
  (void)manager.register_config<Catalog>("catalog");
  int variant = 0;
  for (auto _ : state) {
    const liveconf::SnapshotPtr before = manager.snapshot("catalog").value();
    liveconf::Status st = manager.set_layer(
        "catalog", {"file:catalog.json", 10, parse(doc(variant)), std::to_string(variant)});
    if (!st.ok()) {
      state.SkipWithError(st.to_string().c_str());
      break;
    }
    const liveconf::SnapshotPtr after = manager.snapshot("catalog").value();
    liveconf::ChangeSet c = liveconf::diff(before->tree(), after->tree());
    benchmark::DoNotOptimize(c);
    variant ^= 1;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc(0).size()));
}
BENCHMARK(BM_FullReload)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
