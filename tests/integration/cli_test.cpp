// The `liveconf` command-line tool end to end: the real binary run as a child
// process (cli_runner.hpp), against real files in a fresh TempDir, with the
// environment passed explicitly. docs/cli.md is the specification: golden
// outputs, the JSON-lines contract of `watch --format json`, source priority,
// exit codes, signals, --exec supervision, secrets, help and colour.
//
// Tests marked "Regression" pin bugs this file found in the tool.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <poll.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"
#include "liveconf/value.hpp"
#include "liveconf/version.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

namespace fs = std::filesystem;
using testing::atomic_save;
using testing::CliOptions;
using testing::CliResult;
using testing::run_cli;
using testing::TempDir;
using testing::wait_until;
using testing::WatchProcess;
using testing::write_in_place;
using namespace std::chrono_literals;

using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;
using Env = std::vector<std::string>;
using LinePredicate = std::function<bool(const std::string&)>;

constexpr std::string_view kMarker = "S3CR3T-MARKER-9f2c";
constexpr std::string_view kDebounce = "20ms";

// ---- helpers -------------------------------------------------------------------

std::string describe(const CliResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

std::string describe(const WatchProcess& w) {
  return "--- stdout:\n" + w.out() + "--- stderr:\n" + w.err();
}

CliOptions with_env(Env env, fs::path cwd = {}) {
  CliOptions o;
  o.env = std::move(env);
  o.cwd = std::move(cwd);
  return o;
}

std::optional<Value> try_parse(std::string_view format, std::string_view text) {
  Result<Value> v = find_format(format)->parse(text, ParseOptions{});
  if (!v) {
    return std::nullopt;
  }
  return *v;
}

Value parse(std::string_view format, std::string_view text) {
  Result<Value> v = find_format(format)->parse(text, ParseOptions{});
  if (!v) {
    ADD_FAILURE() << "not valid " << format << ": " << v.error().to_string() << "\n" << text;
    return Value();
  }
  return *v;
}

Value json(std::string_view text) { return parse("json", text); }

// A JSON-lines line as an object (null Value if it is not one).
Value event_of(const std::string& line) {
  std::optional<Value> v = try_parse("json", line);
  return v && v->is_object() ? *v : Value();
}

std::string str(const Value& v, std::string_view key) {
  const Value* m = v.find_member(key);
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : std::string();
}

bool has(const Value& v, std::string_view key) { return v.find_member(key) != nullptr; }

std::int64_t integer(const Value& v, std::string_view key) {
  const Value* m = v.find_member(key);
  return m != nullptr && m->is_int() ? m->as_int() : -1;
}

std::vector<std::string> keys_of(const Value& v) {
  std::vector<std::string> out;
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

#define EXPECT_JSON_EQ(actual, expected_text)                                                 \
  do {                                                                                        \
    const Value expected_value_ = json(expected_text);                                        \
    EXPECT_TRUE((actual) == expected_value_)                                                  \
        << "actual:   " << (actual).to_display_string() << "\nexpected: " << (expected_text); \
  } while (false)

LinePredicate is_event(std::string name) {
  return [name = std::move(name)](const std::string& line) {
    return str(event_of(line), "event") == name;
  };
}

LinePredicate is_source_state(std::string source, std::string state) {
  return [source = std::move(source), state = std::move(state)](const std::string& line) {
    const Value e = event_of(line);
    return str(e, "event") == "source" && str(e, "source") == source && str(e, "state") == state;
  };
}

LinePredicate starts_with(std::string prefix) {
  return [prefix = std::move(prefix)](const std::string& line) { return line.starts_with(prefix); };
}

// A text-format source line: "source SOURCE" and the state (its wording is not fixed).
LinePredicate is_text_source_state(std::string source, std::string state) {
  return [source = std::move(source), state = std::move(state)](const std::string& line) {
    return line.starts_with("source " + source) &&
           line.find(state, 7 + source.size()) != std::string::npos;
  };
}

// The changes of a `changed` event by path.
std::map<std::string, Value> changes_by_path(const Value& changed) {
  std::map<std::string, Value> out;
  if (const Value* changes = changed.find_member("changes"); changes != nullptr) {
    if (changes->is_array()) {
      for (const Value& c : changes->as_array()) {
        out[str(c, "path")] = c;
      }
    }
  }
  return out;
}

// Every stdout line of a `--format json` watch is one JSON object with an "event".
void expect_json_lines(const WatchProcess& w) {
  for (const std::string& line : w.lines()) {
    std::optional<Value> v = try_parse("json", line);
    ASSERT_TRUE(v.has_value()) << "not one JSON document: " << line;
    EXPECT_TRUE(v->is_object()) << line;
    EXPECT_FALSE(str(*v, "event").empty()) << line;
  }
}

// Starts `liveconf watch ARGS --debounce 20ms` and waits for its first line.
struct Watch {
  WatchProcess process;
  std::string first;

  explicit Watch(Args args, const CliOptions& options = {})
      : process(
            [&] {
              args.insert(args.begin(), "watch");
              args.emplace_back("--debounce");
              args.emplace_back(kDebounce);
              return args;
            }(),
            options) {
    first = process.next_line().value_or("");
  }
};

// Atomic save (a temporary file renamed over `target`), then waits until a
// reader has opened and closed the new file (IN_CLOSE_NOWRITE on its inode):
// liveconf has read it. Makes "this save printed nothing" provable without sleeping.
bool atomic_save_and_wait_read(const fs::path& target, std::string_view content,
                               std::chrono::milliseconds timeout = 5s) {
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".barrier");
  testing::write_file(tmp, content);
  const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0 || ::inotify_add_watch(fd, tmp.c_str(), IN_CLOSE_NOWRITE) < 0) {
    ADD_FAILURE() << "inotify: " << std::strerror(errno);
    return false;
  }
  fs::rename(tmp, target);
  const Clock::time_point deadline = Clock::now() + timeout;
  bool read = false;
  while (!read) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    alignas(inotify_event) char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      read = read || (ev->mask & IN_CLOSE_NOWRITE) != 0;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  ::close(fd);
  return read;
}

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return static_cast<unsigned>(st.st_mode) & 0777U;
}

ino_t inode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

std::string read_text(const fs::path& p) { return testing::read_file(p).value_or(""); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

// Complete lines of a log a child appends to.
std::vector<std::string> log_lines(const fs::path& p) {
  std::string text = read_text(p);
  if (const std::size_t nl = text.rfind('\n'); nl != std::string::npos) {
    text.erase(nl + 1);
  } else {
    text.clear();
  }
  return lines_of(text);
}

std::vector<std::string> with_prefix(const std::vector<std::string>& lines,
                                     std::string_view prefix) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (l.starts_with(prefix)) {
      out.push_back(l.substr(prefix.size()));
    }
  }
  return out;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// For a process orphaned to init, which need not reap it: a zombie runs nothing.
bool gone_or_zombie(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t paren = stat.rfind(')');
  return stat.empty() ||
         (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z');
}

constexpr std::string_view kAppJson = R"({
  "server": {
    "port": 8080,
    "host": "example.com"
  },
  "log_level": "info",
  "tags": ["a", "b"]
})";

constexpr std::string_view kServiceSchema = R"(type: object
properties:
  server:
    type: object
    properties:
      port: {type: integer, minimum: 1, maximum: 65535, default: 8080}
      host: {type: string, default: localhost}
  log_level: {type: string, enum: [debug, info, warn, error], default: info}
  ratio: {type: number}
)";

// ==== 1. Golden outputs ============================================================

TEST(CliGoldenTest, GetPrintsStringsPlainAndOtherValuesAsJson) {
  TempDir dir;
  const std::string app = dir.write("app.json", R"({"s": "text", "n": 8080, "f": 0.5,
    "b": false, "o": {"port": 8080, "host": "h"}, "l": ["a", 1]})")
                              .string();
  const std::vector<std::pair<std::string, std::string>> plain = {
      {"s", "text\n"},
      {"n", "8080\n"},
      {"f", "0.5\n"},
      {"b", "false\n"},
      {"o", R"({"port":8080,"host":"h"})"
            "\n"},
      {"o.host", "h\n"},
      {"l", R"(["a",1])"
            "\n"},
  };
  for (const auto& [key, expected] : plain) {
    const CliResult r = run_cli({"get", key, "--file", app});
    EXPECT_EQ(r.exit_code, 0) << key << "\n" << describe(r);
    EXPECT_EQ(r.out, expected) << key;
    EXPECT_EQ(r.err, "") << key;
  }
  const std::vector<std::pair<std::string, std::string>> as_json = {
      {"s", "\"text\"\n"},
      {"n", "8080\n"},
      {"o.host", "\"h\"\n"},
      {"o", R"({"port":8080,"host":"h"})"
            "\n"},
  };
  for (const auto& [key, expected] : as_json) {
    const CliResult r = run_cli({"get", key, "--file", app, "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << key << "\n" << describe(r);
    EXPECT_EQ(r.out, expected) << key;
  }
}

TEST(CliGoldenTest, ExplainListsLayersHighestFirstWithOriginsAndWinner) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const Env env = {"APP_SERVER__PORT=9090"};

  CliResult r = run_cli({"explain", "server.port", "--file", app, "--env", "APP"}, with_env(env));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "server.port = 9090\n"
            "  * env:APP (priority 2): 9090  [$APP_SERVER__PORT]\n"
            "    file:" +
                app + " (priority 1): 8080  [" + app + ":3:13]\n");
  EXPECT_EQ(r.err, "");

  r = run_cli({"explain", "server.port", "--file", app, "--env", "APP", "--format", "json"},
              with_env(env));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(
      r.out,
      R"({"path":"server.port","effective":9090,"layers":[)"
      R"({"layer":"env:APP","priority":2,"value":9090,"origin":"$APP_SERVER__PORT","winner":true},)"
      R"({"layer":"file:)" +
          app + R"(","priority":1,"value":8080,"origin":")" + app +
          R"(:3:13","winner":false}]})"
          "\n");
  const Value e = json(r.out);
  ASSERT_TRUE(e.is_object());
  ASSERT_EQ(e.find_member("layers")->size(), 2U);

  // A relative path stays as given: in the layer name and in the origin.
  r = run_cli({"explain", "log_level", "--file", "app.json"}, with_env({}, dir.path()));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "log_level = \"info\"\n"
            "  * file:app.json (priority 1): \"info\"  [app.json:6:16]\n");
}

