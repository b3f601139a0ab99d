// The convergence property (issue: trust): what a running manager serves
// equals what a fresh load of the same sources gives, or, where the fresh
// load refuses, the last good state with the refusal reported.
//
// A seeded random driver changes every kind of file and environment source
// of one typed config:
//   a.json          a JSON file, saved with every pattern of testutil (atomic
//                   rename, in place, vim, JetBrains, emacs, delete + create),
//                   sometimes deleted (it is required: then "missing" refuses)
//   volume/b.yaml   a YAML file in a Kubernetes ConfigMap volume (..data swap)
//   conf.d/         JSON/YAML/TOML files added, removed, renamed, re-created,
//                   and symlinks into shared/ added, retargeted and removed,
//                   their targets edited
//   c.env           a .env file (env-style keys: EXTRA__K1 sets extra.k1)
//   CONV_*          environment variables through set_env/unset_env
//   update()        runtime overrides
// with valid content, syntax errors, wrong types, out-of-range values and a
// cross-field validator (min <= max) that makes one source's change valid or
// invalid depending on another's. After each step (or burst of steps) it
// waits, with a deadline, until the live manager equals a fresh manager built
// from the same sources: the same tree, the same source (layer) and line for
// every value, the same state and layer versions for every source. Where the
// fresh one refuses, the live one must report a source in error, still bind,
// and every source it calls ok must serve exactly its current content.
//
// Size: LIVECONF_CONVERGENCE_STEPS (default 120 in ctest; .ci/run runs a
// longer form, scripts/convergence.sh the hours-long one). The seed is
// printed; LIVECONF_CONVERGENCE_SEED replays a run exactly (the same
// operations; timing is the machine's).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/bind.hpp"
#include "liveconf/env.hpp"
#include "liveconf/memory_source.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

#ifdef LIVECONF_CONVERGENCE_ETCD
#include "liveconf/etcd.hpp"

#include "testutil/etcd_server.hpp"
#endif

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Conv {
  int min = 0;
  int max = 100;
  std::string name = "base";
  int level = 1;
  std::map<std::string, int> extra;
};

void liveconf_describe(Describer<Conv>& d) {
  d.name("Conv");
  d.field("min", &Conv::min).range(0, 1000);
  d.field("max", &Conv::max).range(0, 1000);
  d.field("name", &Conv::name);
  d.field("level", &Conv::level).range(0, 9);
  d.field("extra", &Conv::extra);
  d.validate([](const Conv& c) -> Status {
    if (c.min > c.max) {
      return Error(ErrorCode::kValidation,
                   "min " + std::to_string(c.min) + " exceeds max " + std::to_string(c.max), {},
                   KeyPath("min"));
    }
    return ok_status();
  });
}

constexpr std::string_view kName = "conv";
constexpr std::string_view kEnvPrefix = "CONV";
constexpr Debounce kDebounce{5ms, 200ms};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

enum class Fmt { kJson, kYaml, kToml, kDotenv };

// Content for one source: a random subset of the config's keys.
struct Content {
  std::map<std::string, std::string> scalars;  // key -> value as JSON-ish text
  std::map<std::string, int> extra;
};

std::string render(Fmt f, const Content& c) {
  std::ostringstream out;
  switch (f) {
    case Fmt::kJson: {
      out << "{";
      bool first = true;
      for (const auto& [k, v] : c.scalars) {
        out << (first ? "" : ", ") << "\"" << k << "\": " << v;
        first = false;
      }
      if (!c.extra.empty()) {
        out << (first ? "" : ", ") << "\"extra\": {";
        bool f2 = true;
        for (const auto& [k, v] : c.extra) {
          out << (f2 ? "" : ", ") << "\"" << k << "\": " << v;
          f2 = false;
        }
        out << "}";
      }
      out << "}\n";
      break;
    }
    case Fmt::kYaml:
      out << "# yaml\n";
      if (c.scalars.empty() && c.extra.empty()) {
        out << "{}\n";
      }
      for (const auto& [k, v] : c.scalars) {
        out << k << ": " << v << "\n";
      }
      if (!c.extra.empty()) {
        out << "extra:\n";
        for (const auto& [k, v] : c.extra) {
          out << "  " << k << ": " << v << "\n";
        }
      }
      break;
    case Fmt::kToml:
      if (c.scalars.empty() && c.extra.empty()) {
        out << "[extra]\n";  // a file with no key is an "empty document"
      }
      for (const auto& [k, v] : c.scalars) {
        out << k << " = " << v << "\n";
      }
      if (!c.extra.empty()) {
        out << "[extra]\n";
        for (const auto& [k, v] : c.extra) {
          out << k << " = " << v << "\n";
        }
      }
      break;
    case Fmt::kDotenv:
      out << "# .env\n";
      if (c.scalars.empty() && c.extra.empty()) {
        out << "EXTRA__K0=0\n";  // a file with no variable is an "empty document"
      }
      for (const auto& [k, v] : c.scalars) {
        std::string upper = k;
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        std::string text = v;
        if (text.size() >= 2 && text.front() == '"') {
          text = text.substr(1, text.size() - 2);
        }
        out << upper << "=" << text << "\n";
      }
      for (const auto& [k, v] : c.extra) {
        std::string upper = k;
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        out << "EXTRA__" << upper << "=" << v << "\n";
      }
      break;
  }
  return out.str();
}

