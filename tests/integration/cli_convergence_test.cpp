// The convergence property through the command line (issue: trust): what a
// running `liveconf watch --render OUT` has rendered equals what a fresh
// `liveconf render` of the same sources prints, after every step of a seeded
// random run over a JSON file, a conf.d directory (files added, removed,
// renamed, re-created) and a .env file, with valid and invalid content
// checked against a --schema. Where the fresh render refuses, the watch must
// say so (an "error" event) and keep a parsable last good rendering.
//
// LIVECONF_CLI_CONVERGENCE_STEPS (default 40), LIVECONF_CLI_CONVERGENCE_SEED.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kSchema = R"(type: object
properties:
  level: {type: integer, minimum: 0, maximum: 9, default: 1}
  name: {type: string, default: base}
  extra:
    type: object
    properties:
      k1: {type: integer}
      k2: {type: integer}
      k3: {type: integer}
)";

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

class CliConvergence {
 public:
  explicit CliConvergence(std::uint64_t seed) : rng_(seed), seed_(seed) {
    fs::create_directory(dir_ / "conf.d");
    write_file(dir_ / "schema.yaml", kSchema);
    write_file(dir_ / "a.json", R"({"name": "a"})");
    write_file(dir_ / "conf.d" / "50-x.yaml", "level: 2\n");
    write_file(dir_ / "c.env", "EXTRA__K1=1\n");
  }

  std::vector<std::string> sources() const {
    return {"--file",   (dir_ / "a.json").string(), "--dir",    (dir_ / "conf.d").string(),
            "--dotenv", (dir_ / "c.env").string(),  "--schema", (dir_ / "schema.yaml").string()};
  }
  fs::path out() const { return dir_ / "out.json"; }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string content_json(bool valid) {
    if (pick(1, 100) <= 8) {
      return "{\"level\": ";
    }
    std::string s = "{\"name\": \"n" + std::to_string(pick(0, 9)) + "\"";
    if (pick(0, 1) == 1) {
      s += ", \"level\": " + std::to_string(valid ? pick(0, 9) : 12);
    }
    return s + "}";
  }
  std::string content_yaml(bool valid) {
    if (pick(1, 100) <= 8) {
      return "level: [\n";
    }
    return "level: " + std::to_string(valid ? pick(0, 9) : 15) +
           "\nextra:\n  k2: " + std::to_string(pick(0, 9)) + "\n";
  }

  // Rewrites every source with valid content (after a refusal, now and then,
  // so that most steps still test the valid path).
  std::string repair() {
    atomic_save(dir_ / "a.json", R"({"name": "fixed"})");
    atomic_save(dir_ / "c.env", "EXTRA__K3=0\n");
    for (const auto& e : fs::directory_iterator(dir_ / "conf.d")) {
      if (e.path().filename().string().front() != '.') {
        atomic_save(e.path(), "level: 3\n");
      }
    }
    return "repair every source";
  }