TEST(CliGoldenTest, CheckValidSetPrintsOk) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const std::string dotenv = dir.write("local.env", "log_level=warn\n").string();
  const std::string schema = dir.write("schema.yaml", kServiceSchema).string();
  CliResult r = run_cli(
      {"check", "--file", app, "--env", "APP", "--dotenv", dotenv, "--set", "server.port=81"},
      with_env({"APP_SERVER__HOST=h"}));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "ok: 4 sources loaded and valid\n");
  EXPECT_EQ(r.err, "");

  r = run_cli({"check", "--file", app, "--schema", schema});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "ok: 1 source loaded and valid\n");
}

TEST(CliGoldenTest, CheckListsEveryProblemOfEveryBrokenFile) {
  TempDir dir;
  const std::string bad_json = dir.write("bad.json", "{\n  \"a\": 1,\n  \"b\": \n}\n").string();
  const std::string good = dir.write("good.json", R"({"ok": true})").string();
  const std::string bad_yaml = dir.write("bad.yaml", "x: [1, 2\ny: 3\n").string();
  const std::string bad_toml = dir.write("bad.toml", "a = \n").string();
  CliResult r = run_cli(
      {"check", "--file", bad_json, "--file", good, "--file", bad_yaml, "--file", bad_toml});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_EQ(r.out, "");
  const std::vector<std::string> err = lines_of(r.err);
  ASSERT_EQ(err.size(), 4U) << r.err;
  EXPECT_EQ(err[0], "liveconf: " + bad_json + ":4:1: unexpected character '}', expected a value");
  // Third-party parsers word their messages; the position is what the contract fixes.
  EXPECT_TRUE(err[1].starts_with("liveconf: " + bad_yaml + ":2:")) << err[1];
  EXPECT_TRUE(err[2].starts_with("liveconf: " + bad_toml + ":1:5: ")) << err[2];
  EXPECT_EQ(err[3], "liveconf: 3 problems");

  // Validation problems from two files, found together.
  const std::string schema = dir.write("schema.yaml", kServiceSchema).string();
  const std::string a = dir.write("a.json", "{\n  \"server\": {\"port\": \"80a\"}\n}\n").string();
  const std::string b = dir.write("b.yaml", "log_level: loud\n").string();
  r = run_cli({"check", "--file", a, "--file", b, "--schema", schema});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("liveconf: " + a + ":2:22: expected integer at server.port"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("liveconf: " + b + ":1:12: must be one of"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("liveconf: 2 problems\n"), std::string::npos) << r.err;
}

TEST(CliGoldenTest, RenderToStdoutInEveryFormat) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const Args sources = {"--file", app, "--set", "server.port=9090"};
  const std::map<std::string, std::string> expected = {
      {"json", R"({
  "server": {
    "port": 9090,
    "host": "example.com"
  },
  "log_level": "info",
  "tags": [
    "a",
    "b"
  ]
}
)"},
      {"yaml", R"(server:
  port: 9090
  host: example.com
log_level: info
tags:
- a
- b
)"},
      {"toml", R"(log_level = "info"
tags = [ "a", "b" ]

[server]
host = "example.com"
port = 9090
)"},
  };
  const Value config =
      json(R"({"server":{"port":9090,"host":"example.com"},"log_level":"info","tags":["a","b"]})");
  for (const auto& [format, text] : expected) {
    Args args = {"render", "--render-format", format};
    args.insert(args.end(), sources.begin(), sources.end());
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << format << "\n" << describe(r);
    EXPECT_EQ(r.out, text) << format;
    EXPECT_EQ(r.err, "") << format;
    EXPECT_TRUE(parse(format, r.out) == config) << format;
  }
  // JSON is the default.
  const CliResult r = run_cli({"render", "--file", app, "--set", "server.port=9090"});
  EXPECT_EQ(r.out, expected.at("json"));
}

TEST(CliGoldenTest, RenderToFileIsPrivateAndReparsesToTheSameConfig) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const Value config =
      json(R"({"server":{"port":8080,"host":"example.com"},"log_level":"debug","tags":["a","b"]})");
  for (const std::string format : {"json", "yaml", "toml"}) {
    const fs::path out = dir / ("out." + format);
    const CliResult r =
        run_cli({"render", "--file", app, "--set", "log_level=debug", "-o", out.string()});
    EXPECT_EQ(r.exit_code, 0) << format << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << format;
    EXPECT_EQ(file_mode(out), 0600U) << format;
    EXPECT_TRUE(parse(format, read_text(out)) == config) << format << ":\n" << read_text(out);
  }
  // --render-format wins over the extension.
  const fs::path conf = dir / "out.conf";
  const CliResult r = run_cli({"render", "--file", app, "--set", "log_level=debug", "--output",
                               conf.string(), "--render-format", "yaml"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(parse("yaml", read_text(conf)) == config) << read_text(conf);
  EXPECT_EQ(file_mode(conf), 0600U);
  // No temporary file is left behind.
  for (const fs::directory_entry& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find("liveconf-"), std::string::npos) << e.path();
  }
}

TEST(CliGoldenTest, EnvReportTextAndJson) {
  TempDir dir;
  const std::string schema = dir.write("schema.yaml", kServiceSchema).string();
  const Env env = {"APP_SERVER__PORT=9090", "APP_SERVER__PROT=1", "APP_RATIO=lots", "OTHER_X=1"};
  CliResult r = run_cli({"env-report", "APP", "--schema", schema}, with_env(env));
  EXPECT_EQ(r.exit_code, 3) << describe(r);  // a type error
  EXPECT_EQ(r.out,
            "APP_RATIO -> ratio (float): type_error: expected number at ratio ($APP_RATIO, "
            "layer \"env:APP\"), got string \"lots\"\n"
            "APP_SERVER__PORT -> server.port (integer): bound\n"
            "APP_SERVER__PROT: unknown: no field \"prot\" in server; did you mean "
            "APP_SERVER__PORT?\n");
  EXPECT_EQ(r.err, "");

  r = run_cli({"env-report", "APP", "--schema", schema, "--format", "json"}, with_env(env));
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_EQ(
      r.out,
      R"({"prefix":"APP","variables":[)"
      R"({"variable":"APP_RATIO","state":"type_error","path":"ratio","type":"float","message":"expected number at ratio ($APP_RATIO, layer \"env:APP\"), got string \"lots\"","secret":false},)"
      R"({"variable":"APP_SERVER__PORT","state":"bound","path":"server.port","type":"integer","secret":false},)"
      R"({"variable":"APP_SERVER__PROT","state":"unknown","message":"no field \"prot\" in server","suggestion":"APP_SERVER__PORT","secret":false}]})"
      "\n");
  EXPECT_TRUE(json(r.out).is_object());

  // Without a type error: exit 0.
  r = run_cli({"env-report", "APP", "--schema", schema}, with_env({"APP_SERVER__PORT=9090"}));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "APP_SERVER__PORT -> server.port (integer): bound\n");
  // Nothing with the prefix.
  r = run_cli({"env-report", "APP", "--schema", schema});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "no variables with the prefix APP_\n");
}

TEST(CliGoldenTest, WatchOnceText) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const CliResult r =
      run_cli({"watch", "--once", "--file", app, "--env", "APP", "--set", "tags=[1,2]"},
              with_env({"APP_SERVER__PORT=9090"}));
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, "loaded generation 1 from file:" + app +
                       ", env:APP, set\n"
                       "  server.port = 9090  ($APP_SERVER__PORT)\n"
                       "  server.host = \"example.com\"  (" +
                       app + ":4:13)\n  log_level = \"info\"  (" + app +
                       ":6:16)\n"
                       "  tags = [1,2]  (set)\n");
  EXPECT_EQ(r.err, "");
}

// ==== 2. The JSON-lines contract ======================================================

TEST(CliWatchJsonTest, LoadedThenChangedWithPathsValuesAndSources) {
  TempDir dir;
  const fs::path low = dir.write("low.json", R"({"a": 1, "b": {"c": 2}, "gone": true})");
  const fs::path high = dir.write("high.json", R"({})");
  const std::string low_src = "file:" + low.string();
  const std::string high_src = "file:" + high.string();
  Watch w({"--file", low.string(), "--file", high.string(), "--format", "json"});

  const Value loaded = event_of(w.first);
  ASSERT_EQ(str(loaded, "event"), "loaded") << w.first << describe(w.process);
  EXPECT_EQ(integer(loaded, "generation"), 1);
  EXPECT_EQ(keys_of(loaded),
            (std::vector<std::string>{"config", "event", "generation", "snapshot"}));
  EXPECT_JSON_EQ(*loaded.find_member("config"), R"({"a": 1, "b": {"c": 2}, "gone": true})");

  // A value changes, a key appears, a key disappears.
  atomic_save(low, R"({"a": 1, "b": {"c": 3}, "new": "x"})");
  std::optional<std::string> line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  Value changed = event_of(*line);
  ASSERT_EQ(str(changed, "event"), "changed") << *line;
  EXPECT_EQ(integer(changed, "generation"), 2);
  EXPECT_EQ(keys_of(changed),
            (std::vector<std::string>{"changes", "config", "event", "generation", "snapshot"}));
  EXPECT_JSON_EQ(*changed.find_member("config"), R"({"a": 1, "b": {"c": 3}, "new": "x"})");
  std::map<std::string, Value> changes = changes_by_path(changed);
  ASSERT_EQ(changes.size(), 3U) << *line;
  EXPECT_JSON_EQ(changes["b.c"], R"({"path": "b.c", "old": 2, "new": 3, "old_source": ")" +
                                     low_src + R"(", "new_source": ")" + low_src + R"("})");
  EXPECT_JSON_EQ(changes["new"],
                 R"({"path": "new", "new": "x", "new_source": ")" + low_src + R"("})");
  EXPECT_JSON_EQ(changes["gone"],
                 R"({"path": "gone", "old": true, "old_source": ")" + low_src + R"("})");

  // The higher file takes a key over: the source moves.
  atomic_save(high, R"({"a": 10})");
  line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  changed = event_of(*line);
  ASSERT_EQ(str(changed, "event"), "changed") << *line;
  EXPECT_EQ(integer(changed, "generation"), 3);
  changes = changes_by_path(changed);
  ASSERT_EQ(changes.size(), 1U) << *line;
  EXPECT_JSON_EQ(changes["a"], R"({"path": "a", "old": 1, "new": 10, "old_source": ")" + low_src +
                                   R"(", "new_source": ")" + high_src + R"("})");
  expect_json_lines(w.process);
}