std::string ext(Fmt f) {
  switch (f) {
    case Fmt::kJson:
      return ".json";
    case Fmt::kYaml:
      return ".yaml";
    case Fmt::kToml:
      return ".toml";
    case Fmt::kDotenv:
      return ".env";
  }
  return {};
}

// Every leaf: path -> "value @ source:line".
void provenance(const Value& v, const std::string& path, std::map<std::string, std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      provenance(child, path.empty() ? k : path + "." + k, out);
    }
    return;
  }
  out[path] = v.to_display_string() + " @ " + std::string(v.origin().source()) + ":" +
              std::to_string(v.origin().line());
}

std::string describe_sources(const std::vector<SourceStatus>& sources, bool counts = false) {
  std::string out;
  for (const SourceStatus& s : sources) {
    out += "  " + s.name + " " + std::string(source_state_name(s.state));
    if (counts) {
      out += " (" + std::to_string(s.signals) + " signals, " + std::to_string(s.loads) + " loads)";
    }
    if (s.last_error) {
      out += " (" + s.last_error->to_string() + ")";
    }
    for (const LayerVersion& l : s.layers) {
      out += "\n    " + l.name + " @ " + l.version;
    }
    out += "\n";
  }
  return out;
}

class Convergence {
 public:
  explicit Convergence(std::uint64_t seed) : rng_(seed), seed_(seed) {}

#ifdef LIVECONF_CONVERGENCE_ETCD
  // A sixth source: keys under /conv/ of the suite's real etcd (priority 7,
  // between the .env file and the environment).
  void use_etcd(const std::string& endpoint) {
    etcd_.endpoints = {endpoint};
    etcd_.request_timeout = 2s;
    client_ = EtcdClient::create(etcd_).value();
  }
#endif

  ~Convergence() {
    live_.reset();
    for (const char* k : {"CONV_MIN", "CONV_MAX", "CONV_NAME", "CONV_LEVEL"}) {
      (void)unset_env(k);
    }
  }

  void start() {
    fs::create_directory(dir_ / "conf.d");
    fs::create_directory(dir_ / "shared");
    fs::create_directory(dir_ / "volume");
    // Initial content without min/max, so the start is valid whatever the seed.
    auto initial = [&] {
      Content c = random_content(true);
      c.scalars.erase("min");
      c.scalars.erase("max");
      return c;
    };
    write_file(a_path(), render(Fmt::kJson, initial()));
    k8s_ = std::make_unique<KubernetesAtomicWriter>(dir_ / "volume");
    k8s_->write({{"b.yaml", render(Fmt::kYaml, initial())}});
    for (int i = 0; i < 3; ++i) {
      const Fmt f = random_fmt();
      write_file(dir_ / "conf.d" / confd_name(f), render(f, initial()));
    }
    write_file(dir_ / "c.env", render(Fmt::kDotenv, initial()));
    ManagerOptions o;
    const bool verbose = env_number("LIVECONF_CONVERGENCE_VERBOSE", 0) != 0;
    o.log = [verbose](LogLevel level, std::string_view message) {
      if (verbose) {
        std::fprintf(stderr, "live %d: %.*s\n", static_cast<int>(level),
                     static_cast<int>(message.size()), message.data());
      }
    };
    live_ = std::make_unique<ConfigManager>(o);
    ASSERT_TRUE(live_->register_config<Conv>(std::string(kName)).ok());
    Status st = live_->add_sources(kName, make_sources(true));
    ASSERT_TRUE(st.ok()) << st.error().to_string() << " (seed " << seed_ << ")";
  }

  // One random operation (or a burst of them), then the check.
  void step(std::size_t n) {
    const int burst = pick(0, 9) == 0 ? pick(2, 5) : 1;
    std::string what;
    for (int i = 0; i < burst; ++i) {
      what += (i ? "; " : "") + random_op();
    }
    log_.push_back("step " + std::to_string(n) + ": " + what);
    if (log_.size() > 12) {
      log_.erase(log_.begin());
    }
    check(what);
  }