  std::string step(bool after_refusal) {
    if (after_refusal && pick(1, 100) <= 40) {
      return repair();
    }
    const bool valid = pick(1, 100) > 12;
    const int roll = pick(1, 100);
    if (roll <= 30) {
      return "save a.json (" +
             save_with_pattern(dir_ / "a.json", content_json(valid), pick(0, kSavePatterns - 1)) +
             ")";
    }
    if (roll <= 50) {
      const fs::path p = dir_ / "conf.d" / (std::to_string(pick(10, 99)) + "-y.yaml");
      atomic_save(p, content_yaml(valid));
      return "add " + p.filename().string();
    }
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir_ / "conf.d")) {
      const std::string n = e.path().filename().string();
      if (n.front() != '.' && n.ends_with(".yaml")) {
        entries.push_back(e.path());
      }
    }
    std::sort(entries.begin(), entries.end());
    if (roll <= 62 && !entries.empty()) {
      const fs::path p =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      fs::remove(p);
      return "remove " + p.filename().string();
    }
    if (roll <= 74 && !entries.empty()) {
      const fs::path p =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      const fs::path to = dir_ / "conf.d" / (std::to_string(pick(10, 99)) + "-r.yaml");
      fs::rename(p, to);
      return "rename " + p.filename().string() + " -> " + to.filename().string();
    }
    if (roll <= 84 && !entries.empty()) {
      const fs::path p =
          entries[static_cast<std::size_t>(pick(0, static_cast<int>(entries.size()) - 1))];
      fs::remove(p);
      write_file(p, content_yaml(valid));
      return "re-create " + p.filename().string();
    }
    const std::string text =
        "EXTRA__K3=" + std::to_string(pick(0, 9)) + "\n" + (valid ? "" : "LEVEL=abc\n");
    return "save c.env (" + save_with_pattern(dir_ / "c.env", text, pick(0, kSavePatterns - 1)) +
           ")";
  }

  std::uint64_t seed() const { return seed_; }

 private:
  TempDir dir_;
  std::mt19937_64 rng_;
  std::uint64_t seed_;
};

TEST(CliConvergenceTest, WatchRenderEqualsAFreshRenderAfterEveryStep) {
  const std::uint64_t seed = env_number("LIVECONF_CLI_CONVERGENCE_SEED", std::random_device{}());
  const std::uint64_t steps = env_number("LIVECONF_CLI_CONVERGENCE_STEPS", 40);
  std::printf("cli convergence: seed %llu, %llu steps\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(steps));
  CliConvergence c(seed);
  std::vector<std::string> args = {"watch", "--format", "json",          "--debounce",
                                   "5ms",   "--render", c.out().string()};
  const std::vector<std::string> src = c.sources();
  args.insert(args.end(), src.begin(), src.end());
  WatchProcess watch(args);
  ASSERT_TRUE(watch.wait_line([](const std::string& l) {
    return l.find(R"("event":"loaded")") != std::string::npos;
  })) << watch.out();

  std::size_t agreed = 0;
  std::size_t refused = 0;
  std::size_t lines_at_last_agreement = watch.lines().size();
  bool last_refused = false;
  for (std::uint64_t i = 1; i <= steps; ++i) {
    const std::string what = c.step(last_refused);
    std::vector<std::string> render = {"render"};
    render.insert(render.end(), src.begin(), src.end());
    const CliResult fresh = run_cli(render);
    std::string got;
    const bool ok = wait_until([&] {
      got = read_file(c.out()).value_or("");
      if (fresh.exit_code == 0) {
        return got == fresh.out;
      } else {
        // Refused: the watch has reported an error since it last agreed
        // with a fresh render, and its rendering stays a complete,
        // parsable last good config.
        const std::vector<std::string> lines = watch.lines();
        bool error_seen = false;
        for (std::size_t l = lines_at_last_agreement; l < lines.size(); ++l) {
          error_seen = error_seen || lines[l].find(R"("event":"error")") != std::string::npos;
        }
        return error_seen && find_format("json")->parse(got, ParseOptions{}).has_value();
      }
    });
    ASSERT_TRUE(ok) << "step " << i << ": " << what << "\nfresh render (exit " << fresh.exit_code
                    << "):\n"
                    << fresh.out << fresh.err << "\nwatch rendered:\n"
                    << got << "\nwatch output:\n"
                    << watch.out() << "replay: LIVECONF_CLI_CONVERGENCE_SEED=" << c.seed();
    last_refused = fresh.exit_code != 0;
    if (fresh.exit_code == 0) {
      ++agreed;
      lines_at_last_agreement = watch.lines().size();
    } else {
      ++refused;
    }
  }
  std::printf("cli convergence: %zu steps agreed with a fresh render, %zu refused as it did\n",
              agreed, refused);
}

}  // namespace
}  // namespace liveconf::testing