// Starts a watch on low.json under high.json, makes two saves that leave the
// merged config as it was (a whitespace-only reformat; a change to a value the
// higher file shadows), each confirmed read by liveconf, then a real change.
// Returns the line printed next.
std::optional<std::string> silent_saves_then_a_change(TempDir& dir, WatchProcess*& process,
                                                      std::optional<Watch>& w) {
  const fs::path low = dir.write("low.json", R"({"a": 1, "b": 2})");
  const fs::path high = dir.write("high.json", R"({"a": 100})");
  w.emplace(Args{"--file", low.string(), "--file", high.string(), "--format", "json"});
  process = &w->process;
  EXPECT_EQ(str(event_of(w->first), "event"), "loaded") << describe(w->process);
  EXPECT_TRUE(atomic_save_and_wait_read(low, "{\n  \"a\" : 1,\n\n  \"b\" :   2\n}\n"));
  EXPECT_TRUE(atomic_save_and_wait_read(low, R"({"a": 5, "b": 2})"));
  atomic_save(low, R"({"a": 5, "b": 3})");
  return w->process.next_line();
}

TEST(CliWatchJsonTest, SaveThatLeavesTheMergedConfigUnchangedPrintsNothing) {
  TempDir dir;
  WatchProcess* process = nullptr;
  std::optional<Watch> w;
  const std::optional<std::string> line = silent_saves_then_a_change(dir, process, w);
  ASSERT_TRUE(line) << describe(*process);
  const Value changed = event_of(*line);
  ASSERT_EQ(str(changed, "event"), "changed") << *line;  // nothing was printed before it
  const std::map<std::string, Value> changes = changes_by_path(changed);
  ASSERT_EQ(changes.size(), 1U) << *line;
  EXPECT_TRUE(changes.contains("b")) << *line;
  EXPECT_JSON_EQ(*changed.find_member("config"), R"({"a": 100, "b": 3})");
  expect_json_lines(*process);
}

// Regression: the printed generation counted the library's snapshots,
// including the ones `watch` does not print (a reformat or a shadowed change
// publishes a snapshot whose merged config is unchanged), so it jumped from 1
// to 4 here. It counts printed configurations (docs/cli.md).
TEST(CliWatchJsonTest, GenerationIncrementsByOneAcrossSilentSaves) {
  TempDir dir;
  WatchProcess* process = nullptr;
  std::optional<Watch> w;
  const std::optional<std::string> line = silent_saves_then_a_change(dir, process, w);
  ASSERT_TRUE(line) << describe(*process);
  const Value changed = event_of(*line);
  ASSERT_EQ(str(changed, "event"), "changed") << *line;
  EXPECT_EQ(integer(changed, "generation"), 2)
      << "generations of silent reloads are counted: " << *line;
}

TEST(CliWatchJsonTest, RefusedSaveReportsErrorThenSourceStateAndKeepsServing) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"port": 1})");
  const std::string src = "file:" + app.string();
  Watch w({"--file", app.string(), "--format", "json"});
  ASSERT_EQ(str(event_of(w.first), "event"), "loaded") << describe(w.process);

  atomic_save(app, R"({"port": 2})");
  std::optional<std::string> line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  ASSERT_EQ(integer(event_of(*line), "generation"), 2) << *line;

  // A parse error: `error` naming the generation still served, then `source ... error`.
  atomic_save(app, "{\"port\": \n");
  line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  const Value error = event_of(*line);
  EXPECT_EQ(keys_of(error),
            (std::vector<std::string>{"event", "generation", "message", "snapshot", "source"}))
      << *line;
  EXPECT_EQ(str(error, "event"), "error") << *line;
  EXPECT_EQ(str(error, "source"), src);
  const std::string message = str(error, "message");
  EXPECT_TRUE(
      message.starts_with(app.string() + ":") &&
      std::regex_search(message.substr(app.string().size()), std::regex(R"(^:\d+:\d+: \S)")))
      << *line;
  EXPECT_EQ(integer(error, "generation"), 2);
  line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  EXPECT_TRUE(is_source_state(src, "error")(*line)) << *line;
  EXPECT_EQ(keys_of(event_of(*line)), (std::vector<std::string>{"event", "source", "state"}));

  // The fix: `changed` (generation 3) and `source ... ok`, in either order.
  atomic_save(app, R"({"port": 3})");
  std::optional<std::string> first = w.process.next_line();
  std::optional<std::string> second = w.process.next_line();
  ASSERT_TRUE(first && second) << describe(w.process);
  if (is_event("changed")(*second)) {
    std::swap(first, second);
  }
  const Value changed = event_of(*first);
  ASSERT_EQ(str(changed, "event"), "changed") << *first;
  EXPECT_EQ(integer(changed, "generation"), 3);
  // The change is from the last good config (2), not from the refused one.
  EXPECT_JSON_EQ(changes_by_path(changed)["port"],
                 R"({"path": "port", "old": 2, "new": 3, "old_source": ")" + src +
                     R"(", "new_source": ")" + src + R"("})");
  EXPECT_TRUE(is_source_state(src, "ok")(*second)) << *second;
  expect_json_lines(w.process);
}

TEST(CliWatchJsonTest, ValueRefusedByTheSchemaIsAnErrorEvent) {
  TempDir dir;
  const fs::path schema = dir.write("schema.yaml", kServiceSchema);
  const fs::path app = dir.write("app.json", R"({"server": {"port": 81}})");
  const std::string src = "file:" + app.string();
  Watch w({"--file", app.string(), "--schema", schema.string(), "--format", "json"});
  const Value loaded = event_of(w.first);
  ASSERT_EQ(str(loaded, "event"), "loaded") << describe(w.process);
  EXPECT_JSON_EQ(*loaded.find_member("config"),
                 R"({"server": {"port": 81, "host": "localhost"}, "log_level": "info"})");

  atomic_save(app, "{\"server\": {\"port\": \"80a\"}}");
  std::optional<std::string> line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  const Value error = event_of(*line);
  EXPECT_EQ(str(error, "event"), "error") << *line;
  EXPECT_EQ(str(error, "source"), src);
  EXPECT_EQ(str(error, "message"),
            app.string() + ":1:21: expected integer at server.port, got string \"80a\"");
  EXPECT_EQ(integer(error, "generation"), 1);
  line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  EXPECT_TRUE(is_source_state(src, "error")(*line)) << *line;
  expect_json_lines(w.process);
}

TEST(CliWatchJsonTest, DeletedFileIsMissingAndItsLastContentKeepsServing) {
  TempDir dir;
  const fs::path low = dir.write("low.json", R"({"a": 1, "keep": "me"})");
  const fs::path high = dir.write("high.json", R"({"b": 1})");
  const std::string low_src = "file:" + low.string();
  Watch w({"--file", low.string(), "--file", high.string(), "--format", "json"});
  ASSERT_EQ(str(event_of(w.first), "event"), "loaded") << describe(w.process);

  fs::remove(low);
  ASSERT_TRUE(w.process.wait_line(is_source_state(low_src, "missing"))) << describe(w.process);
  // Another change: the deleted file's keys are still in the config.
  atomic_save(high, R"({"b": 2})");
  const std::optional<std::string> line = w.process.wait_line(is_event("changed"));
  ASSERT_TRUE(line) << describe(w.process);
  const Value changed = event_of(*line);
  EXPECT_JSON_EQ(*changed.find_member("config"), R"({"a": 1, "keep": "me", "b": 2})");
  EXPECT_EQ(changes_by_path(changed).size(), 1U) << *line;
  EXPECT_EQ(integer(changed, "generation"), 2) << *line;
  expect_json_lines(w.process);
}

// Regression: when a watched file was deleted, stderr also got the library's
// warning, which named the library's internal generation ("generation 3 keeps
// serving") while the served, printed generation was 1. Every generation an
// operator reads must be the one `watch` printed (docs/cli.md: "in error it
// is the generation still served").
TEST(CliWatchJsonTest, StderrNamesTheGenerationThatIsServed) {
  TempDir dir;
  const fs::path low = dir.write("low.json", R"({"a": 1})");
  const fs::path high = dir.write("high.json", R"({"b": 1})");
  Watch w({"--file", low.string(), "--file", high.string(), "--format", "json"});
  ASSERT_EQ(str(event_of(w.first), "event"), "loaded") << describe(w.process);
  fs::remove(low);
  ASSERT_TRUE(w.process.wait_line(is_source_state("file:" + low.string(), "missing")))
      << describe(w.process);
  atomic_save(high, "{");  // a refused save: its error names generation 1 too
  ASSERT_TRUE(w.process.wait_line(is_source_state("file:" + high.string(), "error")))
      << describe(w.process);
  for (const std::string& line : w.process.lines()) {
    const Value e = event_of(line);
    if (has(e, "generation")) {
      EXPECT_EQ(integer(e, "generation"), 1) << line;
    }
  }
  const std::string err = w.process.err();
  const std::regex generation(R"(generation (\d+))");
  for (auto it = std::sregex_iterator(err.begin(), err.end(), generation);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ((*it)[1].str(), "1") << "stderr names another generation:\n" << err;
  }
}