  void check(const std::string& what) {
    const Fresh fresh = fresh_load();
    last_blamed_ = fresh.local ? fresh.blamed : std::string();
    std::string last_diff;
    if (wait_until([&] {
          last_diff = compare(fresh);
          return last_diff.empty();
        })) {
      ++checks_;
      fresh.ok ? ++agreed_ : ++refused_;
      return;
    }
    std::string history;
    for (const std::string& l : log_) {
      history += "  " + l + "\n";
    }
    ADD_FAILURE() << "divergence after: " << what << "\n"
                  << last_diff << "recent steps:\n"
                  << history << "replay: LIVECONF_CONVERGENCE_SEED=" << seed_;
    failed_ = true;
  }

  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::string summary() const {
    return std::to_string(checks_) + " checks: " + std::to_string(agreed_) +
           " where the fresh load was valid, " + std::to_string(refused_) + " where it refused";
  }

 private:
  struct Fresh {
    bool ok = false;
    std::string refusal;  // why the fresh load refused
    bool local = false;   // the refusal is one source's own (parse, I/O): live must name it
    std::string blamed;   // that source
    Value tree;
    std::vector<SourceStatus> sources;
  };

  fs::path a_path() const { return dir_ / "a.json"; }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }

  Content random_content(bool valid) {
    Content c;
    if (chance(60)) {
      c.scalars["min"] = std::to_string(pick(0, 60));
    }
    if (chance(60)) {
      c.scalars["max"] = std::to_string(pick(40, 100));
    }
    if (chance(50)) {
      c.scalars["name"] = "\"n" + std::to_string(pick(0, 9)) + "\"";
    }
    if (chance(40)) {
      c.scalars["level"] = std::to_string(pick(0, 9));
    }
    const int extras = pick(0, 2);
    for (int i = 0; i < extras; ++i) {
      c.extra["k" + std::to_string(pick(1, 4))] = pick(0, 9);
    }
    if (!valid) {
      switch (pick(0, 2)) {
        case 0:
          c.scalars["level"] = "12";  // out of range
          break;
        case 1:
          c.scalars["min"] = "\"lots\"";  // wrong type
          break;
        default:
          c.scalars["min"] = "900";  // above every max: the validator refuses
          break;
      }
    }
    return c;
  }

  // Content for `f`: valid, invalid (types, ranges, validator) or a syntax error.
  std::string random_text(Fmt f) {
    const int roll = pick(1, 100);
    if (roll <= 7) {
      switch (f) {
        case Fmt::kJson:
          return "{\"min\": 1,\n";
        case Fmt::kYaml:
          return "min: [unclosed\n";
        case Fmt::kToml:
          return "min = \n";
        case Fmt::kDotenv:
          return "MIN=\"unterminated\n";
      }
    }
    return render(f, random_content(roll > 17));
  }

  // Saves with a random pattern; returns its name.
  std::string save(const fs::path& path, const std::string& content) {
    return save_with_pattern(path, content, pick(0, kSavePatterns - 1));
  }

  std::vector<fs::path> confd_entries() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_ / "conf.d")) {
      const std::string n = e.path().filename().string();
      if (!n.empty() && n.front() != '.' && n.find('~') == std::string::npos &&
          n.find("___jb_") == std::string::npos) {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string confd_name(Fmt f) {
    return std::to_string(pick(10, 99)) + "-" + static_cast<char>('a' + pick(0, 5)) + ext(f);
  }

  Fmt random_fmt() { return static_cast<Fmt>(pick(0, 2)); }

  std::string confd_add(bool valid_only) {
    const Fmt f = random_fmt();
    const fs::path p = dir_ / "conf.d" / confd_name(f);
    const std::string text = valid_only ? render(f, random_content(true)) : random_text(f);
    chance(50) ? atomic_save(p, text) : write_file(p, text);
    return "add " + p.filename().string();
  }

  // Rewrites the source a fresh load blames with valid content (so refusals
  // do not pile up and most steps still test the valid path).
  std::string repair() {
    const std::string blamed = std::exchange(last_blamed_, std::string());
    if (blamed == "file:" + a_path().string()) {
      return "repair a.json (" + save(a_path(), render(Fmt::kJson, random_content(true))) + ")";
    }
    if (blamed == "file:" + (dir_ / "c.env").string()) {
      return "repair c.env (" + save(dir_ / "c.env", render(Fmt::kDotenv, random_content(true))) +
             ")";
    }
    if (blamed == "file:" + (dir_ / "volume" / "b.yaml").string()) {
      k8s_->write({{"b.yaml", render(Fmt::kYaml, random_content(true))}});
      return "repair b.yaml";
    }
#ifdef LIVECONF_CONVERGENCE_ETCD
    if (client_ && blamed.rfind("etcd:", 0) == 0) {
      (void)client_->remove("/conv/", true);
      return "repair: delete /conv/";
    }
#endif
    for (const fs::path& p : confd_entries()) {
      std::error_code ec;
      const fs::path real = fs::canonical(p, ec);
      fs::remove(p);
      if (!ec && real.parent_path() != dir_ / "conf.d") {
        fs::remove(real);
      }
    }
    return "repair: empty conf.d";
  }

  std::string random_op() {
    if (!last_blamed_.empty() && chance(40)) {
      return repair();
    }
#ifdef LIVECONF_CONVERGENCE_ETCD
    if (client_ && chance(25)) {
      return etcd_op();
    }
#endif
    const int roll = pick(1, 100);
    if (roll <= 14) {
      if (chance(5) && fs::exists(a_path())) {
        fs::remove(a_path());
        return "delete a.json";
      }
      return "save a.json (" + save(a_path(), random_text(Fmt::kJson)) + ")";
    }
    if (roll <= 24) {
      k8s_->write({{"b.yaml", random_text(Fmt::kYaml)}});
      return "configmap update b.yaml";
    }
    if (roll <= 34) {
      return confd_add(false);
    }
    std::vector<fs::path> entries = confd_entries();
    if (roll <= 40 && !entries.empty()) {
      const fs::path victim =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      fs::remove(victim);
      return "remove " + victim.filename().string();
    }
    if (roll <= 46 && !entries.empty()) {
      const fs::path from =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      const fs::path to =
          dir_ / "conf.d" / (std::to_string(pick(10, 99)) + "-r" + from.extension().string());
      fs::rename(from, to);
      return "rename " + from.filename().string() + " -> " + to.filename().string();
    }
    if (roll <= 52 && !entries.empty()) {
      const fs::path p =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      if (fs::is_symlink(p)) {
        return random_op();
      }
      const Fmt f = p.extension() == ".json"   ? Fmt::kJson
                    : p.extension() == ".yaml" ? Fmt::kYaml
                                               : Fmt::kToml;
      fs::remove(p);
      write_file(p, random_text(f));
      return "re-create " + p.filename().string();
    }
    if (roll <= 58) {
      const Fmt f = random_fmt();
      const fs::path target = dir_ / "shared" / ("t" + std::to_string(pick(1, 4)) + ext(f));
      if (!fs::exists(target)) {
        write_file(target, render(f, random_content(true)));
      }
      const fs::path link = dir_ / "conf.d" / (std::to_string(pick(10, 99)) + "-l" + ext(f));
      const fs::path tmp = dir_ / "conf.d" / ".link.tmp";
      fs::remove(tmp);
      fs::create_symlink(target, tmp);
      fs::rename(tmp, link);  // a new link, or a retargeted one
      return "link " + link.filename().string() + " -> " + target.filename().string();
    }
    if (roll <= 64) {
      std::vector<fs::path> targets;
      for (const auto& e : fs::directory_iterator(dir_ / "shared")) {
        const std::string n = e.path().filename().string();
        if (n.front() != '.' && n.find('~') == std::string::npos &&
            n.find("___jb_") == std::string::npos) {
          targets.push_back(e.path());
        }
      }
      std::sort(targets.begin(), targets.end());
      if (targets.empty()) {
        return random_op();
      }
      const fs::path t =
          targets[static_cast<std::size_t>(pick(0, static_cast<int>(targets.size()) - 1))];
      const Fmt f = t.extension() == ".json"   ? Fmt::kJson
                    : t.extension() == ".yaml" ? Fmt::kYaml
                                               : Fmt::kToml;
      return "edit link target " + t.filename().string() + " (" + save(t, random_text(f)) + ")";
    }
    if (roll <= 72) {
      return "save c.env (" + save(dir_ / "c.env", random_text(Fmt::kDotenv)) + ")";
    }
    if (roll <= 88) {
      static const char* kVars[] = {"CONV_MIN", "CONV_MAX", "CONV_NAME", "CONV_LEVEL"};
      const char* var = kVars[pick(0, 3)];
      if (chance(25)) {
        (void)unset_env(var);
        return std::string("unset ") + var;
      }
      std::string value = std::string(var) == "CONV_NAME"  ? "e" + std::to_string(pick(0, 9))
                          : std::string(var) == "CONV_MIN" ? std::to_string(pick(0, 60))
                          : std::string(var) == "CONV_MAX" ? std::to_string(pick(40, 100))
                                                           : std::to_string(pick(0, 9));
      if (chance(4)) {
        value = "abc";
      }
      (void)set_env(var, value);
      return std::string("set ") + var + "=" + value;
    }
    Value patch = Value::object();
    if (chance(50)) {
      patch["max"] = pick(chance(15) ? 0 : 40, 100);
    } else if (chance(50)) {
      patch["name"] = "o" + std::to_string(pick(0, 9));
    } else {
      patch["level"] = pick(0, chance(10) ? 20 : 9);
    }
    const Status st = live_->update(kName, patch);
    return "update " + patch.to_display_string() + (st.ok() ? "" : " (refused)");
  }

#ifdef LIVECONF_CONVERGENCE_ETCD
  // A put, a delete or a transaction of several writes under /conv/, with
  // valid values, ones the binding refuses and ones the validator refuses.
  std::string etcd_op() {
    static const char* kKeys[] = {"/conv/min",   "/conv/max",      "/conv/name",
                                  "/conv/level", "/conv/extra/k1", "/conv/extra/k4"};
    auto value_for = [&](const std::string& key) -> std::string {
      if (chance(6)) {
        return "abc";
      }
      if (key == "/conv/name") {
        return "\"d" + std::to_string(pick(0, 9)) + "\"";
      }
      if (key == "/conv/min") {
        return std::to_string(pick(0, 60));
      }
      if (key == "/conv/max") {
        return std::to_string(pick(40, 100));
      }
      return std::to_string(pick(0, 9));
    };
    const int kind = pick(0, 9);
    if (kind <= 5) {
      const std::string key = kKeys[pick(0, 5)];
      const std::string value = value_for(key);
      (void)client_->put(key, value);
      return "etcd put " + key + "=" + value;
    }
    if (kind <= 7) {
      const std::string key = kKeys[pick(0, 5)];
      (void)client_->remove(key);
      return "etcd delete " + key;
    }
    std::vector<EtcdWrite> writes;
    std::string what = "etcd txn";
    for (int i = pick(2, 3); i > 0; --i) {
      EtcdWrite w;
      w.key = kKeys[pick(0, 5)];
      if (std::any_of(writes.begin(), writes.end(),
                      [&](const EtcdWrite& o) { return o.key == w.key; })) {
        continue;  // one write per key in a transaction
      }
      if (chance(20)) {
        w.kind = EtcdWrite::Kind::kDelete;
        what += " del " + w.key;
      } else {
        w.value = value_for(w.key);
        what += " " + w.key + "=" + w.value;
      }
      writes.push_back(std::move(w));
    }
    (void)client_->commit(writes);
    return what;
  }
#endif

  std::vector<std::unique_ptr<Source>> make_sources(bool watch) {
    std::vector<std::unique_ptr<Source>> out;
    auto file = [&](const fs::path& p, int priority, bool optional, bool env_style) {
      FileSourceOptions o;
      o.path = p;
      o.priority = priority;
      o.optional = optional;
      o.env_style_keys = env_style;
      o.debounce = kDebounce;
      o.watch = watch ? WatchMode::kAuto : WatchMode::kNone;
      out.push_back(make_file_source(std::move(o)).value());
    };
    file(a_path(), 0, false, false);
    file(dir_ / "volume" / "b.yaml", 0, true, false);
    file(dir_ / "conf.d", 0, false, false);
    file(dir_ / "c.env", 5, true, true);
    EnvSourceOptions env;
    env.prefix = std::string(kEnvPrefix);
    env.priority = 10;
    env.debounce = kDebounce;
    env.watch = watch;
    out.push_back(make_env_source(std::move(env)).value());
#ifdef LIVECONF_CONVERGENCE_ETCD
    if (client_) {
      EtcdSourceOptions o;
      o.connection = etcd_;
      o.prefix = "/conv/";
      o.priority = 7;
      o.debounce = kDebounce;
      o.initial_timeout = 5s;
      o.backoff_initial = 50ms;
      o.backoff_max = 400ms;
      out.push_back(make_etcd_source(std::move(o)).value());
    }
#endif
    return out;
  }

  Fresh fresh_load() {
    Fresh f;
    ManagerOptions o;
    o.log = [](LogLevel, std::string_view) {};
    ConfigManager fresh(o);
    // The runtime overrides the live manager accepted are one of its
    // sources: the fresh load has them from the start.
    RegisterOptions reg;
    if (Result<SnapshotPtr> live = live_->snapshot(kName)) {
      for (const auto& l : (*live)->layers()) {
        if (l->name == kOverrideLayer) {
          reg.layers.push_back(*l);
        }
      }
    }
    if (auto st = fresh.register_config<Conv>(std::string(kName), reg); !st.ok()) {
      f.refusal = "override: " + st.error().to_string();
      return f;
    }
    // A source's own failure (syntax, I/O, a required file missing) shows in
    // a direct load of it; a refusal of the merged result does not.
    for (auto& s : make_sources(false)) {
      (void)s->attach(SourceContext{std::string(kName), &schema_of<Conv>()});
      s->wait_ready();
      Result<SourceLoad> direct = s->load();
      if (!direct && !f.local) {
        f.local = true;
        f.blamed = s->name();
      }
    }
    Status added = fresh.add_sources(kName, make_sources(false));
    if (!added.ok()) {
      f.refusal = added.error().to_string();
      return f;
    }
    f.ok = true;
    f.tree = fresh.snapshot(kName).value()->tree();
    f.sources = fresh.status(kName).value().sources;
    return f;
  }

  // Empty when the live manager agrees with `fresh`, else what differs.
  std::string compare(const Fresh& fresh) {
    SnapshotPtr snap = live_->snapshot(kName).value();
    const ConfigStatus st = live_->status(kName).value();
    std::ostringstream diff;
    if (fresh.ok) {
      std::map<std::string, std::string> want;
      std::map<std::string, std::string> got;
      provenance(fresh.tree, "", want);
      provenance(snap->tree(), "", got);
      for (const auto& [k, v] : want) {
        auto it = got.find(k);
        if (it == got.end()) {
          diff << "  " << k << ": fresh " << v << ", live has no value\n";
        } else if (it->second != v) {
          diff << "  " << k << ": fresh " << v << ", live " << it->second << "\n";
        }
      }
      for (const auto& [k, v] : got) {
        if (want.count(k) == 0) {
          diff << "  " << k << ": live " << v << ", fresh has no value\n";
        }
      }
      const std::string a = describe_sources(fresh.sources);
      const std::string b = describe_sources(st.sources);
      if (a != b) {
        diff << "sources, fresh:\n"
             << a << "sources, live:\n"
             << describe_sources(st.sources, true);
      }
      if (!diff.str().empty()) {
        return "the fresh load is valid:\n" + diff.str();
      }
      return {};
    }
    // The fresh load refuses: the live one serves its last good state and
    // says why.
    bool any_error = false;
    for (const SourceStatus& s : st.sources) {
      if (s.state == SourceState::kError ||
          (s.state == SourceState::kMissing && s.last_error.has_value())) {
        any_error = true;
      }
    }
    if (!any_error) {
      diff << "  no live source reports an error\n";
    }
    if (fresh.local) {
      auto it = std::find_if(st.sources.begin(), st.sources.end(),
                             [&](const SourceStatus& s) { return s.name == fresh.blamed; });
      if (it == st.sources.end() || it->state == SourceState::kOk) {
        diff << "  " << fresh.blamed << " is not reported as failing\n";
      }
    }
    if (!from_dict<Conv>(snap->tree()).has_value()) {
      diff << "  the live tree does not bind\n";
    }
    // Every source the live manager calls ok serves its current content.
    for (auto& s : make_sources(false)) {
      auto it = std::find_if(st.sources.begin(), st.sources.end(),
                             [&](const SourceStatus& l) { return l.name == s->name(); });
      if (it == st.sources.end() || it->state != SourceState::kOk) {
        continue;
      }
      (void)s->attach(SourceContext{std::string(kName), &schema_of<Conv>()});
      s->wait_ready();
      Result<SourceLoad> now = s->load();
      if (!now) {
        diff << "  " << s->name()
             << " is ok in the live manager but cannot load: " << now.error().to_string() << "\n";
        continue;
      }
      std::vector<std::string> want;
      for (const Layer& l : now->layers) {
        want.push_back(l.name + " @ " + l.version);
      }
      std::vector<std::string> got;
      for (const LayerVersion& l : it->layers) {
        got.push_back(l.name + " @ " + l.version);
      }
      if (want != got) {
        diff << "  " << s->name() << " is ok but does not serve its current content\n";
      }
    }
    if (!diff.str().empty()) {
      std::map<std::string, std::string> got;
      provenance(snap->tree(), "", got);
      for (const auto& [k, v] : got) {
        diff << "  live " << k << " = " << v << "\n";
      }
      return "the fresh load refuses (" + fresh.refusal + "):\n" + diff.str() + "sources, live:\n" +
             describe_sources(st.sources, true);
    }
    return {};
  }

  TempDir dir_;
  std::mt19937_64 rng_;
  std::uint64_t seed_;
  std::unique_ptr<KubernetesAtomicWriter> k8s_;
  std::unique_ptr<ConfigManager> live_;
#ifdef LIVECONF_CONVERGENCE_ETCD
  EtcdConnection etcd_;
  std::unique_ptr<EtcdClient> client_;
#endif
  std::vector<std::string> log_;
  std::string last_blamed_;
  bool failed_ = false;
  std::size_t checks_ = 0;
  std::size_t agreed_ = 0;
  std::size_t refused_ = 0;
};

#ifndef LIVECONF_CONVERGENCE_ETCD
// Regressions the convergence test found or the issue named, one each.

struct CrossFieldFixture {
  TempDir dir;
  fs::path a = dir / "a.json";
  ConfigManager manager{[] {
    ManagerOptions o;
    o.log = [](LogLevel, std::string_view) {};
    return o;
  }()};

  CrossFieldFixture() {
    (void)unset_env("CONV_MAX");
    write_file(a, R"({"min": 10})");
    EXPECT_TRUE(manager.register_config<Conv>(std::string(kName)).ok());
    FileSourceOptions file;
    file.path = a;
    file.debounce = kDebounce;
    EnvSourceOptions env;
    env.prefix = std::string(kEnvPrefix);
    env.priority = 10;
    env.debounce = kDebounce;
    std::vector<std::unique_ptr<Source>> sources;
    sources.push_back(make_file_source(file).value());
    sources.push_back(make_env_source(env).value());
    EXPECT_TRUE(manager.add_sources(kName, std::move(sources)).ok());
  }
  ~CrossFieldFixture() { (void)unset_env("CONV_MAX"); }

  int min() { return manager.get<Conv>(kName).value()->min; }
  SourceState file_state() {
    const ConfigStatus st = manager.status(kName).value();
    for (const SourceStatus& s : st.sources) {
      if (s.name.size() > 7 && s.name.ends_with("/a.json")) {
        return s.state;
      }
    }
    return SourceState::kMissing;
  }
  bool wait(const std::function<bool()>& done) { return wait_until(done); }
};

TEST(ConvergenceRegressionTest, RefusedFileIsRetriedWhenAnEnvChangeMakesItValid) {
  CrossFieldFixture f;
  ASSERT_TRUE(set_env("CONV_MAX", "40").ok());
  ASSERT_TRUE(f.wait([&] { return f.manager.get<Conv>(kName).value()->max == 40; }));
  atomic_save(f.a, R"({"min": 50})");  // 50 > 40: refused
  ASSERT_TRUE(f.wait([&] { return f.file_state() == SourceState::kError; }))
      << describe_sources(f.manager.status(kName).value().sources, true);
  EXPECT_EQ(f.min(), 10);
  // The environment raises max: the file's refused content is now valid and
  // a fresh load would serve it. Nothing touches the file again.
  ASSERT_TRUE(set_env("CONV_MAX", "60").ok());
  EXPECT_TRUE(f.wait([&] { return f.min() == 50 && f.file_state() == SourceState::kOk; }))
      << "min " << f.min() << ", the file stays refused";
}

TEST(ConvergenceRegressionTest, RefusedFileIsRetriedAfterARuntimeUpdateMakesItValid) {
  CrossFieldFixture f;
  Value low = Value::object();
  low["max"] = 40;
  ASSERT_TRUE(f.manager.update(kName, low).ok());
  atomic_save(f.a, R"({"min": 50})");
  ASSERT_TRUE(f.wait([&] { return f.file_state() == SourceState::kError; }));
  Value high = Value::object();
  high["max"] = 80;
  ASSERT_TRUE(f.manager.update(kName, high).ok());
  EXPECT_TRUE(f.wait([&] { return f.min() == 50 && f.file_state() == SourceState::kOk; }));
}

// Adding sources one at a time binds every intermediate state; add_sources
// binds only the whole, as a fresh start does.
TEST(ConvergenceRegressionTest, AddSourcesAcceptsSourcesValidOnlyTogether) {
  TempDir dir;
  write_file(dir / "a.json", R"({"min": 50, "max": 40})");
  write_file(dir / "b.json", R"({"max": 60})");
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<Conv>("c").ok());
  std::vector<std::unique_ptr<Source>> sources;
  for (const char* n : {"a.json", "b.json"}) {
    FileSourceOptions o;
    o.path = dir / n;
    sources.push_back(make_file_source(o).value());
  }
  Status st = manager.add_sources("c", std::move(sources));
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(manager.get<Conv>("c").value()->max, 60);
  // And where the whole is invalid, nothing is added.
  write_file(dir / "c.json", R"({"min": 70})");
  std::vector<std::unique_ptr<Source>> more;
  FileSourceOptions o;
  o.path = dir / "c.json";
  more.push_back(make_file_source(o).value());
  EXPECT_FALSE(manager.add_sources("c", std::move(more)).ok());
  EXPECT_EQ(manager.status("c").value().sources.size(), 2u);
}