TEST(CliWatchJsonTest, SourceNamesAreAsGivenOnTheCommandLine) {
  TempDir dir;
  dir.write("app.json", "{}");
  dir.write("local.env", "z=1\n");
  Watch w({"--format", "json", "--env", "APP", "--file", "app.json", "--dotenv", "./local.env",
           "--set", "k=1"},
          with_env({"APP_X=1", "APP_Y=1"}, dir.path()));
  const Value loaded = event_of(w.first);
  ASSERT_EQ(str(loaded, "event"), "loaded") << describe(w.process);
  // (A .env value's type is not pinned here: "1" or 1.)
  EXPECT_EQ(keys_of(*loaded.find_member("config")), (std::vector<std::string>{"k", "x", "y", "z"}));
  EXPECT_JSON_EQ(*loaded.find_member("config")->find_member("x"), "1");

  atomic_save(dir / "app.json", R"({"x": 2, "k": 5})");  // k: shadowed by --set
  std::optional<std::string> line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  EXPECT_JSON_EQ(changes_by_path(event_of(*line))["x"],
                 R"({"path": "x", "old": 1, "new": 2, "old_source": "env:APP",
                     "new_source": "file:app.json"})");
  EXPECT_EQ(changes_by_path(event_of(*line)).size(), 1U) << *line;

  atomic_save(dir / "local.env", "y=3\n");
  line = w.process.next_line();
  ASSERT_TRUE(line) << describe(w.process);
  std::map<std::string, Value> changes = changes_by_path(event_of(*line));
  EXPECT_EQ(str(changes["y"], "old_source"), "env:APP") << *line;
  EXPECT_EQ(str(changes["y"], "new_source"), "dotenv:./local.env") << *line;
  EXPECT_EQ(str(changes["z"], "old_source"), "dotenv:./local.env") << *line;

  atomic_save(dir / "app.json", "{");
  ASSERT_TRUE(w.process.wait_line(is_source_state("file:app.json", "error")))
      << describe(w.process);
  expect_json_lines(w.process);
}

TEST(CliWatchTextTest, ChangesAndRefusedSavesInText) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"port": 1, "gone": true})");
  Watch w({"--file", app.string()});
  ASSERT_EQ(w.first, "loaded generation 1 from file:" + app.string()) << describe(w.process);
  ASSERT_TRUE(w.process.wait_line(starts_with("  port = 1  (")));

  atomic_save(app, R"({"port": 2, "new": "x"})");
  ASSERT_EQ(w.process.wait_line(starts_with("changed")).value_or(""),
            "changed generation 2: 3 changes")
      << describe(w.process);
  std::vector<std::string> change_lines;
  for (int i = 0; i < 3; ++i) {
    change_lines.push_back(w.process.next_line().value_or(""));
  }
  std::sort(change_lines.begin(), change_lines.end());
  EXPECT_EQ(change_lines, (std::vector<std::string>{
                              "  + new = \"x\"  (" + app.string() + ":1:20)",
                              "  - gone (was true)  (removed from file:" + app.string() + ")",
                              "  ~ port: 1 -> 2  (" + app.string() + ":1:10)",
                          }));

  atomic_save(app, R"({"port": "x)");
  ASSERT_TRUE(w.process.wait_line([&](const std::string& l) {
    return is_text_source_state("file:" + app.string(), "error")(l);
  })) << describe(w.process);
  ASSERT_TRUE(
      wait_until([&] { return w.process.err().find("keeps serving") != std::string::npos; }, 5s));
  EXPECT_TRUE(std::regex_search(
      w.process.err(), std::regex("liveconf: .*app\\.json:\\d+:\\d+: .* \\(file:.*app\\.json; "
                                  "generation 2 keeps serving\\)\n")))
      << w.process.err();
}

// ==== 3. Source order and priority =====================================================

TEST(CliSourceOrderTest, LaterSourcesWinAndSetIsAboveAll) {
  TempDir dir;
  const std::string a =
      dir.write("a.json", R"({"k": "a", "m": "a", "n": "a", "o": "a", "p": "a"})").string();
  const std::string d = dir.write("d.env", "k=dotenv\nm=dotenv\nn=dotenv\n").string();
  const std::string b = dir.write("b.json", R"({"k": "b", "m": "b"})").string();
  const CliOptions env = with_env({"P_K=env", "P_M=env", "P_N=env", "P_O=env"});
  const Args sources = {"--file", a, "--env", "P", "--dotenv", d, "--file", b, "--set", "k=set"};
  const std::map<std::string, std::string> winners = {
      {"k", "set"}, {"m", "b"}, {"n", "dotenv"}, {"o", "env"}, {"p", "a"}};
  for (const auto& [key, winner] : winners) {
    Args args = {"get", key};
    args.insert(args.end(), sources.begin(), sources.end());
    const CliResult r = run_cli(args, env);
    EXPECT_EQ(r.out, winner + "\n") << key << "\n" << describe(r);
  }
  // --set first on the line: still above every source.
  const CliResult first = run_cli(
      {"get", "k", "--set", "k=set", "--file", a, "--env", "P", "--dotenv", d, "--file", b}, env);
  EXPECT_EQ(first.out, "set\n") << describe(first);

  Args args = {"explain", "k"};
  args.insert(args.end(), sources.begin(), sources.end());
  CliResult r = run_cli(args, env);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "k = \"set\"\n"
            "  * set (priority 1048576): \"set\"\n"
            "    file:" +
                b + " (priority 4): \"b\"  [" + b + ":1:7]\n    dotenv:" + d +
                " (priority 3): \"dotenv\"  [" + d + ":1:3]\n" +
                "    env:P (priority 2): \"env\"  [$P_K]\n    file:" + a +
                " (priority 1): \"a\"  [" + a + ":1:7]\n");
  args = {"explain", "k", "--format", "json"};
  args.insert(args.end(), sources.begin(), sources.end());
  r = run_cli(args, env);
  const Value e = json(r.out);
  std::vector<std::string> layers;
  std::vector<std::int64_t> priorities;
  for (const Value& l : e.find_member("layers")->as_array()) {
    layers.push_back(str(l, "layer"));
    priorities.push_back(integer(l, "priority"));
  }
  EXPECT_EQ(layers,
            (std::vector<std::string>{"set", "file:" + b, "dotenv:" + d, "env:P", "file:" + a}));
  EXPECT_TRUE(std::is_sorted(priorities.rbegin(), priorities.rend())) << r.out;

  // The loaded line lists the sources in command-line order, set last.
  args = {"watch", "--once"};
  args.insert(args.end(), sources.begin(), sources.end());
  r = run_cli(args, env);
  EXPECT_EQ(lines_of(r.out).at(0), "loaded generation 1 from file:" + a + ", env:P, dotenv:" + d +
                                       ", file:" + b + ", set");
}

// ==== 4. Exit codes ====================================================================

TEST(CliExitCodeTest, OkIsZeroAndAnAbsentKeyIsOne) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  EXPECT_EQ(run_cli({"get", "server.port", "--file", app}).exit_code, 0);
  CliResult r = run_cli({"get", "server.nope", "--file", app});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "liveconf: server.nope is not in the configuration\n");
  r = run_cli({"explain", "server.nope", "--file", app});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  r = run_cli({"explain", "server.nope", "--file", app, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_JSON_EQ(json(r.out), R"({"path": "server.nope", "layers": []})");
}

TEST(CliExitCodeTest, UsageErrorsAreTwo) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  const std::vector<Args> cases = {
      {},
      {"frobnicate"},
      {"get", "x", "--file", app, "--bogus"},
      {"get", "--file", app},
      {"explain", "--file", app},
      {"env-report"},
      {"get", "x", "--file", app, "--format", "xml"},
      {"watch", "--file", app, "--format", "xml"},
      {"watch", "--file", app, "--exec", "true", "--on-change", "bogus"},
      {"watch", "--file", app, "--exec", "true", "--on-change", "signal:KILL"},
      {"watch", "--file", app, "--exec", "true", "--on-change", "signal:NOPE"},
      {"render", "--file", app, "--render-format", "xml"},
      {"watch", "--file", app, "--render", (dir / "out.json").string(), "--render-format", "ini"},
  };
  for (const Args& args : cases) {
    const CliResult r = run_cli(args);
    std::string line;
    for (const std::string& a : args) {
      line += " " + a;
    }
    EXPECT_EQ(r.exit_code, 2) << "liveconf" << line << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << "liveconf" << line;
    EXPECT_FALSE(r.err.empty()) << "liveconf" << line;
  }
}

// Regression: a bad option value that CLI11 does not check itself exited 3
// ("configuration") instead of 2: --debounce and a --set without '='.
// docs/cli.md: "2 | usage: a bad option or value".
TEST(CliExitCodeTest, BadOptionValuesAreUsageErrors) {
  TempDir dir;
  const std::string app = dir.write("app.json", kAppJson).string();
  for (const Args& args : std::vector<Args>{
           {"get", "server.port", "--file", app, "--debounce", "soon"},
           {"watch", "--once", "--file", app, "--debounce", "-5ms"},
           {"get", "server.port", "--file", app, "--set", "noequals"},
           {"get", "server.port", "--file", app, "--set", "=1"},
       }) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[args.size() - 2] << " " << args[args.size() - 1] << "\n"
                              << describe(r);
  }
}