// The layer names of a config's served stack, bottom to top.
std::vector<std::string> stack_names(const ConfigManager& manager, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& layer : manager.snapshot(name).value()->layers()) {
    out.push_back(layer->name);
  }
  return out;
}

std::unique_ptr<Source> memory_layer(const std::string& name, int x) {
  Value v = Value::object();
  v["x"] = x;
  v[name] = true;
  return std::make_unique<MemorySource>(MemorySourceOptions{.name = name, .value = v});
}

// One add_source call per source (each appended on top of the stack without
// re-sorting it) serves what one add_sources call with all of them serves:
// the same stack order, tree and status.
TEST(ConvergenceRegressionTest, SourcesAddedOneByOneEqualAFreshLoadOfThemAll) {
  const std::vector<std::string> names = {"m1", "m2", "m3", "m4"};
  ConfigManager one_by_one;
  ConfigManager fresh;
  ASSERT_TRUE(one_by_one.register_untyped("c").ok());
  ASSERT_TRUE(fresh.register_untyped("c").ok());
  std::vector<std::unique_ptr<Source>> all;
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(one_by_one.add_source("c", memory_layer(names[i], static_cast<int>(i))).ok());
    all.push_back(memory_layer(names[i], static_cast<int>(i)));
  }
  ASSERT_TRUE(fresh.add_sources("c", std::move(all)).ok());
  EXPECT_EQ(stack_names(one_by_one, "c"), stack_names(fresh, "c"));
  EXPECT_EQ(one_by_one.snapshot("c").value()->tree(), fresh.snapshot("c").value()->tree());
  EXPECT_EQ(one_by_one.snapshot("c").value()->tree().find("x")->as_int(), 3);
  const auto a = one_by_one.status("c").value().sources;
  const auto b = fresh.status("c").value().sources;
  ASSERT_EQ(a.size(), names.size());
  ASSERT_EQ(b.size(), names.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, names[i]);
    ASSERT_EQ(a[i].layers.size(), 1u) << a[i].name;
    EXPECT_EQ(a[i].layers[0].name, b[i].layers[0].name);
    EXPECT_EQ(a[i].layers[0].version, b[i].layers[0].version);
  }
}