// Regression: `check --file DIR` on an empty directory exited 0 and printed
// nothing (the directory was read as an empty conf.d). --file names a file.
TEST(CliExitCodeTest, FileOptionOnADirectoryIsAUsageErrorPointingAtDir) {
  TempDir dir;
  const std::string confd = (dir / "conf.d").string();
  std::filesystem::create_directory(confd);
  const std::string app = dir.write("app.json", kAppJson).string();
  for (const Args& args : std::vector<Args>{
           {"check", "--file", confd},
           {"get", "server.port", "--file", confd},
           {"render", "--file", confd},
           {"watch", "--once", "--file", confd},
           {"check", "--dotenv", confd},
       }) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_NE(r.err.find(confd + ": is a directory; use --dir " + confd), std::string::npos)
        << r.err;
  }
  const CliResult r = run_cli({"check", "--dir", app});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find(app + ": is not a directory; use --file " + app), std::string::npos)
      << r.err;
}

TEST(CliExitCodeTest, ConfigurationProblemsAreThree) {
  TempDir dir;
  const std::string bad = dir.write("bad.json", "{\"port\": }").string();
  const std::string schema = dir.write("schema.yaml", kServiceSchema).string();
  const std::string invalid = dir.write("invalid.yaml", "server:\n  port: 70000\n").string();
  for (const Args& args : std::vector<Args>{
           {"get", "port", "--file", bad},
           {"explain", "port", "--file", bad},
           {"render", "--file", bad},
           {"watch", "--once", "--file", bad},
           {"check", "--file", bad},
       }) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_NE(r.err.find("liveconf: " + bad + ":1:10: "), std::string::npos) << args[0] << r.err;
  }
  for (const Args& args : std::vector<Args>{
           {"get", "server.port", "--file", invalid, "--schema", schema},
           {"render", "--file", invalid, "--schema", schema},
           {"watch", "--once", "--file", invalid, "--schema", schema},
           {"check", "--file", invalid, "--schema", schema},
       }) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << "\n" << describe(r);
    EXPECT_NE(r.err.find("liveconf: " + invalid +
                         ":2:9: must be at most 65535 at server.port, got integer 70000\n"),
              std::string::npos)
        << args[0] << r.err;
  }
  // A schema with an unsupported keyword is an error naming file, line and keyword.
  const std::string bad_schema =
      dir.write("bad-schema.yaml", "type: object\nproperties:\n  a: {type: integer, oneOf: []}\n")
          .string();
  const CliResult r = run_cli({"check", "--schema", bad_schema});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_NE(r.err.find("liveconf: " + bad_schema + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("oneOf"), std::string::npos) << r.err;
}

TEST(CliExitCodeTest, AMissingFileIsFour) {
  TempDir dir;
  const std::string missing = (dir / "missing.json").string();
  for (const Args& args : std::vector<Args>{
           {"get", "x", "--file", missing},
           {"explain", "x", "--file", missing},
           {"render", "--file", missing},
           {"watch", "--once", "--file", missing},
           {"watch", "--file", missing},  // "A missing file is an error at start."
           {"get", "x", "--dotenv", missing},
       }) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 4) << args[0] << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_EQ(r.err, "liveconf: " + missing + ": file not found\n") << args[0];
  }
  // A file that cannot be written.
  const std::string app = dir.write("app.json", kAppJson).string();
  const CliResult r =
      run_cli({"render", "--file", app, "-o", (dir / "no-such-dir" / "out.json").string()});
  EXPECT_EQ(r.exit_code, 4) << describe(r);
}

// A transient read error (EIO) is exit 5; check reports every problem: when
// all are files that cannot be read, 5 if one of them is transient, else 4;
// any configuration problem among them makes it 3. The EIO is real, no seam: a symlink to
// /proc/self/mem makes liveconf read its own memory at offset 0, which is unmapped.
TEST(CliExitCodeTest, ATransientReadErrorIsFiveAndWinsOverPlainIoProblems) {
  TempDir dir;
  const fs::path eio = dir / "eio.json";
  fs::create_symlink("/proc/self/mem", eio);
  const std::string missing = (dir / "missing.json").string();
  const std::string bad = dir.write("bad.json", "{\"port\": }").string();
  const std::string app = dir.write("app.json", kAppJson).string();
  const CliResult only = run_cli({"check", "--file", eio.string()});
  EXPECT_EQ(only.exit_code, 5) << describe(only);
  EXPECT_NE(only.err.find(eio.string() + ": cannot read file: Input/output error"),
            std::string::npos)
      << only.err;
  const CliResult mixed =
      run_cli({"check", "--file", app, "--file", missing, "--file", eio.string()});
  EXPECT_EQ(mixed.exit_code, 5) << describe(mixed);
  EXPECT_NE(mixed.err.find("2 problems"), std::string::npos) << mixed.err;
  const CliResult io = run_cli({"check", "--file", app, "--file", missing});
  EXPECT_EQ(io.exit_code, 4) << describe(io);
  const CliResult config =
      run_cli({"check", "--file", missing, "--file", eio.string(), "--file", bad});
  EXPECT_EQ(config.exit_code, 3) << describe(config);
  EXPECT_NE(config.err.find("3 problems"), std::string::npos) << config.err;
  const CliResult get = run_cli({"get", "x", "--file", eio.string()});
  EXPECT_EQ(get.exit_code, 5) << describe(get);
}

// The "Exit codes" table: {code, meaning} rows.
using ExitTable = std::vector<std::pair<std::string, std::string>>;

ExitTable exit_table_of_help(const std::string& help) {
  ExitTable out;
  bool in_table = false;
  const std::regex row(R"(^  (\S+)\s+(.*\S)\s*$)");
  for (const std::string& line : lines_of(help)) {
    if (line == "Exit codes:") {
      in_table = true;
      continue;
    }
    if (!in_table) {
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, row)) {
      break;
    }
    out.emplace_back(m[1], m[2]);
  }
  return out;
}

ExitTable exit_table_of_docs(const std::string& docs) {
  ExitTable out;
  bool in_section = false;
  const std::regex row(R"(^\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$)");
  for (const std::string& line : lines_of(docs)) {
    if (line.starts_with("## ")) {
      in_section = line == "## Exit codes";
      continue;
    }
    std::smatch m;
    if (!in_section || !std::regex_match(line, m, row)) {
      continue;
    }
    if (m[1] == "Code" || std::string(m[1]).starts_with("---")) {
      continue;
    }
    out.emplace_back(m[1], m[2]);
  }
  return out;
}

TEST(CliExitCodeTest, HelpTableEqualsTheTableInDocs) {
  const CliResult r = run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  const ExitTable help = exit_table_of_help(r.out);
  const std::optional<std::string> docs =
      testing::read_file(fs::path(LIVECONF_SOURCE_DIR) / "docs" / "cli.md");
  ASSERT_TRUE(docs.has_value());
  const ExitTable doc = exit_table_of_docs(*docs);
  EXPECT_GE(help.size(), 8U) << r.out;
  EXPECT_EQ(help, doc);
}

// ==== 5. Signals =======================================================================

TEST(CliSignalTest, SigintAndSigtermExitZeroPromptly) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"a": 1})");
  for (const int sig : {SIGINT, SIGTERM}) {
    Watch w({"--file", app.string(), "--format", "json"});
    ASSERT_TRUE(is_event("loaded")(w.first)) << describe(w.process);
    const Clock::time_point start = Clock::now();
    w.process.signal(sig);
    const std::optional<int> code = w.process.wait_exit(5s);
    ASSERT_TRUE(code) << "still running after signal " << sig;
    EXPECT_EQ(*code, 0) << "signal " << sig << describe(w.process);
    EXPECT_LT(Clock::now() - start, 3s) << "signal " << sig;
    EXPECT_EQ(w.process.err(), "") << "signal " << sig;
  }
}

TEST(CliSignalTest, SighupRereadsEverySource) {
  TempDir dir;
  fs::create_directories(dir / "watched");
  fs::create_directories(dir / "elsewhere");
  const fs::path app = dir.write("watched/app.json", R"({"v": 1})");
  // A second name for the same inode, in a directory liveconf does not watch:
  // a write through it may not be seen by inotify, but SIGHUP re-reads.
  fs::create_hard_link(app, dir / "elsewhere" / "app.json");
  Watch w({"--file", app.string(), "--format", "json"});
  ASSERT_TRUE(is_event("loaded")(w.first)) << describe(w.process);

  write_in_place(dir / "elsewhere" / "app.json", R"({"v": 2})");
  w.process.signal(SIGHUP);
  std::optional<std::string> line = w.process.wait_line(is_event("changed"));
  ASSERT_TRUE(line) << describe(w.process);
  EXPECT_JSON_EQ(*event_of(*line).find_member("config"), R"({"v": 2})");

  // Still alive, still watching.
  atomic_save(app, R"({"v": 3})");
  line = w.process.wait_line(is_event("changed"));
  ASSERT_TRUE(line) << describe(w.process);
  EXPECT_JSON_EQ(*event_of(*line).find_member("config"), R"({"v": 3})");
  w.process.signal(SIGTERM);
  EXPECT_EQ(w.process.wait_exit(5s), std::optional<int>(0));
}

// ==== 6. --exec ========================================================================

// Kills the process groups of the children a test's script logged ("pid N"),
// in case a failed test left one running.
struct ChildGroupsGuard {
  fs::path log;
  ~ChildGroupsGuard() {
    for (const std::string& p : with_prefix(log_lines(log), "pid ")) {
      const pid_t pid = static_cast<pid_t>(std::stol(p));
      if (pid > 1 && ::kill(pid, 0) == 0) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);  // a service a wrapper forked leads no group
      }
    }
  }
};