// A layer set by apply() ranks after every source's layer of its priority, so
// a source added later goes below it, not on top of the stack.
TEST(ConvergenceRegressionTest, SourceAddedAfterAnApplyLayerGoesBelowIt) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_untyped("c").ok());
  ASSERT_TRUE(manager.add_source("c", memory_layer("m1", 1)).ok());
  Value runtime = Value::object();
  runtime["x"] = 100;
  LayerBatch batch;
  batch.set.push_back(Layer{.name = "runtime", .priority = 0, .data = runtime, .version = "r1"});
  ASSERT_TRUE(manager.apply("c", std::move(batch)).ok());
  ASSERT_TRUE(manager.add_source("c", memory_layer("m2", 2)).ok());
  ASSERT_TRUE(manager.add_source("c", memory_layer("m3", 3)).ok());
  const std::vector<std::string> want = {"m1", "m2", "m3", "runtime"};
  std::vector<std::string> got = stack_names(manager, "c");
  got.erase(std::remove_if(got.begin(), got.end(),
                           [&](const std::string& n) {
                             return std::find(want.begin(), want.end(), n) == want.end();
                           }),
            got.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(manager.snapshot("c").value()->tree().find("x")->as_int(), 100);
  EXPECT_EQ(manager.status("c").value().sources.size(), 3u);
}