TEST(CliExecTest, RestartModeRendersFirstAndRestartsOnAChange) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"v": 1})");
  const fs::path render = dir / "rendered.json";
  const fs::path log = dir / "child.log";
  ChildGroupsGuard guard{log};
  // The child logs its pid and the rendered config it finds at start.
  const std::string child = R"sh(printf 'pid %s\n' "$$" >> "$LOG"; )sh"
                            R"sh(printf 'config %s\n' "$(tr -d ' \n' < "$RENDER")" >> "$LOG"; )sh"
                            R"sh(exec sleep 1000)sh";
  Watch w(
      {"--file", app.string(), "--format", "json", "--render", render.string(), "--exec", child},
      with_env({"LOG=" + log.string(), "RENDER=" + render.string()}));
  ASSERT_TRUE(is_event("loaded")(w.first)) << describe(w.process);
  ASSERT_TRUE(wait_until([&] { return with_prefix(log_lines(log), "config ").size() == 1; }, 5s))
      << read_text(log) << describe(w.process);
  EXPECT_EQ(with_prefix(log_lines(log), "config "), std::vector<std::string>{R"({"v":1})"});
  EXPECT_EQ(file_mode(render), 0600U);
  const ino_t first_inode = inode_of(render);
  const std::vector<std::string> first_pid = with_prefix(log_lines(log), "pid ");
  ASSERT_EQ(first_pid.size(), 1U);

  atomic_save(app, R"({"v": 2})");
  ASSERT_TRUE(w.process.wait_line(is_event("changed"))) << describe(w.process);
  ASSERT_TRUE(wait_until([&] { return with_prefix(log_lines(log), "config ").size() == 2; }, 5s))
      << read_text(log) << describe(w.process);
  const std::vector<std::string> pids = with_prefix(log_lines(log), "pid ");
  ASSERT_EQ(pids.size(), 2U);
  EXPECT_NE(pids[0], pids[1]);
  // The new child read the new config: rendered before the restart.
  EXPECT_EQ(with_prefix(log_lines(log), "config ")[1], R"({"v":2})");
  EXPECT_TRUE(process_gone(static_cast<pid_t>(std::stol(pids[0]))));
  // Rendered atomically (a new inode renamed into place), still private.
  EXPECT_NE(inode_of(render), first_inode);
  EXPECT_EQ(file_mode(render), 0600U);
  EXPECT_JSON_EQ(json(read_text(render)), R"({"v": 2})");

  w.process.signal(SIGTERM);
  EXPECT_EQ(w.process.wait_exit(5s), std::optional<int>(0)) << describe(w.process);
  EXPECT_TRUE(wait_until([&] { return process_gone(static_cast<pid_t>(std::stol(pids[1]))); }, 2s));
}

TEST(CliExecTest, SignalModeKeepsThePidAndTermIsForwarded) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"v": 1})");
  const fs::path log = dir / "child.log";
  ChildGroupsGuard guard{log};
  const std::string child = R"(trap 'echo hup >> "$LOG"' HUP; )"
                            R"(trap 'echo term >> "$LOG"; exit 0' TERM; )"
                            R"(printf 'pid %s\n' "$$" >> "$LOG"; )"
                            R"(while :; do sleep 0.1; done)";
  Watch w(
      {"--file", app.string(), "--format", "json", "--on-change", "signal:HUP", "--exec", child},
      with_env({"LOG=" + log.string()}));
  ASSERT_TRUE(is_event("loaded")(w.first)) << describe(w.process);
  ASSERT_TRUE(wait_until([&] { return with_prefix(log_lines(log), "pid ").size() == 1; }, 5s))
      << describe(w.process);

  atomic_save(app, R"({"v": 2})");
  ASSERT_TRUE(w.process.wait_line(is_event("changed"))) << describe(w.process);
  ASSERT_TRUE(wait_until(
      [&] {
        const std::vector<std::string> l = log_lines(log);
        return std::find(l.begin(), l.end(), "hup") != l.end();
      },
      5s))
      << read_text(log);
  EXPECT_EQ(with_prefix(log_lines(log), "pid ").size(), 1U) << read_text(log);

  w.process.signal(SIGTERM);
  EXPECT_EQ(w.process.wait_exit(5s), std::optional<int>(0)) << describe(w.process);
  const std::vector<std::string> l = log_lines(log);
  EXPECT_NE(std::find(l.begin(), l.end(), "term"), l.end()) << read_text(log);
  EXPECT_EQ(with_prefix(l, "pid ").size(), 1U) << read_text(log);
  EXPECT_TRUE(process_gone(static_cast<pid_t>(std::stol(with_prefix(l, "pid ")[0]))));
}

// The reported bug: with a wrapper that forks (`cd dir && ./server`, or dash
// running `python3 app.py`), signal:HUP killed the wrapper; liveconf reported
// status 129 and exited, leaving the server running under init.
TEST(CliExecTest, SignalModeReachesAServiceBehindAWrapperAndTheWrappersDeathLeavesNothing) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"v": 1})");
  const fs::path log = dir / "child.log";
  ChildGroupsGuard guard{log};
  const fs::path server = dir.write("server",
                                    "#!/bin/sh\n"
                                    R"(trap 'echo hup >> "$LOG"' HUP)"
                                    "\n"
                                    R"(trap 'echo term >> "$LOG"; exit 0' TERM)"
                                    "\n"
                                    R"(printf 'pid %s\n' "$$" >> "$LOG")"
                                    "\n"
                                    "while :; do sleep 0.1; done\n");
  fs::permissions(server, fs::perms::owner_all, fs::perm_options::add);
  Watch w({"--file", app.string(), "--format", "json", "--on-change", "signal:HUP", "--exec",
           "cd '" + dir.path().string() + "' && ./server"},
          with_env({"LOG=" + log.string()}));
  ASSERT_TRUE(is_event("loaded")(w.first)) << describe(w.process);
  ASSERT_TRUE(wait_until([&] { return with_prefix(log_lines(log), "pid ").size() == 1; }, 5s))
      << describe(w.process);
  const pid_t service = static_cast<pid_t>(std::stol(with_prefix(log_lines(log), "pid ")[0]));
  const pid_t leader = ::getpgid(service);  // the shell liveconf started
  ASSERT_GT(leader, 1);

  const auto hups = [&] {
    const std::vector<std::string> l = log_lines(log);
    return std::count(l.begin(), l.end(), "hup");
  };
  for (int v = 2; v <= 3; ++v) {
    atomic_save(app, R"({"v": )" + std::to_string(v) + "}");
    ASSERT_TRUE(w.process.wait_line(is_event("changed"))) << describe(w.process);
    ASSERT_TRUE(wait_until([&] { return hups() == v - 1; }, 5s)) << read_text(log);
  }
  EXPECT_FALSE(gone_or_zombie(leader)) << "the reload signal killed the wrapper";
  EXPECT_EQ(w.process.err().find("exited"), std::string::npos) << describe(w.process);

  // However the wrapper dies, its server is stopped (SIGTERM first) before
  // liveconf exits with the wrapper's status.
  ASSERT_EQ(::kill(leader, SIGKILL), 0);
  EXPECT_EQ(w.process.wait_exit(5s), std::optional<int>(128 + SIGKILL)) << describe(w.process);
  EXPECT_TRUE(gone_or_zombie(service)) << "the server outlived liveconf";
  const std::vector<std::string> l = log_lines(log);
  EXPECT_NE(std::find(l.begin(), l.end(), "term"), l.end()) << read_text(log);
  EXPECT_NE(w.process.err().find("liveconf: the command exited with status 137"), std::string::npos)
      << w.process.err();
}

TEST(CliExecTest, TheCommandsOwnExitEndsTheWatchWithItsStatus) {
  TempDir dir;
  const std::string app = dir.write("app.json", R"({"v": 1})").string();
  CliResult r = run_cli({"watch", "--file", app, "--exec", "exit 7"});
  EXPECT_EQ(r.exit_code, 7) << describe(r);
  EXPECT_NE(r.err.find("liveconf: the command exited with status 7"), std::string::npos) << r.err;
  r = run_cli({"watch", "--file", app, "--exec", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, 128 + 9) << describe(r);
}

// ==== 7. Secrets =======================================================================

constexpr std::string_view kSecretSchema = R"(type: object
properties:
  api_key: {type: string, writeOnly: true, minLength: 40}
  db:
    type: object
    properties:
      password: {type: string, writeOnly: true}
  port: {type: integer}
)";

std::string long_secret(std::string_view suffix) {
  return std::string(kMarker) + "-" + std::string(suffix) + "-0123456789abcdef0123456789";
}

void expect_no_marker(const CliResult& r, const std::string& what) {
  EXPECT_EQ(r.out.find(kMarker), std::string::npos) << what << " leaked on stdout:\n" << r.out;
  EXPECT_EQ(r.err.find(kMarker), std::string::npos) << what << " leaked on stderr:\n" << r.err;
  EXPECT_FALSE(r.timed_out) << what;
}

std::string joined(const Args& args) {
  std::string out = "liveconf";
  for (const std::string& a : args) {
    out += " " + a;
  }
  return out;
}

TEST(CliSecretTest, NeverPrintedByAnyCommand) {
  TempDir dir;
  const std::string secret_json =
      dir.write("secret.json", R"({"api_key": ")" + long_secret("file") + R"(", "port": 1})")
          .string();
  const std::string short_json =
      dir.write("short.json", R"({"api_key": ")" + std::string(kMarker) + R"(", "port": 1})")
          .string();
  const std::string schema = dir.write("schema.yaml", kSecretSchema).string();
  const std::string password = dir.write("password.txt", long_secret("db") + "\n").string();
  const Env env = {"APP_DB__PASSWORD_FILE=" + password};

  struct Way {
    std::string name;
    Args sources;
    std::string key;
  };
  const std::vector<Way> ways = {
      {"--secret", {"--file", secret_json, "--secret", "api_key"}, "api_key"},
      {"writeOnly", {"--file", secret_json, "--schema", schema}, "api_key"},
      {"_FILE", {"--file", secret_json, "--schema", schema, "--env", "APP"}, "db.password"},
  };
  for (const Way& way : ways) {
    std::vector<Args> commands = {
        {"watch", "--once"},
        {"watch", "--once", "--format", "json"},
        {"get", way.key},
        {"get", way.key, "--format", "json"},
        {"explain", way.key},
        {"explain", way.key, "--format", "json"},
        {"render", "--render-format", "json"},
        {"render", "--render-format", "yaml"},
        {"render", "--render-format", "toml"},
        {"check"},
    };
    for (Args args : commands) {
      args.insert(args.end(), way.sources.begin(), way.sources.end());
      const CliResult r = run_cli(args, with_env(env));
      EXPECT_EQ(r.exit_code, 0) << way.name << ": " << joined(args) << "\n" << describe(r);
      expect_no_marker(r, way.name + ": " + joined(args));
      if (args[0] != "check") {
        EXPECT_NE(r.out.find("***"), std::string::npos) << joined(args) << "\n" << r.out;
      }
    }
    // The rendered file is for the program: it holds the real value.
    const fs::path out = dir / "rendered.json";
    Args args = {"render", "-o", out.string()};
    args.insert(args.end(), way.sources.begin(), way.sources.end());
    const CliResult r = run_cli(args, with_env(env));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    expect_no_marker(r, way.name + ": " + joined(args));
    EXPECT_NE(read_text(out).find(kMarker), std::string::npos) << read_text(out);
  }

  // Refused secrets: the error names the key, never the value.
  for (const Args& args : std::vector<Args>{
           {"check", "--file", short_json, "--schema", schema},
           {"watch", "--once", "--file", short_json, "--schema", schema},
           {"get", "port", "--file", short_json, "--schema", schema},
           {"check", "--file", secret_json, "--schema", schema, "--env", "APP"},
       }) {
    const Env bad_env = {"APP_API_KEY=" + std::string(kMarker),
                         "APP_DB__PASSWORD_FILE=" + password};
    const CliResult r = run_cli(args, with_env(bad_env));
    EXPECT_EQ(r.exit_code, 3) << joined(args) << "\n" << describe(r);
    EXPECT_NE(r.err.find("must be at least 40 characters long at api_key"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("(value hidden)"), std::string::npos) << r.err;
    expect_no_marker(r, joined(args));
  }

  // env-report: a secret read from a file, a secret that does not validate.
  const Env report_env = {"APP_DB__PASSWORD_FILE=" + password,
                          "APP_API_KEY=" + std::string(kMarker), "APP_PORT=abc"};
  for (const Args& args : std::vector<Args>{
           {"env-report", "APP", "--schema", schema},
           {"env-report", "APP", "--schema", schema, "--format", "json"},
       }) {
    const CliResult r = run_cli(args, with_env(report_env));
    EXPECT_EQ(r.exit_code, 3) << joined(args) << "\n" << describe(r);
    EXPECT_NE(r.out.find("APP_DB__PASSWORD_FILE"), std::string::npos) << r.out;
    // Values never appear in the report, secret or not.
    expect_no_marker(r, joined(args));
  }
}

// A live watch: the secret changes, a save next to it is refused (a parse
// error, then a validation error), the secret read from a file rotates.
void live_watch_never_prints_the_secret(const std::string& format, bool schema_way) {
  SCOPED_TRACE(format + (schema_way ? " with a schema" : " with --secret"));
  TempDir dir;
  const fs::path app =
      dir.write("app.json", R"({"api_key": ")" + long_secret("v1") + R"(", "port": 1})");
  const fs::path schema = dir.write("schema.yaml", kSecretSchema);
  const fs::path password = dir.write("password.txt", long_secret("db1") + "\n");
  Args args = {"--file", app.string(), "--format", format};
  if (schema_way) {
    args.insert(args.end(), {"--schema", schema.string(), "--env", "APP"});
  } else {
    args.insert(args.end(), {"--secret", "api_key"});
  }
  const bool json_format = format == "json";
  Watch w(args, with_env({"APP_DB__PASSWORD_FILE=" + password.string()}));
  ASSERT_TRUE(json_format ? is_event("loaded")(w.first) : w.first.starts_with("loaded"))
      << describe(w.process);
  const LinePredicate changed = json_format ? is_event("changed") : starts_with("changed");

  // The secret changes: reported, masked.
  atomic_save(app, R"({"api_key": ")" + long_secret("v2") + R"(", "port": 1})");
  std::optional<std::string> line = w.process.wait_line(changed);
  ASSERT_TRUE(line) << describe(w.process);
  if (json_format) {
    EXPECT_JSON_EQ(changes_by_path(event_of(*line))["api_key"],
                   R"({"path": "api_key", "old": "***", "new": "***", "old_source": "file:)" +
                       app.string() + R"(", "new_source": "file:)" + app.string() + R"("})");
  } else {
    line = w.process.next_line();
    ASSERT_TRUE(line) << describe(w.process);
    EXPECT_EQ(*line,
              "  ~ api_key: \"***\" -> \"***\" (secret changed)  (" + app.string() + ":1:13)");
  }

  // A parse error right next to the secret.
  atomic_save(app, R"({"api_key": ")" + long_secret("v3") + R"(", "port": )");
  const std::string src = "file:" + app.string();
  ASSERT_TRUE(w.process.wait_line(json_format ? is_source_state(src, "error")
                                              : is_text_source_state(src, "error")))
      << describe(w.process);
  if (schema_way) {
    // Fixed, then a secret that does not validate.
    atomic_save(app, R"({"api_key": ")" + long_secret("v4") + R"(", "port": 2})");
    ASSERT_TRUE(w.process.wait_line(changed)) << describe(w.process);
    atomic_save(app, R"({"api_key": ")" + std::string(kMarker) + R"(", "port": 2})");
    ASSERT_TRUE(w.process.wait_line(json_format ? is_source_state(src, "error")
                                                : is_text_source_state(src, "error")))
        << describe(w.process);
    ASSERT_TRUE(wait_until(
        [&] {
          return (w.process.out() + w.process.err()).find("(value hidden)") != std::string::npos;
        },
        5s))
        << describe(w.process);
    // The secret read through APP_DB__PASSWORD_FILE rotates.
    atomic_save(password, long_secret("db2") + "\n");
    line = w.process.wait_line(changed);
    ASSERT_TRUE(line) << describe(w.process);
    if (json_format) {
      EXPECT_JSON_EQ(changes_by_path(event_of(*line))["db.password"],
                     R"({"path": "db.password", "old": "***", "new": "***",
                         "old_source": "env:APP", "new_source": "env:APP"})");
    }
  }
  // Fixed: the change is reported without the value.
  atomic_save(app, R"({"api_key": ")" + long_secret("v5") + R"(", "port": 3})");
  ASSERT_TRUE(w.process.wait_line(changed)) << describe(w.process);
  w.process.signal(SIGTERM);
  EXPECT_EQ(w.process.wait_exit(5s), std::optional<int>(0));
  const std::string all = w.process.out() + w.process.err();
  EXPECT_EQ(all.find(kMarker), std::string::npos) << "leaked:\n" << describe(w.process);
  EXPECT_NE(w.process.out().find("***"), std::string::npos);
  if (json_format) {
    expect_json_lines(w.process);
  }
}

TEST(CliSecretTest, NeverPrintedByALiveWatch) {
  for (const std::string format : {"json", "text"}) {
    for (const bool schema_way : {false, true}) {
      live_watch_never_prints_the_secret(format, schema_way);
    }
  }
}

// ==== 8. Help, version, colour ===========================================================

TEST(CliHelpTest, EveryCommandHasHelp) {
  const std::map<std::string, std::vector<std::string>> options = {
      {"watch",
       {"--file", "--dir", "--env", "--dotenv", "--set", "--format", "--debounce", "--poll",
        "--schema", "--secret", "--render", "--render-format", "--exec", "--on-change", "--once"}},
      {"get", {"KEY", "--file", "--env", "--format", "--schema", "--secret"}},
      {"explain", {"KEY", "--file", "--env", "--format", "--schema"}},
      {"check", {"--file", "--dir", "--env", "--dotenv", "--set", "--schema"}},
      {"render", {"--output", "-o", "--render-format", "--file", "--secret"}},
      {"env-report", {"PREFIX", "--schema", "--format"}},
  };
  for (const auto& [command, names] : options) {
    const CliResult r = run_cli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << describe(r);
    EXPECT_NE(r.out.find("Usage: liveconf " + command), std::string::npos) << r.out;
    for (const std::string& name : names) {
      EXPECT_NE(r.out.find(name), std::string::npos) << command << " --help lacks " << name;
    }
    EXPECT_EQ(r.out.find('\033'), std::string::npos) << command;
  }
  const CliResult r = run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& [command, names] : options) {
    EXPECT_NE(r.out.find("  " + command + " "), std::string::npos) << command;
  }
}

TEST(CliHelpTest, VersionPrintsVersionRevisionAndBuiltParts) {
  const CliResult r = run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m,
                               std::regex("liveconf (\\d+\\.\\d+\\.\\d+)\n"
                                          "revision: (\\S+)\n"
                                          "parts: ([a-z -]+) \\(not built: ([a-z -]+)\\)\n"
                                          "build: [^\n]+\n")))
      << r.out;
  EXPECT_EQ(m[1], LIVECONF_VERSION_STRING);
  // The revision is the source tree's own (this test runs from a checkout).
  // (`git describe`: a bare hash, or TAG-N-gHASH once there are tags; -dirty after either.)
  std::string head;
  if (FILE* git = ::popen("git -C '" LIVECONF_SOURCE_DIR "' rev-parse HEAD 2>/dev/null", "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, git) != nullptr) {
      head = buf;
    }
    ::pclose(git);
  }
  if (head.size() >= 12) {
    EXPECT_NE(m[2].str().find(head.substr(0, 12)), std::string::npos)
        << "--version says " << m[2] << ", the tree is at " << head;
  }
  // The parts are the ones this build has: each one named once, on the right side.
  const std::string built = m[3];
  const std::string missing = m[4];
  auto listed = [](const std::string& list, const std::string& part) {
    return (" " + list + " ").find(" " + part + " ") != std::string::npos;
  };
  const std::pair<const char*, bool> parts[] = {
#ifdef LIVECONF_CLI_WITH_ETCD
      {"etcd", true},
#else
      {"etcd", false},
#endif
#ifdef LIVECONF_CLI_WITH_ADMIN
      {"admin", true},
#else
      {"admin", false},
#endif
#ifdef LIVECONF_CLI_WITH_JOURNAL
      {"journal", true},
#else
      {"journal", false},
#endif
      {"python", LIVECONF_TEST_PYTHON_BUILT != 0},
  };
  for (const auto& [part, has] : parts) {
    EXPECT_EQ(listed(built, part), has) << part << " in: " << r.out;
    EXPECT_EQ(listed(missing, part), !has) << part << " in: " << r.out;
  }
}