TEST(ConvergenceTest, LiveManagerEqualsAFreshLoadAfterEveryStep) {
  const std::uint64_t seed = env_number("LIVECONF_CONVERGENCE_SEED", std::random_device{}());
  const std::uint64_t steps = env_number("LIVECONF_CONVERGENCE_STEPS", 120);
  std::printf("convergence: seed %llu, %llu steps (replay: LIVECONF_CONVERGENCE_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(seed));
  Convergence c(seed);
  c.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  c.check("start");
  for (std::uint64_t i = 1; i <= steps && !c.failed(); ++i) {
    c.step(i);
  }
  std::printf("convergence: %s\n", c.summary().c_str());
}

#else  // LIVECONF_CONVERGENCE_ETCD

TEST(ConvergenceTest, WithEtcdLiveManagerEqualsAFreshLoadAfterEveryStep) {
  LIVECONF_REQUIRE_ETCD();
  TempDir tmp;
  EtcdServer etcd(tmp.path() / "etcd");
  ASSERT_TRUE(etcd.start());
  const std::uint64_t seed = env_number("LIVECONF_CONVERGENCE_SEED", std::random_device{}());
  const std::uint64_t steps = env_number("LIVECONF_CONVERGENCE_STEPS", 80);
  std::printf(
      "convergence with etcd: seed %llu, %llu steps (replay: LIVECONF_CONVERGENCE_SEED=%llu)\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(steps),
      static_cast<unsigned long long>(seed));
  Convergence c(seed);
  c.use_etcd(etcd.endpoint());
  c.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  c.check("start");
  for (std::uint64_t i = 1; i <= steps && !c.failed(); ++i) {
    c.step(i);
  }
  std::printf("convergence with etcd: %s\n", c.summary().c_str());
}

#endif  // LIVECONF_CONVERGENCE_ETCD

}  // namespace
}  // namespace liveconf::testing