// Runs `script` with `shell` (bash or zsh) in `dir`; its stdout, or "exit N" on failure.
std::string run_shell(const std::string& shell, const TempDir& dir, const std::string& script) {
  const fs::path file = dir.write("driver." + shell, script);
  const std::string command = "cd '" + dir.path().string() + "' && " + shell + " " +
                              (shell == "zsh" ? "-f " : "--norc --noprofile ") + file.string() +
                              " 2>&1";
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) {
    return "popen failed";
  }
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  const int status = ::pclose(p);
  return status == 0 ? out : out + "exit " + std::to_string(status);
}

// Bash's own completion machinery (complete -F) drives the generated function
// for a few prefixes: subcommands, options of one subcommand, a file-valued
// option, a directory-valued one, a fixed set of choices, the global flags.
TEST(CliCompletionTest, BashCompletesCommandsOptionsFilesDirectoriesAndChoices) {
  TempDir dir;
  const CliResult script = run_cli({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << describe(script);
  dir.write("liveconf.bash", script.out);
  dir.write("app.json", "{}");
  dir.write("apx.yaml", "a: 1\n");
  fs::create_directory(dir.path() / "conf.d");
  const std::string out = run_shell("bash", dir, R"(
source ./liveconf.bash
complete -p liveconf
words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _liveconf
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; echo "|"
}
words liveconf wa
words liveconf watch --fi
words liveconf watch --once --file ap
words liveconf render --dir co
words liveconf get --format j
words liveconf completion ''
words liveconf --vers
words liveconf ''
)");
  const std::vector<std::string> lines = [&] {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      v.push_back(line);
    }
    return v;
  }();
  ASSERT_EQ(lines.size(), 9u) << out;
  EXPECT_EQ(lines[0], "complete -F _liveconf liveconf");
  EXPECT_EQ(lines[1], "watch |");
  EXPECT_EQ(lines[2], "--file |");
  EXPECT_EQ(lines[3], "app.json apx.yaml |");
  EXPECT_EQ(lines[4], "conf.d |");
  EXPECT_EQ(lines[5], "json |");
  EXPECT_EQ(lines[6], "bash zsh |");
  EXPECT_EQ(lines[7], "--version |");
  // Every subcommand --help lists is offered, and nothing else.
  const CliResult help = run_cli({"--help"});
  std::vector<std::string> commands;
  {
    std::istringstream in(help.out.substr(help.out.find("Subcommands:")));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
      commands.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  std::sort(commands.begin(), commands.end());
  std::string expected;
  for (const std::string& c : commands) {
    expected += c + " ";
  }
  EXPECT_GE(commands.size(), 10u) << help.out;
  EXPECT_EQ(lines[8], expected + "|");
}

// zsh: the script loads under compinit, registers _liveconf for liveconf and
// defines a function for every subcommand. Skipped only where zsh is missing
// (scripts/install-deps.sh installs it).
TEST(CliCompletionTest, ZshScriptLoadsAndCoversEverySubcommand) {
  if (std::system("command -v zsh >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "zsh is not installed (scripts/install-deps.sh installs it)";
  }
  TempDir dir;
  const CliResult script = run_cli({"completion", "zsh"});
  ASSERT_EQ(script.exit_code, 0) << describe(script);
  EXPECT_EQ(script.out.rfind("#compdef liveconf\n", 0), 0u);
  dir.write("_liveconf", script.out);
  EXPECT_EQ(run_shell("zsh", dir, "zsh -n ./_liveconf && echo parsed\n"), "parsed\n");
  const std::string out = run_shell("zsh", dir, R"(
autoload -U compinit && compinit -u -D
source ./_liveconf
print -r -- "registered: $_comps[liveconf]"
for c in watch get explain check render env-report status pin unpin rollback completion; do
  (( $+functions[_liveconf_$c] )) || print -r -- "missing: $c"
done
)");
  EXPECT_EQ(out, "registered: _liveconf\n");
}

// The long options `liveconf [CMD] --help` lists (CLI11: "  -h,--help ...", "  --file PATH ...").
std::set<std::string> options_in_help(const std::string& help) {
  std::set<std::string> out;
  std::istringstream in(help.substr(help.find("Options:")));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  -", 0) != 0) {
      continue;
    }
    std::istringstream words(line);
    std::string first;
    words >> first;  // "-h,--help" or "--file"
    std::istringstream names(first);
    for (std::string name; std::getline(names, name, ',');) {
      if (name.rfind("--", 0) == 0) {
        out.insert(name);
      }
    }
  }
  return out;
}

// liveconf(1) renders without a groff warning, documents every subcommand with
// exactly the options its --help lists, and the file the build installs is the
// page the binary prints.
TEST(CliManPageTest, RendersCleanlyAndDocumentsEveryOptionOfEveryCommand) {
  TempDir dir;
  const CliResult page = run_cli({"man-page"});
  ASSERT_EQ(page.exit_code, 0) << describe(page);
  dir.write("liveconf.1", page.out);
  EXPECT_EQ(run_shell("bash", dir, "groff -man -ww -z liveconf.1 && echo clean\n"), "clean\n");
  EXPECT_NE(run_shell("bash", dir, "MANWIDTH=80 man -l liveconf.1 | col -b\n").find("EXIT STATUS"),
            std::string::npos);

  // The page's options per section: ".SS "get"" up to the next .SS or .SH.
  std::map<std::string, std::set<std::string>> documented;
  {
    std::istringstream in(page.out);
    std::string section;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(".SS \"", 0) == 0) {
        section = line.substr(5, line.size() - 6);
        std::erase(section, '\\');  // "env\-report"
      } else if (line.rfind(".SH", 0) == 0) {
        section = line == ".SH OPTIONS" ? "" : "-";
      } else if (section != "-" && line.rfind("\\fB\\-\\-", 0) == 0) {
        std::string name = line.substr(3, line.find("\\fR") - 3);
        std::string plain;
        for (std::size_t i = 0; i < name.size(); ++i) {
          if (name[i] != '\\') {
            plain.push_back(name[i]);
          }
        }
        documented[section].insert(plain);
      }
    }
  }
  const CliResult help = run_cli({"--help"});
  EXPECT_EQ(documented[""], options_in_help(help.out));
  std::istringstream in(help.out.substr(help.out.find("Subcommands:")));
  std::string line;
  std::getline(in, line);
  std::size_t commands = 0;
  while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
    const std::string command = line.substr(2, line.find(' ', 2) - 2);
    const CliResult sub = run_cli({command, "--help"});
    EXPECT_EQ(documented[command], options_in_help(sub.out)) << command;
    EXPECT_GT(documented[command].size(), 0u) << command;
    ++commands;
  }
  EXPECT_EQ(documented.size(), commands + 1);  // no section for a command --help lacks

  // The page `cmake --install` puts in share/man/man1 (written after each link).
  const fs::path installed = fs::path(LIVECONF_CLI).parent_path() / "completions" / "liveconf.1.gz";
  EXPECT_EQ(run_shell("bash", dir, "gzip -dc '" + installed.string() + "'\n"), page.out);
}

TEST(CliColourTest, NoEscapeSequencesWhenStdoutIsAPipe) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"a": 1})");
  const fs::path bad = dir.write("bad.json", "{");
  const Env env = {"TERM=xterm-256color"};  // a capable terminal, but stdout is a pipe
  for (const Args& args : std::vector<Args>{
           {"watch", "--once", "--file", app.string()},
           {"get", "a", "--file", app.string()},
           {"explain", "a", "--file", app.string()},
           {"check", "--file", app.string(), "--file", bad.string()},
           {"render", "--file", app.string()},
           {"env-report", "APP"},
           {"--help"},
       }) {
    const CliResult r = run_cli(args, with_env(env));
    EXPECT_EQ(r.out.find('\033'), std::string::npos) << joined(args) << "\n" << r.out;
    EXPECT_EQ(r.err.find('\033'), std::string::npos) << joined(args) << "\n" << r.err;
  }
  // A live watch too.
  Watch w({"--file", app.string()}, with_env(env));
  atomic_save(app, R"({"a": 2})");
  ASSERT_TRUE(w.process.wait_line(starts_with("  ~ a: 1 -> 2"))) << describe(w.process);
  EXPECT_EQ(w.process.out().find('\033'), std::string::npos) << w.process.out();
}

TEST(CliColourTest, ColourOnATerminalUnlessNoColorOrDumb) {
  TempDir dir;
  const fs::path app = dir.write("app.json", R"({"a": 1})");
  const auto run_on_tty = [&](Env env) {
    CliOptions o = with_env(std::move(env));
    o.stdout_tty = true;
    return run_cli({"watch", "--once", "--file", app.string()}, o);
  };
  const CliResult colour = run_on_tty({"TERM=xterm-256color"});
  EXPECT_EQ(colour.exit_code, 0) << describe(colour);
  EXPECT_NE(colour.out.find("\033["), std::string::npos) << colour.out;
  for (const Env& env :
       std::vector<Env>{{"TERM=xterm-256color", "NO_COLOR=1"}, {"TERM=dumb"}, {}}) {
    const CliResult r = run_on_tty(env);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("loaded generation 1"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\033'), std::string::npos) << (env.empty() ? "" : env.back()) << "\n"
                                                     << r.out;
  }
}

}  // namespace
}  // namespace liveconf
